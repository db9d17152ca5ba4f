#!/usr/bin/env node
// The `faultline` command: runs the compiled JavaScript in dist-server/ (built from the TypeScript
// sources by `npm run build:server`, which `npm install`, `npm start` and `npm test` run), so no
// TypeScript compiler is loaded at run time. Each subcommand loads its own modules only when it runs.
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist-server/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('faultline: dist-server/ is missing: run `npm run build:server` (or `npm install`) in the faultline folder first\n');
  process.exit(1);
}
// V8's compiled code for the modules, kept between runs (Node checks each entry against its source).
// Inside the package, not a shared temp folder: a root daemon must not load code another user wrote.
module.enableCompileCache?.(fileURLToPath(new URL('../node_modules/.cache/faultline-compile-cache', import.meta.url)));
await import(main.href);
