import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

// The plugins' grafanaDependency must be true: every Grafana version in the declared range shares
// every module the BUILT bundles ask for (AMD dependencies of dist/**/module.js). A module Grafana
// shares only from some version on (react/jsx-runtime: 12.3, backported to 11.6.11 / 12.0.10 /
// 12.1.7 / 12.2.5) raises the floor; a module that is not in SHARED_SINCE fails the test until
// someone finds out from which Grafana version it is shared. `npm test` builds first.

const ROOT = path.resolve(__dirname, '../..');
const DIST = path.join(ROOT, 'dist');

type Version = [number, number, number];

/** Lowest Grafana version that shares each module with plugins (SystemJS import map). */
export const SHARED_SINCE: Record<string, string> = {
  // The AMD meta module (the plugin's own URL), always there.
  module: '0.0.0',
  react: '7.0.0',
  'react-dom': '7.0.0',
  rxjs: '7.0.0',
  'rxjs/operators': '7.0.0',
  lodash: '7.0.0',
  moment: '7.0.0',
  '@emotion/css': '7.0.0',
  '@emotion/react': '8.0.0',
  '@grafana/data': '7.0.0',
  '@grafana/ui': '7.0.0',
  '@grafana/runtime': '7.0.0',
  // Shared from 12.3.0 on every later line; the backports are patch releases of older lines, which
  // a ">=" range cannot name without taking in the unpatched releases after them.
  'react/jsx-runtime': '12.3.0',
  'react/jsx-dev-runtime': '12.3.0',
};

const parse = (v: string): Version => {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  if (!m) throw new Error(`not a version: ${v}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
};
const cmp = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/**
 * The lowest version a grafanaDependency admits. Only ">=x.y.z" (optionally with an upper "<"
 * bound) is accepted: what plugin.json's schema pattern allows and what makes "every version in
 * the range" a floor check.
 */
export function floorOf(range: string): Version {
  const m = /^>=\s*(\d+\.\d+\.\d+)(\s+<\s*\d+\.\d+\.\d+)?$/.exec(range.trim());
  if (!m) throw new Error(`grafanaDependency "${range}": write it as ">=x.y.z" (optionally "<a.b.c" after it)`);
  return parse(m[1]);
}

/** The AMD dependencies of a built module: define(["a","b",...], factory). */
export function amdDependencies(source: string): string[] {
  const m = /define\(\s*(\[[^\]]*\])/.exec(source);
  if (!m) throw new Error('not an AMD module (no define([...]))');
  return JSON.parse(m[1]) as string[];
}

/** What is wrong with declaring `range` for a bundle that needs `deps`; empty = true. */
export function dependencyProblems(range: string, deps: string[]): string[] {
  const floor = floorOf(range);
  const problems: string[] = [];
  for (const dep of deps) {
    const since = SHARED_SINCE[dep];
    if (since === undefined) problems.push(`${dep}: not known to be shared by Grafana (add it to SHARED_SINCE with the version that shares it)`);
    else if (cmp(floor, parse(since)) < 0) problems.push(`${dep}: shared from Grafana ${since}, but the range starts at ${floor.join('.')}`);
  }
  return problems;
}

function builtPlugins(): Array<{ dir: string; manifest: { id: string; type: string; dependencies: { grafanaDependency: string } }; deps: string[] }> {
  const out = [];
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name === 'plugin.json' ? [dir] : []));
  for (const dir of walk(DIST).filter((d) => !d.includes(`${path.sep}dashboards`))) {
    const manifest = JSON.parse(readFileSync(path.join(dir, 'plugin.json'), 'utf8'));
    const module = path.join(dir, 'module.js');
    out.push({ dir: path.relative(DIST, dir) || '.', manifest, deps: existsSync(module) ? amdDependencies(readFileSync(module, 'utf8')) : [] });
  }
  return out;
}

describe('grafanaDependency is true for the built bundles', () => {
  const plugins = existsSync(path.join(DIST, 'plugin.json')) ? builtPlugins() : [];

  it('dist/ holds the app and its nested data source and panel, each with a module.js', () => {
    if (plugins.length === 0) throw new Error('dist/ is empty: run `npm run build` first (npm test does)');
    expect(plugins.map((p) => [p.dir, p.manifest.type]).sort()).toEqual([
      ['.', 'app'],
      ['datasource', 'datasource'],
      ['panel', 'panel'],
    ]);
    for (const p of plugins) expect({ dir: p.dir, deps: p.deps.length > 0 }).toEqual({ dir: p.dir, deps: true });
  });

  it('every bundle loads only modules that every Grafana in its declared range shares', () => {
    for (const p of plugins) {
      expect({ plugin: p.manifest.id, problems: dependencyProblems(p.manifest.dependencies.grafanaDependency, p.deps) }).toEqual({ plugin: p.manifest.id, problems: [] });
    }
  });

  it('the nested plugins declare the app range (they load in the same Grafana)', () => {
    const app = plugins.find((p) => p.manifest.type === 'app')!;
    for (const p of plugins) expect({ plugin: p.manifest.id, range: p.manifest.dependencies.grafanaDependency }).toEqual({ plugin: p.manifest.id, range: app.manifest.dependencies.grafanaDependency });
  });

  it('catches a range that is too low or not a floor, and an unknown shared module', () => {
    expect(dependencyProblems('>=11.0.0', ['react', 'react/jsx-runtime'])).toEqual(['react/jsx-runtime: shared from Grafana 12.3.0, but the range starts at 11.0.0']);
    expect(dependencyProblems('>=12.3.0', ['react', 'react/jsx-runtime'])).toEqual([]);
    expect(dependencyProblems('>=12.3.0', ['@grafana/runtime/unstable'])).toEqual([expect.stringMatching(/^@grafana\/runtime\/unstable: not known to be shared/)]);
    expect(() => floorOf('>=11.6.11 <12 || >=12.3.0')).toThrow(/write it as/);
    expect(amdDependencies('/* banner */\ndefine(["react","rxjs"],(e,t)=>1)')).toEqual(['react', 'rxjs']);
  });
});
