/**
 * The docs the code cites exist (docs/README.md, "How the code cites these pages"): every
 * `docs/<page>.md#<anchor>` in src/, test/, bench/ and scripts/ names a page of docs/ and an
 * explicit `<a id="…">` anchor on it; links between the pages (and from the top-level README) reach
 * an existing page and anchor; no old section-number citation (`spec §4.1`, `§2.3`) is left. Also:
 * docs/errors.md lists exactly the codes of ERROR_TABLE with their statuses, and the transition
 * table of docs/job-lifecycle.md is TRANSITIONS.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_TABLE } from '../../src/domain/errors.ts';
import { ALL_STATUSES, TRANSITIONS } from '../../src/domain/job-status.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DOCS = join(ROOT, 'docs');
const SCANNED = ['src', 'test', 'bench', 'scripts'];
const SOURCE = /\.(?:ts|mts|js|mjs|cjs|sh)$/;

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else if (SOURCE.test(name)) out.push(p);
  }
  return out;
}

/** Page name (`job-lifecycle.md`) → its explicit anchors. */
function docAnchors(): Map<string, Set<string>> {
  const pages = new Map<string, Set<string>>();
  for (const name of readdirSync(DOCS).filter((n) => n.endsWith('.md'))) {
    const text = readFileSync(join(DOCS, name), 'utf8');
    pages.set(name, new Set([...text.matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1] as string)));
  }
  return pages;
}

interface Citation {
  readonly where: string;
  readonly page: string;
  readonly anchor: string | undefined;
}

/** Not inside a quoted path such as the object key 'docs/notes.md' of a test fixture. */
const CITATION = /(?<![\w'"`/.-])docs\/([\w-]+\.md)(?:#([\w-]+))?/g;

function codeCitations(): Citation[] {
  const out: Citation[] = [];
  for (const dir of SCANNED) {
    for (const file of filesUnder(join(ROOT, dir))) {
      if (file === fileURLToPath(import.meta.url)) continue; // this file's examples are not citations
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          for (const m of line.matchAll(CITATION)) {
            out.push({ where: `${relative(ROOT, file)}:${i + 1}`, page: m[1] as string, anchor: m[2] });
          }
        });
    }
  }
  return out;
}

/** Relative markdown links `](page.md#anchor)` / `](#anchor)` of one markdown file. */
function markdownLinks(file: string, pageOf: (target: string) => string | undefined): Citation[] {
  const out: Citation[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      for (const m of line.matchAll(/\]\(((?:[\w./-]+\.md)?)(?:#([\w-]+))?\)/g)) {
        const page = pageOf(m[1] as string);
        if (page !== undefined) out.push({ where: `${relative(ROOT, file)}:${i + 1}`, page, anchor: m[2] });
      }
    });
  return out;
}

function missing(citations: readonly Citation[], pages: Map<string, Set<string>>): string[] {
  return citations
    .filter((c) => !pages.has(c.page) || (c.anchor !== undefined && !pages.get(c.page)?.has(c.anchor)))
    .map((c) => `${c.where}: docs/${c.page}${c.anchor === undefined ? '' : `#${c.anchor}`}`);
}

/** The rows of the first markdown table after `<a id="<anchor>">`, as arrays of trimmed cells. */
function tableAfter(page: string, anchor: string): string[][] {
  const text = readFileSync(join(DOCS, page), 'utf8');
  const start = text.indexOf(`<a id="${anchor}"></a>`);
  expect(start, `${page}#${anchor}`).toBeGreaterThanOrEqual(0);
  const lines = text.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    );
  }
  return rows.slice(2); // header and separator
}

const pages = docAnchors();

describe('citations of docs/ in the code', () => {
  const citations = codeCitations();

  it('finds the citations (the scan is not vacuous)', () => {
    expect(citations.length).toBeGreaterThan(100);
    expect(new Set(citations.map((c) => c.page)).size).toBeGreaterThanOrEqual(6);
  });

  it('every cited page and anchor exists', () => {
    expect(missing(citations, pages)).toEqual([]);
  });

  it('leaves no section-number citation of the old spec', () => {
    const left: string[] = [];
    // External standards keep their own section numbers (XML 1.0 §2.11, the HTML standard's §9.2.6).
    const external = /(?:XML 1\.0|HTML standard,|RFC \d+)\s*(?:\n\s*(?:\*|\/\/|#)\s*)?$/;
    for (const dir of SCANNED) {
      for (const file of filesUnder(join(ROOT, dir))) {
        if (file === fileURLToPath(import.meta.url)) continue;
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(/\bspec\s+(?:§|Q\d)|§\s*\d/g)) {
          if (m[0].startsWith('§') && external.test(text.slice(Math.max(0, m.index - 40), m.index))) continue;
          const line = text.slice(0, m.index).split('\n').length;
          left.push(`${relative(ROOT, file)}:${line}: ${text.split('\n')[line - 1]?.trim()}`);
        }
      }
    }
    expect(left).toEqual([]);
  });
});

describe('links in docs/ and README.md', () => {
  it('every linked page and anchor exists', () => {
    const links: Citation[] = [];
    for (const name of pages.keys()) {
      links.push(...markdownLinks(join(DOCS, name), (t) => (t === '' ? name : t.startsWith('../') ? undefined : t)));
    }
    links.push(...markdownLinks(join(ROOT, 'README.md'), (t) => (t.startsWith('docs/') ? t.slice(5) : undefined)));
    expect(links.length).toBeGreaterThan(30);
    expect(missing(links, pages)).toEqual([]);
  });

  it('anchors are unique within a page', () => {
    for (const name of pages.keys()) {
      const ids = [...readFileSync(join(DOCS, name), 'utf8').matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1]);
      expect(ids.length, name).toBe(new Set(ids).size);
    }
  });
});

describe('tables of docs/ that mirror the code', () => {
  it('errors.md lists every code of ERROR_TABLE with its HTTP status, and no other', () => {
    const rows = tableAfter('errors.md', 'error-table');
    const documented = Object.fromEntries(rows.map((r) => [(r[0] as string).replace(/`/g, ''), Number(r[1])]));
    const expected = Object.fromEntries(Object.entries(ERROR_TABLE).map(([code, { status }]) => [code, status]));
    expect(documented).toEqual(expected);
  });

  it('job-lifecycle.md has the transition table of job-status.ts', () => {
    const rows = tableAfter('job-lifecycle.md', 'transitions');
    const documented = Object.fromEntries(
      rows.map((r) => [
        (r[0] as string).replace(/`/g, ''),
        (r[1] as string) === '—' ? [] : (r[1] as string).split(',').map((s) => s.replace(/`/g, '').trim()),
      ]),
    );
    expect(Object.keys(documented)).toEqual([...ALL_STATUSES]);
    expect(documented).toEqual(Object.fromEntries(Object.entries(TRANSITIONS).map(([k, v]) => [k, [...v]])));
  });
});
