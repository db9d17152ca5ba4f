/*
 * `npm run levitate`: do the plugins use any @grafana/data, ui or runtime API whose signature differs
 * between the version they are built against (package.json) and the oldest Grafana their
 * grafanaDependency admits? Grafana's @grafana/levitate compares the two packages' exports and
 * reports each use in src/ of one that was removed or changed. Needs the npm registry (it downloads
 * both versions), so it is not part of `npm test`; run it when the Grafana packages or the range move.
 *
 * Run through npx (see package.json), which puts levitate's bin folder on PATH; its public API is
 * imported from there. A use levitate flags that was read and found harmless is listed in REVIEWED
 * with the reason; anything else fails the run.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

const ROOT = process.cwd();
const MODULES = ['src/module.tsx', 'src/datasource/module.ts', 'src/panel/module.tsx'];
const PACKAGES = ['@grafana/data', '@grafana/ui', '@grafana/runtime'];

/** `<package>:<export>` → why the flagged change does not touch what src/ uses of it. */
const REVIEWED = {
  '@grafana/runtime:config':
    'GrafanaBootConfig gained and dropped fields between 12.3.0 and 13.1.0; src/ reads only config.datasources and config.bootData.user (orgRole, isGrafanaAdmin), present with the same types in 12.3.0',
};

const levitateDir = process.env.PATH.split(path.delimiter)
  .map((dir) => path.resolve(dir, '..', '@grafana', 'levitate'))
  .find((dir) => existsSync(path.join(dir, 'dist', 'index.js')));
if (!levitateDir) {
  process.stderr.write('levitate is not on PATH: run this through `npm run levitate` (npx -p @grafana/levitate@<version>)\n');
  process.exit(2);
}
const { createTsProgram, getIncompatibilitiesBetweenPackages } = await import(pathToFileURL(path.join(levitateDir, 'dist', 'index.js')).href);

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const range = JSON.parse(readFileSync(path.join(ROOT, 'src', 'plugin.json'), 'utf8')).dependencies.grafanaDependency;
const floor = /^>=\s*(\d+\.\d+\.\d+)/.exec(range)?.[1];
if (!floor) throw new Error(`grafanaDependency "${range}" has no ">=x.y.z" floor`);

let unreviewed = 0;
for (const module of MODULES) {
  const program = createTsProgram(path.join(ROOT, module));
  for (const name of PACKAGES) {
    const pinned = pkg.devDependencies[name];
    for (const target of [...new Set([pinned, floor])]) {
      const found = await getIncompatibilitiesBetweenPackages(program, `${name}@${pinned}`, `${name}@${target}`, []);
      for (const i of found) {
        const key = `${name}:${i.name}`;
        const where = `${path.relative(ROOT, i.sourceFile.fileName)}:${i.sourceFile.getLineAndCharacterOfPosition(i.codeIdentifier.getStart()).line + 1}`;
        const why = REVIEWED[key];
        if (!why) unreviewed++;
        process.stdout.write(`${module} ${name} ${pinned} → ${target}: ${i.removal ? 'removed' : 'changed'} ${i.name} (${where})${why ? ` — reviewed: ${why}` : ' — NOT REVIEWED'}\n`);
      }
      if (found.length === 0) process.stdout.write(`${module} ${name} ${pinned} → ${target}: compatible\n`);
    }
  }
}
process.exit(unreviewed ? 1 : 0);
