#!/usr/bin/env node
// The s3batch command: runs the compiled JavaScript in dist/ (`npm run build` makes it from src/).
import { existsSync } from 'node:fs';
import module from 'node:module';

// This machine offers only Node 20: silence the AWS SDK's "Node >= 22 will be required" warning
// printed at every start (an explicit setting still wins). Revisit when moving to Node 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// Node >= 22.1 keeps the compiled code of the modules on disk (in the OS temp folder) for the next
// start; Node 20 has no such cache. NODE_DISABLE_COMPILE_CACHE=1 turns it off.
module.enableCompileCache?.();

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('s3batch: dist/ is missing: run `npm run build` in the s3batch repository first\n');
  process.exit(1);
}
await import(main.href);
