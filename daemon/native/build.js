#!/usr/bin/env node
// Builds the native parts from the C sources beside this file (npm `postinstall`; also run by the
// Docker image build and by the tests). Never a prebuilt binary: the source is compiled on the machine
// that runs it. Each part is optional and says why when it is not built; the daemon then falls back:
//   build/faultline-timeskew  time-skew's helper. Static when the C library allows (the helper then
//                             runs in any image of the same architecture). Without it, time-skew
//                             reports itself unsupported, naming this.
//   build/faultline-nft.node  libnftables inside the daemon (daemon/sys/nft.ts). Needs libnftables-dev
//                             and this node's headers. Without it, the daemon runs the `nft` binary.
//   build/faultline-tc.node   removes a tc kind's root qdisc through rtnetlink in the daemon
//                             (daemon/sys/tc.ts). Needs this node's headers. Without it, the daemon
//                             runs the tc binary for that too.
//   build/faultline-relay.node the fault proxy's relay for connections no toxic touches, and for
//                             http-fault's requests its rule rules out (daemon/proxy/native-relay.ts).
//                             Needs this node's headers. Without it, those connections are relayed in
//                             JavaScript, a little slower.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const force = process.argv.includes('--force');
const cc = process.env.CC || 'cc';

// the folder exists even when nothing is built (the Docker image copies it as it is)
mkdirSync(path.join(here, 'build'), { recursive: true });
if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.warn(`faultline: native helpers not built (need Linux x86-64, this is ${process.platform}/${process.arch})`);
  process.exit(0);
}

/** Compiles `sources` into build/<name> unless it is newer than them and `headers`; tries each flag set in turn. */
function build(name, sources, flagSets, why, headers = []) {
  const out = path.join(here, 'build', name);
  const inputs = sources.map((f) => path.join(here, f));
  const newest = Math.max(...[...inputs, ...headers.map((f) => path.join(here, f))].map((f) => statSync(f).mtimeMs));
  if (existsSync(out) && statSync(out).mtimeMs >= newest && !force) return;
  const tmp = `${out}.${process.pid}.tmp`;
  let last;
  for (const [i, flags] of flagSets.entries()) {
    try {
      const quiet = i < flagSets.length - 1; // only the last attempt's compiler errors are shown
      execFileSync(cc, ['-O2', '-Wall', '-Wextra', ...flags(tmp, inputs)], { stdio: ['ignore', quiet ? 'ignore' : 'inherit', quiet ? 'pipe' : 'inherit'] });
      renameSync(tmp, out); // whole or not at all: a daemon never loads a half-written file
      return;
    } catch (err) {
      last = err;
    }
  }
  console.warn(`faultline: ${name} not built (${last.code === 'ENOENT' ? `no C compiler ${cc}; install gcc and libc6-dev` : last.message.split('\n')[0]}): ${why}`);
}

build(
  'faultline-timeskew',
  ['timeskew.c', 'timeskew-x86_64.S'],
  [(o, s) => ['-static', '-o', o, ...s], (o, s) => ['-o', o, ...s]],
  'time-skew will report itself unsupported',
);

const nodeInclude = [process.env.npm_config_nodedir, path.resolve(path.dirname(process.execPath), '..')]
  .filter(Boolean)
  .map((d) => path.join(d, 'include', 'node'))
  .find((d) => existsSync(path.join(d, 'node_api.h')));
if (!nodeInclude) {
  console.warn('faultline: faultline-nft.node, faultline-tc.node and faultline-relay.node not built (no node_api.h beside this node): the daemon will run the nft and tc binaries, the fault proxy relays in JavaScript');
} else {
  // napi symbols stay undefined here: node provides them when it loads the addon
  build(
    'faultline-nft.node',
    ['nft.c'],
    [(o, s) => ['-shared', '-fPIC', '-pthread', `-I${nodeInclude}`, '-o', o, ...s, '-lnftables']],
    'install libnftables-dev; the daemon will run the nft binary',
    ['addon-common.h'],
  );
  build(
    'faultline-tc.node',
    ['tc.c'],
    [(o, s) => ['-shared', '-fPIC', '-pthread', `-I${nodeInclude}`, '-o', o, ...s]],
    'the daemon will remove qdiscs with the tc binary',
    ['addon-common.h'],
  );
  build(
    'faultline-relay.node',
    ['relay.c', 'relay-http.c', 'http-frame.c'],
    [(o, s) => ['-shared', '-fPIC', '-pthread', `-I${nodeInclude}`, '-o', o, ...s]],
    'the fault proxy relays connections no toxic touches, and http-fault requests, in JavaScript',
    ['relay.h', 'http-frame.h'],
  );
}
