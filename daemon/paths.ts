import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';

// Where the package lives on disk, for files the daemon runs or reads (stressor scripts, package.json).
// Under jest (CommonJS) __dirname exists; in the compiled ESM it does not and import.meta would break jest,
// so we walk up from the entry script and the working dir to the package.json named "faultline".

function findRoot(): string {
  if (typeof __dirname !== 'undefined') return path.resolve(__dirname, '..');
  const starts = [process.argv[1] ? path.dirname(realpath(process.argv[1])) : '', process.cwd()].filter(Boolean);
  for (const start of starts) {
    for (let dir = start; ; dir = path.dirname(dir)) {
      try {
        if ((JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'faultline') return dir;
      } catch {
        /* keep walking up */
      }
      if (path.dirname(dir) === dir) break;
    }
  }
  return process.cwd();
}

/** The entry script's real location (a globally installed `faultline` is a symlink in a bin folder). */
function realpath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

export const PACKAGE_ROOT = findRoot();
