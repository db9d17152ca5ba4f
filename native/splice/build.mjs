// `npm install` builds the kernel relay addon (splice.c) with the node-gyp npm ships. Not fatal: on a
// machine without a C compiler, or not Linux, the fault proxy relays in user space and says so
// (daemon/proxy/splice.ts); the tests require the addon under CI=true.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function nodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  const npmCli = process.env.npm_execpath;
  const bundled = npmCli && path.resolve(path.dirname(npmCli), '../node_modules/node-gyp/bin/node-gyp.js');
  return bundled && existsSync(bundled) ? bundled : undefined;
}

if (process.platform !== 'linux') {
  console.warn('faultline: native/splice is Linux only; the fault proxy relays in user space here');
  process.exit(0);
}
const gyp = nodeGyp();
if (!gyp) {
  console.warn('faultline: node-gyp not found; the fault proxy relays in user space (run this under npm to build native/splice)');
  process.exit(0);
}
const result = spawnSync(process.execPath, [gyp, 'rebuild', '--directory', here], { stdio: 'inherit' });
if (result.status !== 0) console.warn('faultline: building native/splice failed; the fault proxy relays in user space');
