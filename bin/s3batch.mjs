#!/usr/bin/env node
// The s3batch command: runs the compiled JavaScript in dist/ (`npm run build` makes it from src/).
import { existsSync } from 'node:fs';
import module from 'node:module';

// On Node 20 the AWS SDK warns once per process that its releases after January 2027 need Node >= 22.
// That is true and the user should see it: it is not silenced here (README, "Node.js versions").

// Node >= 22.1 keeps the compiled code of the modules on disk (in the OS temp folder) for the next
// start; Node 20 has no such cache. NODE_DISABLE_COMPILE_CACHE=1 turns it off.
module.enableCompileCache?.();

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('s3batch: dist/ is missing: run `npm run build` in the s3batch repository first\n');
  process.exit(1);
}
await import(main.href);
