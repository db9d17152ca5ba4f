/**
 * Browser harness for the Grafana plugins: load the BUILT plugins (dist/<id>/module.js) in headless
 * Chromium the way Grafana does, with no Grafana server.
 *
 *   const build = await buildHarness();             // vendor bundle: react, @grafana/*, rxjs, @emotion/* + runtime wiring
 *   await ensurePluginsBuilt();                     // `npm run build` when dist/ is missing or older than the sources
 *   const server = await startHarnessServer({ build, datasources: [{ uid: 'faultline', url: exporterUrl, secureJsonData: { apiToken } }] });
 *   const browser = await launchChromium();
 *   const page = await browser.newPage();
 *   const errors = await openScenario(page, server, 'datasourcePage', { uid: 'faultline', url: exporterUrl });
 *   await runScenario(page, 'datasourcePage', { ...other options });   // re-mount, no reload
 *   await page.screenshot({ path: artifactPath('datasource-dark.png') });
 *   await browser.close(); await server.close();
 *
 * What the page has (harness/vendor-entry.tsx): an AMD loader (amd-loader.js) with the modules
 * Grafana shares with plugins registered under their import names, getBackendSrv() and
 * getTemplateSrv() wired to the harness server, and `window.harness` = { loadPlugin(id),
 * mount(element, mode), theme(mode), setVariables, scenarios, modules }. Scenarios (pages a test
 * renders) live in harness/scenarios/, one file per plugin page, listed in scenarios/index.ts;
 * openScenario(page, server, name, options) loads the page and runs one; runScenario runs another
 * on the same page (fast: the multi-megabyte vendor bundle is parsed once).
 *
 * What the server does (startHarnessServer): serves the page, the vendor bundle, dist/<id>/ at
 * /public/plugins/<id>/, Grafana's icons, and routes /api/datasources/proxy/uid/<uid>/... through
 * plugin.json's routes like Grafana's data source proxy (grafana-proxy.ts: role check, token header)
 * to a real exporter. `server.setRole('Viewer')` changes the signed-in user's role.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, createReadStream } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { decideProxy, loadRoutes, parseProxyUrl, type GrafanaRole, type ProxiedDataSource } from './grafana-proxy';

const ROOT = path.resolve(__dirname, '../../..');
const HARNESS_DIR = __dirname;
export const ARTIFACTS_DIR = path.join(ROOT, 'tests/artifacts');
const BUILD_DIR = path.join(ARTIFACTS_DIR, 'harness-build');
const ICONS_DIR = path.join(ROOT, 'node_modules/@grafana/ui/dist/public/img/icons');

export interface HarnessBuild {
  dir: string;
  vendorJs: string;
  amdJs: string;
  /** false when this call ran webpack. */
  cached: boolean;
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return path.join(ARTIFACTS_DIR, name);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** Changes when harness sources or the shared packages change: then the vendor bundle is rebuilt. */
function harnessKey(): string {
  const hash = createHash('sha256');
  const bundled = [path.join(HARNESS_DIR, 'vendor-entry.tsx'), ...filesUnder(path.join(HARNESS_DIR, 'scenarios'))];
  for (const f of bundled.filter((f) => /\.tsx?$/.test(f)).sort()) hash.update(f).update(readFileSync(f));
  for (const pkg of ['@grafana/ui', '@grafana/data', '@grafana/runtime', 'react', 'react-dom', 'rxjs', 'webpack']) {
    hash.update(readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json')));
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Builds the harness page bundle with webpack (cached under tests/artifacts/harness-build, keyed by
 * the harness sources and package versions; a cold build takes a minute or two on a busy machine).
 */
export async function buildHarness(): Promise<HarnessBuild> {
  const key = harnessKey();
  const result = (dir: string, cached: boolean): HarnessBuild => ({ dir, vendorJs: path.join(dir, 'vendor.js'), amdJs: path.join(HARNESS_DIR, 'amd-loader.js'), cached });
  const keyFile = path.join(BUILD_DIR, 'key');
  if (existsSync(keyFile) && readFileSync(keyFile, 'utf8') === key && existsSync(path.join(BUILD_DIR, 'vendor.js'))) return result(BUILD_DIR, true);

  const { default: webpack } = await import('webpack');
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const tmp = mkdtempSync(path.join(ARTIFACTS_DIR, 'harness-build-tmp-'));
  const compiler = webpack({
    mode: 'development',
    devtool: false,
    context: ROOT,
    entry: path.join(HARNESS_DIR, 'vendor-entry.tsx'),
    output: { path: tmp, filename: 'vendor.js' },
    resolve: { extensions: ['.ts', '.tsx', '.mjs', '.js', '.json'], fallback: { fs: false, path: false, os: false, crypto: false, stream: false } },
    module: {
      rules: [
        {
          test: /\.[tj]sx?$/,
          exclude: /node_modules/,
          use: { loader: 'swc-loader', options: { jsc: { target: 'es2020', parser: { syntax: 'typescript', tsx: true }, transform: { react: { runtime: 'automatic' } } } } },
        },
        { test: /\.m?js$/, resolve: { fullySpecified: false } },
        // @grafana/ui imports a few stylesheets (slider, uPlot): the page does not need them for editors.
        { test: /\.css$/, type: 'asset/source' },
      ],
    },
    plugins: [new webpack.DefinePlugin({ 'process.env.NODE_ENV': JSON.stringify('development'), 'process.env': '{}' })],
    performance: { hints: false },
    cache: { type: 'filesystem', cacheDirectory: path.join(ROOT, 'node_modules/.cache/faultline-harness-webpack') },
    infrastructureLogging: { level: 'error' },
  });
  await new Promise<void>((resolve, reject) =>
    compiler.run((err, stats) => {
      compiler.close(() => undefined);
      if (err) return reject(err);
      if (stats?.hasErrors()) return reject(new Error(stats.toString({ all: false, errors: true })));
      resolve();
    }),
  );
  writeFileSync(path.join(tmp, 'key'), key);
  // Swap in atomically: another test file may be building or reading at the same time.
  rmSync(`${BUILD_DIR}.old-${process.pid}`, { recursive: true, force: true });
  if (existsSync(BUILD_DIR)) renameSync(BUILD_DIR, `${BUILD_DIR}.old-${process.pid}`);
  renameSync(tmp, BUILD_DIR);
  rmSync(`${BUILD_DIR}.old-${process.pid}`, { recursive: true, force: true });
  return result(BUILD_DIR, false);
}

function newestMtime(paths: string[]): number {
  return Math.max(0, ...paths.filter((p) => existsSync(p)).flatMap((p) => (statSync(p).isDirectory() ? filesUnder(p) : [p])).map((f) => statSync(f).mtimeMs));
}

/**
 * Runs the plugin build unless every plugin's dist is newer than its sources (npm test builds
 * first, so there this does nothing). Resolves true when it built.
 */
export async function ensurePluginsBuilt(): Promise<boolean> {
  const sources = newestMtime(['src', 'api', '.config'].map((p) => path.join(ROOT, p)));
  const outputs = ['', 'datasource', 'panel'].map((dir) => path.join(ROOT, 'dist', dir, 'module.js'));
  if (outputs.every((o) => existsSync(o) && statSync(o).mtimeMs >= sources)) return false;
  await promisify(execFile)('npm', ['run', 'build:plugins'], { cwd: ROOT, maxBuffer: 16 << 20 });
  return true;
}

/** The app's id and where Grafana serves it from: nested plugins are under the app's folder. */
export const APP_ID = 'faultline-chaos-app';

export interface HarnessServerOptions {
  build: HarnessBuild;
  /** Data sources the proxy knows, by uid; url is the real exporter. */
  datasources?: ProxiedDataSource[];
  /** Role of the "signed-in" user for the proxy's reqRole checks. */
  role?: GrafanaRole;
}

export interface HarnessServer {
  url: string;
  setRole(role: GrafanaRole): void;
  /** Proxied requests: method, path, status (what Grafana's proxy would have logged). */
  proxyLog: Array<{ method: string; path: string; status: number }>;
  /** Proxied event streams (GET …/events/stream) whose response is still open. */
  openStreams(): number;
  close(): Promise<void>;
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><base href="/"><title>Faultline plugin harness</title>
<style>html,body{margin:0;min-height:100%;font-family:Inter,Helvetica,Arial,sans-serif}</style>
<script src="/amd.js"></script><script src="/vendor.js"></script></head>
<body><div id="root"></div></body></html>`;

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.svg': 'image/svg+xml', '.json': 'application/json', '.map': 'application/json', '.md': 'text/markdown', '.png': 'image/png' };

function sendFile(res: http.ServerResponse, file: string): void {
  if (!existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path.basename(file)}`);
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
  createReadStream(file).pipe(res);
}

/** `base` joined with a request path, refusing anything that climbs out of it. */
function inside(base: string, rel: string): string | undefined {
  const full = path.resolve(base, `.${path.posix.normalize(`/${decodeURIComponent(rel)}`)}`);
  return full.startsWith(base + path.sep) ? full : undefined;
}

/** Proxied event stream responses still open, for the shared-stream test. */
const openStreamResponses = new Set<http.ServerResponse>();

async function proxy(req: http.IncomingMessage, res: http.ServerResponse, opts: HarnessServerOptions, role: GrafanaRole, log: HarnessServer['proxyLog']): Promise<void> {
  const parsed = parseProxyUrl(req.url ?? '');
  const ds = opts.datasources?.find((d) => d.uid === parsed?.uid);
  const method = req.method ?? 'GET';
  if (!parsed || !ds) {
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Data source not found' }));
    return;
  }
  const decision = decideProxy(loadRoutes(), ds, role, method, parsed.proxyPath);
  if (!decision.forward) {
    log.push({ method, path: parsed.proxyPath, status: decision.status });
    res.writeHead(decision.status, { 'content-type': 'application/json' }).end(JSON.stringify(decision.body));
    return;
  }
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const headers: Record<string, string> = { ...decision.headers };
  for (const h of ['content-type', 'accept', 'last-event-id']) if (req.headers[h]) headers[h] = String(req.headers[h]);
  const abort = new AbortController();
  if (/(^|\/)events\/stream(\?|$)/.test(parsed.proxyPath)) {
    openStreamResponses.add(res);
    res.on('close', () => openStreamResponses.delete(res));
  }
  res.on('close', () => abort.abort());
  try {
    const upstream = await fetch(decision.url, { method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined, signal: abort.signal });
    log.push({ method, path: parsed.proxyPath, status: upstream.status });
    const out: Record<string, string> = { 'cache-control': 'no-store' };
    const type = upstream.headers.get('content-type');
    if (type) out['content-type'] = type;
    res.writeHead(upstream.status, out);
    if (upstream.body) Readable.fromWeb(upstream.body as import('node:stream/web').ReadableStream).on('error', () => res.destroy()).pipe(res);
    else res.end();
  } catch (err) {
    if (abort.signal.aborted) return;
    log.push({ method, path: parsed.proxyPath, status: 502 });
    res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ message: `Bad Gateway: ${(err as Error).message}` }));
  }
}

