// jest `setupFiles`: tells tests/temp-dirs.mjs this worker's pid (see there).
const { appendFileSync } = require('node:fs');

const file = process.env.FAULTLINE_TEST_PIDS;
if (file) appendFileSync(file, `${process.pid}\n`);
