import path from 'node:path';
import { PACKAGE_ROOT } from '../paths';

// Child processes (the proxy, the DNS responder) run as compiled JavaScript (dist-server/, built by
// `npm run build:server`, which `npm install`, `npm start` and the test run do): the same file in
// production and under jest, so tests exercise what ships, and a child starts in a plain `node`
// without a TypeScript compiler. Entries are named by their source path; compiledPath maps them.

/** This folder in the sources (entries of other children are named relative to it). */
export const PROXY_DIR = path.join(PACKAGE_ROOT, 'daemon', 'proxy');
export const CHILD_ENTRY = path.join(PROXY_DIR, 'child.ts');

/** The compiled file a source file of the package becomes (`daemon/x.ts` → `dist-server/daemon/x.js`). */
export function compiledPath(source: string): string {
  const rel = path.relative(PACKAGE_ROOT, source);
  if (rel.startsWith('..') || !/\.tsx?$/.test(rel)) return source;
  return path.join(PACKAGE_ROOT, 'dist-server', rel.replace(/\.tsx?$/, '.js'));
}