/** Serves the harness on 127.0.0.1 (random port). */
export async function startHarnessServer(opts: HarnessServerOptions): Promise<HarnessServer> {
  let role: GrafanaRole = opts.role ?? 'Editor';
  const proxyLog: HarnessServer['proxyLog'] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://harness');
    const p = url.pathname;
    if (p === '/' || p === '/harness.html') return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    if (p === '/amd.js') return sendFile(res, opts.build.amdJs);
    if (p === '/vendor.js') return sendFile(res, opts.build.vendorJs);
    if (p === '/favicon.ico') return void res.writeHead(204).end();
    // Grafana serves an installed plugin's folder at public/plugins/<id>/; the app's folder is
    // dist/ and holds the nested data source (datasource/) and panel (panel/).
    const plugin = /^\/public\/plugins\/([a-z0-9-]+)\/(.+)$/.exec(p);
    if (plugin) {
      const file = plugin[1] === APP_ID ? inside(path.join(ROOT, 'dist'), plugin[2]) : undefined;
      return file ? sendFile(res, file) : void res.writeHead(404).end();
    }
    if (p.startsWith('/public/build/img/icons/')) {
      const file = inside(ICONS_DIR, p.slice('/public/build/img/icons/'.length));
      return file ? sendFile(res, file) : void res.writeHead(403).end();
    }
    if (parseProxyUrl(p)) {
      proxy(req, res, opts, role, proxyLog).catch(() => res.destroy());
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setRole: (r) => (role = r),
    proxyLog,
    openStreams: () => openStreamResponses.size,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface HarnessBrowser {
  newPage(viewport?: { width: number; height: number }): Promise<import('playwright-core').Page>;
  close(): Promise<void>;
}

/** Debian's chromium through playwright-core, with a fresh profile that is removed on close. */
export async function launchChromium(): Promise<HarnessBrowser> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(path.join(os.tmpdir(), `faultline-chromium-${process.pid}-`));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 900 },
    colorScheme: 'dark',
  });
  return {
    newPage: async (viewport) => {
      const page = await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      return page;
    },
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Opens the harness page and runs a scenario. Resolves to a live list of page errors (uncaught
 * exceptions and console errors) for the test to assert on.
 */
export async function openScenario(page: import('playwright-core').Page, server: HarnessServer, name: string, options: unknown): Promise<string[]> {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  await page.goto(`${server.url}/harness.html`);
  await page.waitForFunction(() => Boolean((window as unknown as { harness?: unknown }).harness));
  await runScenario(page, name, options);
  return errors;
}

/** Runs (another) scenario on an open harness page: re-mounts without reloading the bundle. */
export async function runScenario(page: import('playwright-core').Page, name: string, options: unknown): Promise<void> {
  await page.evaluate(
    async ([n, o]) => {
      const h = (window as unknown as { harness: { scenarios: Record<string, (opts: unknown) => Promise<void>> } }).harness;
      if (!h.scenarios[n as string]) throw new Error(`no scenario ${String(n)}`);
      await h.scenarios[n as string](o);
    },
    [name, options] as const,
  );
}
