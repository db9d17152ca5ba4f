#!/usr/bin/env node
// Compiles the server-side TypeScript (api, cli, daemon, exporter, demo, bench, ...) to plain ESM
// JavaScript under dist-server/, file by file with swc, so what runs in production (the CLI, the
// exporter, the daemon, each proxy child) starts without a TypeScript compiler in the process.
//
// Why swc and not tsc: the sources import without extensions ('./client'), which Node's ESM loader
// does not resolve; swc's `resolveFully` rewrites each relative specifier to the file it names
// ('./client.js', './commands/index.js'). Types are checked by `npm run typecheck`, not here.
//
// Whole folders, not a list of entry points: a new source file is built without touching this
// script. Incremental: only sources newer than their output are compiled again, outputs whose
// source is gone are removed, and each file is written to a temporary name and renamed, so a
// process starting while a build runs never reads half a file. Non-TypeScript files (.mjs
// stressor scripts, READMEs) are copied, so relative paths work the same in both trees.
import { readdirSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const OUT = path.join(ROOT, 'dist-server');
// Every top-level folder of sources but the browser plugin (src/, built by webpack) and what is not
// source; of tests/ only the helpers, which the benchmarks use (test files themselves are skipped).
const NOT_SERVER = new Set(['src', 'tests', 'node_modules', 'dist', 'dist-server', 'data', 'coverage', 'docs', 'deploy', 'provisioning', 'scripts', 'bin']);
const FOLDERS = [
  ...readdirSync(ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !NOT_SERVER.has(e.name))
    .map((e) => e.name),
  'tests/helpers',
  'tests/integration',
];
const SKIP = /(^|\/)(out|node_modules)(\/|$)|\.d\.ts$|\.test\.tsx?$/;

async function* walk(dir) {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (err.code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (SKIP.test(path.relative(ROOT, p))) continue;
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}

const mtime = (p) => stat(p).then((s) => s.mtimeMs, () => -1);

async function writeAtomic(file, data) {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/** Builds what changed; returns counts. `force` rebuilds everything. */
export async function buildServer({ force = false, quiet = false } = {}) {
  const started = performance.now();
  const { transformFile } = await import('@swc/core');
  const wanted = new Set();
  const jobs = [];
  let compiled = 0;
  let copied = 0;
  for (const folder of FOLDERS) {
    for await (const src of walk(path.join(ROOT, folder))) {
      const rel = path.relative(ROOT, src);
      const isTs = /\.tsx?$/.test(src);
      const out = path.join(OUT, isTs ? rel.replace(/\.tsx?$/, '.js') : rel);
      wanted.add(out);
      jobs.push(
        (async () => {
          if (!force && (await mtime(out)) >= (await mtime(src))) return;
          if (!isTs) {
            await mkdir(path.dirname(out), { recursive: true });
            await copyFile(src, `${out}.${process.pid}.tmp`);
            await rename(`${out}.${process.pid}.tmp`, out);
            copied++;
            return;
          }
          const r = await transformFile(src, {
            swcrc: false,
            configFile: false,
            filename: src,
            sourceMaps: false,
            jsc: {
              parser: { syntax: 'typescript', tsx: src.endsWith('.tsx') },
              target: 'es2022',
              baseUrl: ROOT,
              keepClassNames: true,
            },
            module: { type: 'es6', resolveFully: true },
          });
          await writeAtomic(out, r.code);
          compiled++;
        })(),
      );
    }
  }
  await Promise.all(jobs);
  // Outputs whose source was deleted or renamed would still be importable: remove them.
  let removed = 0;
  for await (const out of walk(OUT)) {
    if (!wanted.has(out)) {
      await rm(out, { force: true });
      removed++;
    }
  }
  const ms = Math.round(performance.now() - started);
  if (!quiet && (compiled || copied || removed)) console.log(`dist-server: ${compiled} compiled, ${copied} copied, ${removed} removed in ${ms} ms`);
  return { compiled, copied, removed, ms };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  try {
    await buildServer({ force: args.includes('--force'), quiet: args.includes('--quiet') });
  } catch (err) {
    if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('@swc/core')) {
      console.error('build-server: @swc/core is not installed (it is a dev dependency): run `npm install` without --omit=dev, or use a prebuilt dist-server/');
      process.exit(1);
    }
    console.error(`build-server: ${err?.message ?? err}`);
    process.exit(1);
  }
}
