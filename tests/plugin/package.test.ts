import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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

  it('the schema check itself refuses what Grafana would', () => {
    const a = app();
    expect(validate({ ...a, id: 'Faultline_Datasource' })).toBe(false);
    expect(validate({ ...a, id: 'faultline-chaos-widget' })).toBe(false);
    expect(validate({ ...a, dependencies: { grafanaDependency: '>=11.6.11 <12 || >=12.3.0' } })).toBe(false);
    expect(validate({ ...a, info: { ...a.info, keywords: [] } })).toBe(false);
    expect(validate({ ...a, includes: [{ type: 'widget' }] })).toBe(false);
  });
});
