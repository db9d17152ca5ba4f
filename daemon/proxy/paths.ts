import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Where this folder is on disk, both under tsx (ESM, no __dirname) and under jest (CommonJS, where
// `import.meta` would not compile): the first frame of a fresh stack names this very file.
function thisDir(): string {
  if (typeof __dirname !== 'undefined') return __dirname;
  const frame = /\(?((?:file:\/\/)?\/[^():\s]+\.ts):\d+:\d+/.exec(new Error().stack ?? '');
  if (!frame) throw new Error('cannot locate daemon/proxy on disk');
  return path.dirname(frame[1].startsWith('file:') ? fileURLToPath(frame[1]) : frame[1]);
}

export const PROXY_DIR = thisDir();
export const CHILD_ENTRY = path.join(PROXY_DIR, 'child.ts');
export const RUN_TS = path.resolve(PROXY_DIR, '../../bin/run-ts.js');
