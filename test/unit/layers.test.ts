/**
 * Layers point down (docs: DESIGN.md "The shape of the system"): `domain/` is pure and imports
 * nothing but itself; `storage/` holds the ports and their adapters and imports only `domain/`
 * and itself (packages and node: built-ins are its job); manifest/, reports/ and operations/ sit
 * below the engine and the edges. The source files are read as text and every import specifier
 * (static, `export … from`, side-effect and dynamic) is checked, so a new upward import fails here
 * before it tangles the layers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

interface Rule {
  /** Top-level folders of src/ this layer may import from (itself included). */
  readonly allow?: readonly string[];
  /** Top-level folders (or files, `main.ts`) of src/ it must not import from. */
  readonly deny?: readonly string[];
  /** Whether packages and node: built-ins may be imported. */
  readonly packages: boolean;
}

const ABOVE_THE_ENGINE = ['engine', 'service', 'api', 'cli', 'web', 'main.ts'];

const RULES: Record<string, Rule> = {
  domain: { allow: ['domain'], packages: false },
  storage: { allow: ['domain', 'storage'], packages: true },
  manifest: { deny: ['operations', 'reports', ...ABOVE_THE_ENGINE], packages: true },
  reports: { deny: ['manifest', 'operations', ...ABOVE_THE_ENGINE], packages: true },
  operations: { deny: ['reports', ...ABOVE_THE_ENGINE], packages: true },
};

const IMPORT_PATTERNS = [
  /\bfrom\s*['"]([^'"]+)['"]/g, // import … from 'x', export … from 'x'
  /^\s*import\s*['"]([^'"]+)['"]/gm, // import 'x'
  /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // import('x')
];

function specifiers(text: string): string[] {
  return IMPORT_PATTERNS.flatMap((re) => [...text.matchAll(re)].map((m) => m[1]!));
}

/** The top-level entry of src/ a relative specifier of `file` points into (`domain`, `main.ts`, …). */
function targetLayer(file: string, spec: string): string {
  const rel = relative(SRC, resolve(dirname(file), spec));
  if (rel.startsWith('..')) return '(outside src)';
  return rel.split(sep)[0]!;
}

/** Every import of `file` (a path under src/<layer>/) that `rule` forbids, as `file -> specifier`. */
function violations(layer: string, file: string, text: string): string[] {
  const rule = RULES[layer]!;
  const bad: string[] = [];
  for (const spec of specifiers(text)) {
    const relativeSpec = spec.startsWith('.');
    const ok = relativeSpec
      ? (rule.allow === undefined || rule.allow.includes(targetLayer(file, spec))) &&
        !(rule.deny ?? []).includes(targetLayer(file, spec))
      : rule.packages;
    if (!ok) bad.push(`${relative(SRC, file)} -> ${spec}`);
  }
  return bad;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

describe('layers point down', () => {
  for (const layer of Object.keys(RULES)) {
    it(`src/${layer}/ imports only what its layer may`, () => {
      const files = sourceFiles(join(SRC, layer));
      expect(files.length).toBeGreaterThan(0);
      const all = files.flatMap((f) => specifiers(readFileSync(f, 'utf8')));
      expect(all.length).toBeGreaterThan(0); // the scan sees imports at all
      expect(files.flatMap((f) => violations(layer, f, readFileSync(f, 'utf8')))).toEqual([]);
    });
  }

  it('the scan catches an upward import in each form', () => {
    const file = join(SRC, 'storage', 'x.ts');
    const text = [
      "import type { ChunkIndexFile } from '../manifest/chunk-index.ts';",
      "export { runWithRetry } from '../engine/retry.ts';",
      "import '../api/app.ts';",
      "const m = await import('../service/batch-service.ts');",
      "import { Chunk } from '../domain/chunk.ts';",
      "import { open } from 'node:fs/promises';",
    ].join('\n');
    expect(violations('storage', file, text)).toEqual([
      'storage/x.ts -> ../manifest/chunk-index.ts',
      'storage/x.ts -> ../engine/retry.ts',
      'storage/x.ts -> ../api/app.ts',
      'storage/x.ts -> ../service/batch-service.ts',
    ]);
    expect(violations('domain', join(SRC, 'domain', 'x.ts'), text)).toHaveLength(5);
    expect(violations('operations', join(SRC, 'operations', 'x.ts'), text)).toEqual([
      'operations/x.ts -> ../engine/retry.ts',
      'operations/x.ts -> ../api/app.ts',
      'operations/x.ts -> ../service/batch-service.ts',
    ]);
  });
});
