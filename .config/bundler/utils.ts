import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { SOURCE_DIR } from './constants.ts';

function loadJson(file: string) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

export function getPackageJson() {
  return loadJson(path.resolve(process.cwd(), 'package.json'));
}

export function getPluginJson() {
  return loadJson(path.resolve(process.cwd(), `${SOURCE_DIR}/plugin.json`));
}

export function getCPConfigVersion(): string {
  const cprc = path.resolve(process.cwd(), '.config', '.cprc.json');
  return fs.existsSync(cprc) ? loadJson(cprc).version : 'unknown';
}

export function hasReadme() {
  return fs.existsSync(path.resolve(process.cwd(), SOURCE_DIR, 'README.md'));
}

/** Every plugin.json under src/, relative to src/ (the app's own is "plugin.json"). */
export function pluginJsonFiles(): string[] {
  const root = path.resolve(process.cwd(), SOURCE_DIR);
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) return walk(full);
      return e.name === 'plugin.json' ? [path.relative(root, full)] : [];
    });
  return walk(root).sort();
}

/**
 * Nested plugins: each plugin.json with a module.[jt]sx? beside it is one entry, named after its
 * folder ("module" for the app, "datasource/module" for src/datasource/). The public path module
 * comes first in each entry; the last file is what the AMD module exports.
 */
export function getEntries(publicPathModule: string): Record<string, string[]> {
  const root = path.resolve(process.cwd(), SOURCE_DIR);
  const entries: Record<string, string[]> = {};
  for (const manifest of pluginJsonFiles()) {
    const dir = path.dirname(manifest);
    const module = ['module.ts', 'module.tsx', 'module.js', 'module.jsx'].map((m) => path.join(root, dir, m)).find((m) => fs.existsSync(m));
    if (!module) continue;
    entries[dir === '.' ? 'module' : `${dir}/module`] = [publicPathModule, module];
  }
  return entries;
}
