#!/usr/bin/env node
// Builds the native helpers from the C sources beside this file (npm `postinstall`; also run by the
// Docker image build and by the tests). Never a prebuilt binary: the source is compiled on the machine
// that runs it. Static when the C library allows (the helper then runs in any image of the same
// architecture), dynamic otherwise. Where there is no compiler or the platform is not Linux x86-64,
// it says so and exits 0: the daemon then reports time-skew unsupported, naming this.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, 'build', 'faultline-timeskew');
const sources = ['timeskew.c', 'timeskew-x86_64.S'].map((f) => path.join(here, f));

// the folder exists even when nothing is built (the Docker image copies it as it is)
mkdirSync(path.dirname(out), { recursive: true });
if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.warn(`faultline: time-skew helper not built (needs Linux x86-64, this is ${process.platform}/${process.arch})`);
  process.exit(0);
}
const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
if (existsSync(out) && statSync(out).mtimeMs >= newest && !process.argv.includes('--force')) process.exit(0);

const cc = process.env.CC || 'cc';
const tmp = `${out}.${process.pid}.tmp`;
const flags = ['-O2', '-Wall', '-Wextra', '-o', tmp, ...sources];
try {
  try {
    execFileSync(cc, ['-static', ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch {
    execFileSync(cc, flags, { stdio: ['ignore', 'inherit', 'inherit'] });
  }
  renameSync(tmp, out); // whole or not at all: a daemon never runs a half-written helper
} catch (err) {
  console.warn(`faultline: time-skew helper not built (${cc}: ${err.code === 'ENOENT' ? 'no C compiler; install gcc and libc6-dev' : err.message})`);
  process.exit(0);
}
