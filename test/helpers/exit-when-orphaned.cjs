// Preloaded (node --require) into `s3batch serve` processes started by the end-to-end tests: when the
// test runner dies (even by SIGKILL) the server is re-parented, and it exits instead of lingering.
// It polls the parent pid rather than watching stdin: reading stdin in a preload deadlocks tsx's
// module.register() loader start-up.
'use strict';
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 500).unref();
