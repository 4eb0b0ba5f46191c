// Preloaded (node --require) into server child processes started by test/helpers/s3-servers.ts:
// the parent holds our stdin open; when it exits for any reason (even SIGKILL) the kernel closes it,
// and we exit too instead of lingering as an orphan.
'use strict';
const bye = () => process.exit(0);
process.stdin.on('end', bye).on('close', bye).on('error', bye).resume();
