#!/usr/bin/env node
// The s3batch command. TypeScript sources run through tsx's loader (no build step).
import { register } from 'tsx/esm/api';

// This machine offers only Node 20: silence the AWS SDK's "Node >= 22 will be required" warning
// printed at every start (an explicit setting still wins). Revisit when moving to Node 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
await import('../src/cli/main.ts');
