// Prints one plain line "<label>: N passed, N failed, N skipped" for vitest JSON reports (summed),
// the closing line CI reads. A report that is missing counts as one failure, so a run that died
// before writing its report never looks green.
//   usage: node scripts/vitest-summary.mjs <label> <report.json> [<report.json> ...]
import { existsSync, readFileSync } from 'node:fs';

const [label, ...files] = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of files) {
  if (!existsSync(file) || readFileSync(file, 'utf8').trim() === '') {
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
}
console.log(`${label}: ${passed} passed, ${failed} failed, ${skipped} skipped`);
