// Preloaded (node --require) by bench/startup.ts into the commands it times: at exit, writes the
// process's CPU time (user + system, ms) to the file named by S3BATCH_STARTUP_PROBE.
'use strict';
const { writeFileSync } = require('node:fs');
const file = process.env.S3BATCH_STARTUP_PROBE;
if (file) {
  process.on('exit', () => {
    const { user, system } = process.cpuUsage();
    writeFileSync(file, JSON.stringify({ cpuMs: (user + system) / 1000 }));
  });
}
