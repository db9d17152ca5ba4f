#!/usr/bin/env node
// Runs one of the package's TypeScript entry points as the compiled JavaScript in dist-server/
// (api, cli, daemon, exporter, demo, bench): `node bin/run-ts.js daemon/proxy/child.ts` runs
// dist-server/daemon/proxy/child.js. Anything else (a test helper that imports only packages) is
// left to Node's own type stripping. No TypeScript compiler is loaded at run time.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  console.error('usage: run-ts.js FILE.ts [args...]');
  process.exit(2);
}
const source = path.resolve(entry);
const rel = path.relative(ROOT, source);
const compiled = path.join(ROOT, 'dist-server', rel.replace(/\.tsx?$/, '.js'));
const target = !rel.startsWith('..') && existsSync(compiled) ? compiled : source;
process.argv = [process.argv[0], target, ...rest];
await import(pathToFileURL(target).href);
