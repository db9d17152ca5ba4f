import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import { Type } from '@sinclair/typebox';

// `npm run package` (here with --no-build, on the dist/ that `npm test` built) writes one zip whose
// top folder is the app id, and every plugin.json in it holds what Grafana's plugin.json schema
// (docs/sources/developers/plugins/plugin.schema.json) requires, with every file it names inside
// the zip: what the catalog, the plugin validator and the signing tool read.

const ROOT = path.resolve(__dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs');

// Grafana's patterns, with "\-" written "-" (ajv compiles them with the u flag, which refuses needless escapes).
const ID = '^[0-9a-z]+-([0-9a-z]+-)?(app|panel|datasource|secretsmanager|transformer)$';
const GRAFANA_DEPENDENCY = '^(<=|>=|<|>|=|~|\\^)?([0-9]+)(\\.[0-9x\\*]+)(\\.[0-9x\\*]+)?(\\s(<=|>=|<|=>)?([0-9]+)(\\.[0-9x]+)(\\.[0-9x]+))?$';

/** The parts of Grafana's plugin.json schema a plugin must satisfy (required fields, patterns, enums, no unknown keys). */
const PluginJson = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    id: Type.String({ pattern: ID }),
    type: Type.Union(['app', 'datasource', 'panel', 'renderer', 'secretsmanager', 'transformer'].map((t) => Type.Literal(t))),
    name: Type.String({ minLength: 1 }),
    info: Type.Object(
      {
        description: Type.Optional(Type.String()),
        author: Type.Optional(Type.Object({ name: Type.Optional(Type.String()), email: Type.Optional(Type.String()), url: Type.Optional(Type.String()) }, { additionalProperties: false })),
        keywords: Type.Array(Type.String(), { minItems: 1 }),
        logos: Type.Object({ small: Type.String({ minLength: 1 }), large: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
        links: Type.Optional(Type.Array(Type.Object({ name: Type.String(), url: Type.String({ pattern: '^https?://' }) }, { additionalProperties: false }))),
        screenshots: Type.Optional(Type.Array(Type.Object({ name: Type.String(), path: Type.String() }, { additionalProperties: false }))),
        version: Type.String({ pattern: '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)$' }),
        updated: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
        build: Type.Optional(Type.Object({})),
      },
      { additionalProperties: false },
    ),
    dependencies: Type.Object(
      {
        grafanaDependency: Type.String({ pattern: GRAFANA_DEPENDENCY }),
        grafanaVersion: Type.Optional(Type.String()),
        plugins: Type.Optional(
          Type.Array(Type.Object({ id: Type.String({ pattern: ID }), type: Type.Union(['app', 'datasource', 'panel', 'secretsmanager'].map((t) => Type.Literal(t))), name: Type.String(), version: Type.String() })),
        ),
      },
      { additionalProperties: false },
    ),
    includes: Type.Optional(
      Type.Array(
        Type.Object({
          type: Type.Union(['dashboard', 'page', 'panel', 'datasource', 'secretsmanager'].map((t) => Type.Literal(t))),
          name: Type.Optional(Type.String()),
          path: Type.Optional(Type.String()),
          uid: Type.Optional(Type.String()),
          role: Type.Optional(Type.Union(['Admin', 'Editor', 'Viewer'].map((t) => Type.Literal(t)))),
          addToNav: Type.Optional(Type.Boolean()),
          defaultNav: Type.Optional(Type.Boolean()),
          icon: Type.Optional(Type.String()),
        }),
      ),
    ),
    // Data source and panel flags the schema knows; buildMode is written by create-plugin's build.
    metrics: Type.Optional(Type.Boolean()),
    annotations: Type.Optional(Type.Boolean()),
    streaming: Type.Optional(Type.Boolean()),
    logs: Type.Optional(Type.Boolean()),
    alerting: Type.Optional(Type.Boolean()),
    backend: Type.Optional(Type.Boolean()),
    skipDataQuery: Type.Optional(Type.Boolean()),
    routes: Type.Optional(Type.Array(Type.Object({ path: Type.String({ minLength: 1 }), method: Type.Optional(Type.String()), reqRole: Type.Optional(Type.String()), url: Type.Optional(Type.String()), headers: Type.Optional(Type.Array(Type.Object({ name: Type.String(), content: Type.String() }))) }, { additionalProperties: false }))),
    buildMode: Type.Optional(Type.String()),
    preload: Type.Optional(Type.Boolean()),
    autoEnabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const validate = new Ajv({ allErrors: true, strict: false }).compile(PluginJson);

const unzipList = (zip: string) => execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).split('\n').filter(Boolean);
const unzipRead = (zip: string, file: string) => execFileSync('unzip', ['-p', zip, file], { encoding: 'utf8', maxBuffer: 64 << 20 });

describe('npm run package', () => {
  let out: string;
  let zip: string;
  let files: string[];
  const app = () => JSON.parse(unzipRead(zip, 'faultline-chaos-app/plugin.json'));

  beforeAll(() => {
    if (!existsSync(path.join(ROOT, 'dist/plugin.json'))) throw new Error('dist/ is empty: run `npm run build` first (npm test does)');
    out = mkdtempSync(path.join(os.tmpdir(), `fl-pkg-${process.pid}-`));
    execFileSync(process.execPath, [TSX, '.config/package-plugin.ts', '--no-build', '--out', out], { cwd: ROOT, stdio: 'pipe', env: { ...process.env, GRAFANA_ACCESS_POLICY_TOKEN: '' } });
    zip = path.join(out, `faultline-chaos-app-${JSON.parse(execFileSync('cat', [path.join(ROOT, 'package.json')], { encoding: 'utf8' })).version}.zip`);
    files = unzipList(zip);
  }, 120_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('writes one zip whose only top folder is the app id, with the files the catalog shows', () => {
    expect(new Set(files.map((f) => f.split('/')[0]))).toEqual(new Set(['faultline-chaos-app']));
    for (const f of ['plugin.json', 'module.js', 'README.md', 'CHANGELOG.md', 'LICENSE', 'datasource/plugin.json', 'datasource/module.js', 'panel/plugin.json', 'panel/module.js']) {
      expect(files).toContain(`faultline-chaos-app/${f}`);
    }
    expect(unzipRead(zip, 'faultline-chaos-app/LICENSE')).toMatch(/Apache License\s+Version 2\.0/);
    // Signing writes MANIFEST.txt at the plugin root; nothing else may be named so elsewhere.
    expect(files.filter((f) => f.endsWith('MANIFEST.txt')).every((f) => f === 'faultline-chaos-app/MANIFEST.txt')).toBe(true);
  });

  it('every plugin.json holds what Grafana requires, and every file it names is in the zip', () => {
    const manifests = files.filter((f) => f.endsWith('/plugin.json'));
    expect(manifests.sort()).toEqual(['faultline-chaos-app/datasource/plugin.json', 'faultline-chaos-app/panel/plugin.json', 'faultline-chaos-app/plugin.json']);
    for (const file of manifests) {
      const json = JSON.parse(unzipRead(zip, file));
      const ok = validate(json);
      expect({ file, errors: ok ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message}`) }).toEqual({ file, errors: [] });
      const dir = path.posix.dirname(file);
      for (const logo of [json.info.logos.small, json.info.logos.large]) expect({ file, logo, present: files.includes(`${dir}/${logo}`) }).toEqual({ file, logo, present: true });
      for (const s of json.info.screenshots ?? []) expect({ file, screenshot: s.path, present: files.includes(`${dir}/${s.path}`) }).toEqual({ file, screenshot: s.path, present: true });
      expect(files).toContain(`${dir}/module.js`);
      // The catalog's naming convention on top of the schema: <org>-<name>-<type>, the type matching.
      expect(json.id).toMatch(new RegExp(`^faultline-chaos-${json.type}$`));
    }
  });

  it('the app has real screenshots (PNG), includes its nested plugins and dashboards, and they depend on nothing else', () => {
    const a = app();
    expect(a.id).toBe('faultline-chaos-app');
    expect((a.info.screenshots ?? []).length).toBeGreaterThanOrEqual(2);
    for (const s of a.info.screenshots) {
      const png = execFileSync('unzip', ['-p', zip, `faultline-chaos-app/${s.path}`]);
      expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
      expect(png.length).toBeGreaterThan(20_000); // a page, not a blank image
    }
    const nested = ['datasource', 'panel'].map((d) => JSON.parse(unzipRead(zip, `faultline-chaos-app/${d}/plugin.json`)));
    for (const n of nested) {
      expect(a.includes).toContainEqual(expect.objectContaining({ type: n.type, name: n.name }));
      expect(n.id).toMatch(/^faultline-chaos-/);
    }
    for (const d of a.includes.filter((i: { type: string }) => i.type === 'dashboard')) {
      expect(files).toContain(`faultline-chaos-app/${d.path}`);
      const dash = JSON.parse(unzipRead(zip, `faultline-chaos-app/${d.path}`));
      expect(dash.uid).toBe(d.uid);
    }
    const panel = nested.find((n) => n.type === 'panel');
    expect(panel.dependencies.plugins).toEqual([expect.objectContaining({ id: 'faultline-chaos-datasource', type: 'datasource' })]);
  });

  // The analyzers of grafana/plugin-validator (pkg/analysis/passes/*) that apply to a frontend-only
  // app with nested plugins, each as the rule it enforces on the zip. Those that need the network
  // (published version, broken links, safe links, virus and OSV scans, org registration) or a Go
  // backend (binaries, manifests, gosec) cannot apply here; see tests/plugin/README or the report.
  describe("plugin-validator's checks", () => {
    const top = 'faultline-chaos-app';
    const readme = () => unzipRead(zip, `${top}/README.md`);
    const manifests = () => files.filter((f) => f.endsWith('/plugin.json')).map((f) => ({ file: f, dir: path.posix.dirname(f), json: JSON.parse(unzipRead(zip, f)) }));

    it('archive / archivename: one folder named as the id, no dist/ inside it', () => {
      expect(files.some((f) => f.startsWith(`${top}/dist/`))).toBe(false);
    });

    it('includesnested: every nested plugin is declared in the app includes with its path and type', () => {
      const a = app();
      for (const { file, json } of manifests().filter((m) => m.dir !== top)) {
        const rel = file.slice(top.length + 1);
        expect({ rel, include: a.includes.find((i: { path?: string }) => i.path === rel) }).toEqual({ rel, include: expect.objectContaining({ type: json.type }) });
      }
    });

    it('metadatapaths / logos / screenshots: paths are relative to their plugin.json, not "./" or "/", and are images', () => {
      for (const { file, dir, json } of manifests()) {
        const paths = [json.info.logos.small, json.info.logos.large, ...(json.info.screenshots ?? []).map((s: { path: string }) => s.path)];
        for (const p of paths) {
          expect({ file, p, relative: !p.startsWith('.') && !p.startsWith('/') && p.trim() !== '' }).toEqual({ file, p, relative: true });
          expect(files).toContain(`${dir}/${p}`);
          expect(p).toMatch(/\.(svg|png|jpe?g|gif|webp)$/);
        }
      }
    });

    it('unsafesvg: the SVGs hold only drawing elements (no script, foreignObject, event handlers or external references)', () => {
      const svgs = files.filter((f) => f.endsWith('.svg'));
      expect(svgs.length).toBeGreaterThan(0);
      for (const f of svgs) {
        const svg = unzipRead(zip, f);
        const elements = new Set([...svg.matchAll(/<([a-zA-Z][\w:-]*)/g)].map((m) => m[1]));
        expect({ f, other: [...elements].filter((e) => !['svg', 'g', 'path', 'rect', 'circle', 'ellipse', 'line', 'polyline', 'polygon', 'title', 'desc', 'defs', 'linearGradient', 'radialGradient', 'stop'].includes(e)) }).toEqual({ f, other: [] });
        expect(svg).not.toMatch(/\son[a-z]+\s*=|javascript:|xlink:href|href\s*=/i);
      }
    });

    it('modulejs / jssourcemap: every plugin has module.js with its module.js.map beside it', () => {
      for (const { dir } of manifests()) {
        expect(files).toContain(`${dir}/module.js`);
        expect(files).toContain(`${dir}/module.js.map`);
      }
    });

    it('readme / templatereadme / jargon / brokenlinks: a README of our own, no comments, no developer jargon, no relative links', () => {
      const text = readme();
      expect(text.trim().length).toBeGreaterThan(200);
      expect(text).not.toMatch(/<!--/);
      expect(text).not.toMatch(/Grafana (Panel|Data Source|Datasource|App|Data Source Backend) Plugin Template/i);
      expect(text).not.toMatch(/yarn|nodejs/);
      const links = [...text.matchAll(/\[.+?\]\((.+?)\)/g)].map((m) => m[1].split(/\s+/)[0]).filter((l) => !l.startsWith('#') && !l.startsWith('mailto:'));
      expect(links.filter((l) => !/^https?:\/\//.test(l))).toEqual([]);
    });

    it('changelog / license: a CHANGELOG with content, an accepted licence without template placeholders', () => {
      expect(unzipRead(zip, `${top}/CHANGELOG.md`).trim().length).toBeGreaterThan(0);
      const license = unzipRead(zip, `${top}/LICENSE`);
      expect(license).not.toMatch(/\{name of copyright owner\}|\{yyyy\}/);
      const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
      expect(pkg.license).toMatch(/^(0BSD|BSD-.*|MIT.*|Apache-2\.0|LGPL-3.*|GPL-3\.0.*|AGPL-3\.0.*)$/);
    });

    it('version / packagejson: every plugin.json carries package.json\'s semver version', () => {
      const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
      expect(version).toMatch(/^\d+\.\d+\.\d+$/);
      for (const { file, json } of manifests()) expect({ file, version: json.info.version }).toEqual({ file, version });
    });

    it('pluginname / typesuffix / discoverability / restrictivedep: names, descriptions, keywords, an open-ended range', () => {
      for (const { file, json } of manifests()) {
        expect({ file, sameAsId: json.name === json.id }).toEqual({ file, sameAsId: false });
        expect(json.id.split('-').at(-1)).toBe(json.type);
        expect({ file, description: (json.info.description ?? '').length > 0, keywords: (json.info.keywords ?? []).length > 0 }).toEqual({ file, description: true, keywords: true });
        // "12.3.x" or a bare "12.3.0" pins one version: the validator refuses both.
        expect(json.dependencies.grafanaDependency).toMatch(/^>=\d+\.\d+\.\d+$/);
      }
    });

    it('backend / executable: frontend only, so no backend flag, no executable and no binaries', () => {
      for (const { file, json } of manifests()) expect({ file, backend: json.backend ?? false, executable: json.executable }).toEqual({ file, backend: false, executable: undefined });
      expect(files.filter((f) => /gpx_|_linux_|_darwin_|_windows_|\.exe$/.test(f))).toEqual([]);
    });

    it('legacyplatform / coderules: no Angular in the bundles; no console logging, window.location, dialogs or ts-ignore in src/', () => {
      for (const { dir } of manifests()) {
        expect(unzipRead(zip, `${dir}/module.js`)).not.toMatch(/PanelCtrl|QueryCtrl|ConfigCtrl|AnnotationsQueryCtrl|app\/plugins\/sdk|getLegacyAngularInjector|__SECRET_INTERNALS_DO_NOT_USE/);
      }
      const sources = (dir: string): string[] =>
        readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : /\.(ts|tsx)$/.test(e.name) ? [path.join(dir, e.name)] : []));
      const rules: Array<[string, RegExp]> = [
        ['console-logging', /console\.(log|info|table|clear|count|countReset|dir|dirxml|group|groupEnd|time|timeEnd|timeLog|trace)\(/],
        ['direct-window-location-access', /window\.location\.(search|href)/],
        ['ts-ignore-suppress', /@ts-ignore|@ts-expect-error/],
        ['window-properties', /window\.(grafanaBootData|grafanaRuntime|__grafanaSceneContext)/],
        ['native-browser-dialogs', /(^|[^.\w])alert\(|window\.(alert|confirm|prompt)\(/],
        ['window-open-without-noopener', /window\.open\((?![^)]*noopener)/],
        ['deprecated-gf-form-css-classes', /gf-form/],
        ['no-direct-css-imports', /import\s+['"].*\.(css|scss|less)['"]|from '@emotion\/react'/],
        ['no-api-ds-query-endpoint', /\/api\/ds\/query/],
        ['topnav-toggle', /featureToggles\.topnav/],
      ];
      const found = sources(path.join(ROOT, 'src')).flatMap((f) => {
        const text = readFileSync(f, 'utf8');
        return rules.filter(([, re]) => re.test(text)).map(([rule]) => `${path.relative(ROOT, f)}: ${rule}`);
      });
      expect(found).toEqual([]);
    });
  });

  it('the schema check itself refuses what Grafana would', () => {
    const a = app();
    expect(validate({ ...a, id: 'Faultline_Datasource' })).toBe(false);
    expect(validate({ ...a, id: 'faultline-chaos-widget' })).toBe(false);
    expect(validate({ ...a, dependencies: { grafanaDependency: '>=11.6.11 <12 || >=12.3.0' } })).toBe(false);
    expect(validate({ ...a, info: { ...a.info, keywords: [] } })).toBe(false);
    expect(validate({ ...a, includes: [{ type: 'widget' }] })).toBe(false);
  });
});
