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

/** How an addon is turned off (the environment variable and its value), and what building it takes besides a C compiler and node's headers. */
export interface AddonSwitch {
  env: string;
  value: string;
  needs?: string;
}

/** Why the addon at `file` will not be used (turned off, or not built), without loading it; undefined: it is there. */
export function addonAbsence(file: string, off: AddonSwitch): string | undefined {
  if (process.env[off.env] === off.value) return `${off.env}=${off.value}`;
  if (!existsSync(file)) return `${path.relative(PACKAGE_ROOT, file)} is not built (${off.needs ? `needs ${off.needs}; ` : ''}run node daemon/native/build.js)`;
  return undefined;
}

/** The addon at `file`, or why there is none. */
export function loadAddon<T>(file: string, off: AddonSwitch): { addon?: T; why?: string } {
  const why = addonAbsence(file, off);
  if (why) return { why };
  try {
    return { addon: createRequire(path.join(PACKAGE_ROOT, 'package.json'))(file) as T };
  } catch (err) {
    return { why: `cannot load ${file}: ${String(err)}` };
  }
}
