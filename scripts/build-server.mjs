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
import { mkdir, readdir, readFile, rename, rm, stat, writeFile, copyFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
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

// Some packages ship as many small modules, and every process that loads them (daemon, exporter,
// stressors) paid for resolving and linking each: TypeBox's ESM build is ~200 files (200–400 ms of a
// loaded machine's start, ~20 ms as one file), yaml ~70, prom-client with @opentelemetry/api ~75, ajv ~65. So
// each is bundled once into dist-server/vendor/<name>.js with esbuild (a dev dependency, like swc),
// and the compiled files import that file. Without esbuild (an install without dev dependencies) the
// imports stay bare and everything works, only slower. Not bundled: packages that load files by path
// at run time (pino's transports, better-sqlite3's addon), and express (one bundle parses no faster).
const VENDOR_DIR = path.join(OUT, 'vendor');
// Packages bundled together share one copy of what they both use: ajv-formats extends ajv's own codegen.
const VENDOR_GROUPS = [['@sinclair/typebox'], ['yaml'], ['prom-client'], ['ajv', 'ajv-formats']];
const VENDORED = VENDOR_GROUPS.flat();
const vendorFile = (pkg) => path.join(VENDOR_DIR, `${pkg.replace(/^@/, '').replace(/\//g, '-')}.js`);
const groupBundle = (group) => (group.length === 1 ? vendorFile(group[0]) : path.join(VENDOR_DIR, `${group.map((p) => path.basename(vendorFile(p), '.js')).join('+')}.bundle.js`));
const vendorOutputs = () => VENDOR_GROUPS.flatMap((g) => [...new Set([groupBundle(g), ...g.map(vendorFile)])]);
const req = createRequire(path.join(ROOT, 'package.json'));
const namedKeys = (pkg) => Object.keys(req(pkg)).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k) && k !== 'default' && k !== '__esModule');

/** The bundle's entry: ESM packages re-exported; CommonJS ones as Node's ESM loader shows them (default = module.exports, plus its keys). */
function vendorEntry(pkg) {
  if (/\.mjs$/.test(req.resolve(pkg)) || pkg === '@sinclair/typebox') return `export * from '${pkg}';`;
  return `import m from '${pkg}';\nexport default m;\nexport const { ${namedKeys(pkg).join(', ')} } = m;\n`;
}

/** A group's entry exports each package's module.exports; a small facade file per package re-exports it. */
function groupEntry(group) {
  return group.map((pkg, i) => `export const __m${i} = require('${pkg}');`).join('\n');
}
function facade(group, i) {
  const rel = `./${path.basename(groupBundle(group))}`;
  return `import { __m${i} as m } from '${rel}';\nexport default m;\nexport const { ${namedKeys(group[i]).join(', ')} } = m;\n`;
}

/** Bundles each vendored package (group) when missing or older than its installed package.json; false without esbuild. */
async function vendorPackages(force) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return false;
  }
  await mkdir(VENDOR_DIR, { recursive: true });
  for (const group of VENDOR_GROUPS) {
    const out = groupBundle(group);
    let newest = -1;
    for (const pkg of group) newest = Math.max(newest, await mtime(path.join(ROOT, 'node_modules', pkg, 'package.json')));
    if (!force && (await mtime(out)) >= newest && (await Promise.all(group.map((p) => mtime(vendorFile(p))))).every((t) => t >= newest)) continue;
    const tmp = `${out}.${process.pid}.tmp`;
    try {
      await esbuild.build({
        stdin: { contents: group.length === 1 ? vendorEntry(group[0]) : groupEntry(group), resolveDir: ROOT, loader: 'js' },
        bundle: true,
        format: 'esm',
        platform: 'node',
        target: 'es2022',
        outfile: tmp,
        logLevel: 'error',
        // CommonJS inside an ES module: its require() of node builtins needs a real require
        banner: { js: "import { createRequire as __faultlineRequire } from 'node:module'; const require = __faultlineRequire(import.meta.url);" },
      });
      await rename(tmp, out);
      if (group.length > 1) for (const [i, pkg] of group.entries()) await writeAtomic(vendorFile(pkg), facade(group, i));
    } catch (err) {
      await rm(tmp, { force: true });
      if ((await mtime(out)) < 0) throw new Error(`bundling ${group.join(' + ')} into dist-server/vendor/ failed: ${err?.message ?? err}`);
    }
  }
  return true;
}

/** The compiled file's imports of a VENDORED package, pointed at its bundle (a relative specifier from `out`). */
function useVendored(code, out) {
  for (const pkg of VENDORED) {
    let rel = path.relative(path.dirname(out), vendorFile(pkg)).split(path.sep).join('/');
    if (!rel.startsWith('.')) rel = `./${rel}`;
    const spec = pkg.replace(/[/@.-]/g, (c) => `\\${c}`);
    code = code.replace(new RegExp(`(from\\s*|import\\s*\\(\\s*)(["'])${spec}\\2`, 'g'), (_m, head, q) => `${head}${q}${rel}${q}`);
  }
  return code;
}

/** Builds what changed; returns counts. `force` rebuilds everything. */
export async function buildServer({ force = false, quiet = false } = {}) {
  const started = performance.now();
  const { transformFile } = await import('@swc/core');
  const vendored = await vendorPackages(force);
  // A change of what is bundled (esbuild installed or removed, the list changed) changes every output: rebuild them all.
  const marker = path.join(VENDOR_DIR, '.vendored');
  const markerText = vendored ? `dist-server imports these from vendor/: ${VENDORED.join(' ')}\n` : '';
  const previous = await readFile(marker, 'utf8').catch(() => '');
  if (previous !== markerText) {
    force = true;
    if (vendored) await writeAtomic(marker, markerText);
    else await rm(marker, { force: true });
  }
  const wanted = new Set(vendored ? [...vendorOutputs(), marker] : []);
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
          await writeAtomic(out, vendored ? useVendored(r.code, out) : r.code);
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
