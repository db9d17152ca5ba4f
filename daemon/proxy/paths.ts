import path from 'node:path';
import { PACKAGE_ROOT } from '../paths';

// The proxy child runs as compiled JavaScript (dist-server/, built by `npm run build:server`, which
// `npm install`, `npm start` and the test run do): the same file in production and under jest, so
// tests exercise what ships, and a child starts in a plain `node` without a TypeScript compiler.
export const CHILD_ENTRY = path.join(PACKAGE_ROOT, 'dist-server', 'daemon', 'proxy', 'child.js');
