import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(__dirnameOfPackage(), 'package.json'), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return '0.0.0';
  }
}

/** The package root: the folder holding package.json above this process's entry or the working dir. */
export function __dirnameOfPackage(): string {
  // the entry's real path: a globally installed `faultline` is a symlink in a bin folder
  const starts = [process.argv[1] ? path.dirname(realpath(process.argv[1])) : process.cwd(), process.cwd()];
  for (const start of starts) {
    let dir = path.resolve(start);
    for (;;) {
      try {
        const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
        if (pkg.name === 'faultline') return dir;
      } catch {
        /* keep walking up */
      }
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return process.cwd();
}

function realpath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

export const VERSION = readVersion();
