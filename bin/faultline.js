#!/usr/bin/env node
// The `faultline` command: runs the compiled JavaScript in dist-server/ (built from the TypeScript
// sources by `npm run build:server`, which `npm install`, `npm start` and `npm test` run), so no
// TypeScript compiler is loaded at run time. Each subcommand loads its own modules only when it runs.
import { existsSync } from 'node:fs';

const main = new URL('../dist-server/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('faultline: dist-server/ is missing: run `npm run build:server` (or `npm install`) in the faultline folder first\n');
  process.exit(1);
}
await import(main.href);
