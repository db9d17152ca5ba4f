import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PACKAGE_ROOT } from '../paths';

// The native parts built at install (build.js beside this file) are each optional: where one is not built,
// cannot be loaded, or is turned off by its environment variable, its caller falls back (to a binary, or to
// JavaScript) and says why in /v1/info.

/** daemon/native/build/<name>. */
export function addonPath(name: string): string {
  return path.join(PACKAGE_ROOT, 'daemon', 'native', 'build', name);
}

/**
 * The addon at `file`, or why there is none. `off`: the environment variable and value that turn it off;
 * `needs`: what building it takes besides a C compiler and node's headers, said when it is not built.
 */
export function loadAddon<T>(file: string, off: { env: string; value: string }, needs?: string): { addon?: T; why?: string } {
  if (process.env[off.env] === off.value) return { why: `${off.env}=${off.value}` };
  if (!existsSync(file)) return { why: `${path.relative(PACKAGE_ROOT, file)} is not built (${needs ? `needs ${needs}; ` : ''}run node daemon/native/build.js)` };
  try {
    return { addon: createRequire(path.join(PACKAGE_ROOT, 'package.json'))(file) as T };
  } catch (err) {
    return { why: `cannot load ${file}: ${String(err)}` };
  }
}
