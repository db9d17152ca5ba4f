/*
 * `npm run package`: builds the app, signs it when GRAFANA_ACCESS_POLICY_TOKEN is set, and writes
 * one zip in the layout Grafana's catalog, plugin validator and signing tool expect:
 *
 *   dist-package/faultline-chaos-app-<version>.zip
 *     faultline-chaos-app/            top folder = the app id
 *       plugin.json module.js(.map) README.md CHANGELOG.md LICENSE img/ dashboards/ [MANIFEST.txt]
 *       datasource/ plugin.json module.js img/ README.md   (nested data source)
 *       panel/      plugin.json module.js img/              (nested panel)
 *
 * Flags: --no-build (zip the current dist/), --out <dir>. Tools run with argv arrays, no shell.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';

const root = process.cwd();
const args = process.argv.slice(2);
const outDir = path.resolve(root, args.includes('--out') ? args[args.indexOf('--out') + 1] : 'dist-package');
const dist = path.join(root, 'dist');

const run = (cmd: string, argv: string[], cwd = root) => execFileSync(cmd, argv, { cwd, stdio: 'inherit', env: process.env });

if (!args.includes('--no-build')) run('npm', ['run', 'build:plugins']);
if (!existsSync(path.join(dist, 'plugin.json'))) throw new Error('dist/ has no plugin.json: run `npm run build` first');

const app = JSON.parse(readFileSync(path.join(dist, 'plugin.json'), 'utf8')) as { id: string; info: { version: string; screenshots?: Array<{ path: string }>; logos: { small: string; large: string } } };

// What the catalog shows must be in the package: refuse to write one without it.
const required = ['module.js', 'README.md', 'CHANGELOG.md', 'LICENSE', app.info.logos.small, app.info.logos.large, ...(app.info.screenshots ?? []).map((s) => s.path)];
const missing = required.filter((f) => !existsSync(path.join(dist, f)));
if (missing.length) {
  throw new Error(`dist/ lacks ${missing.join(', ')} (screenshots come from UPDATE_SCREENSHOTS=1 npx jest tests/integration/app-browser.test.ts)`);
}

if (process.env.GRAFANA_ACCESS_POLICY_TOKEN) {
  // Signs dist/ (writes dist/MANIFEST.txt); FAULTLINE_SIGN_ROOT_URLS makes it a private signature.
  const rootUrls = process.env.FAULTLINE_SIGN_ROOT_URLS;
  run('npm', ['run', 'sign', '--', ...(rootUrls ? ['--rootUrls', rootUrls] : [])]);
} else {
  process.stderr.write('GRAFANA_ACCESS_POLICY_TOKEN is not set: the package is unsigned (Grafana needs allow_loading_unsigned_plugins for it).\n');
}

const stage = mkdtempSync(path.join(os.tmpdir(), 'faultline-package-'));
try {
  cpSync(dist, path.join(stage, app.id), { recursive: true });
  mkdirSync(outDir, { recursive: true });
  const zip = path.join(outDir, `${app.id}-${app.info.version}.zip`);
  rmSync(zip, { force: true });
  run('zip', ['-q', '-r', '-X', zip, app.id], stage);
  process.stdout.write(`${path.relative(root, zip)}\n`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
