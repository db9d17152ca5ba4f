import { spawn } from 'node:child_process';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../daemon/paths';

// Real traffic between test namespaces (see daemon-udp.mjs): how many of N datagrams got through.

const SCRIPT = path.join(PACKAGE_ROOT, 'tests', 'integration', 'daemon-udp.mjs');

function inNs(ns: string, args: string[]) {
  return spawn('ip', ['netns', 'exec', ns, process.execPath, SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Sends `count` datagrams from `fromNs` to `toAddr:port` in `toNs`; resolves how many arrived. */
export async function udpDelivered(fromNs: string, toNs: string, toAddr: string, count: number, port = 20000 + (process.pid % 20000)): Promise<number> {
  const recv = inNs(toNs, ['recv', toAddr, String(port), '500', '120000']);
  // listen for exit right away: the receiver may finish before the sender's exit is even seen
  const recvExit = new Promise<number | null>((resolve) => recv.once('exit', resolve));
  let out = '';
  let err = '';
  recv.stdout.on('data', (c) => (out += c));
  recv.stderr.on('data', (c) => (err += c));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`receiver did not start: ${err}`)), 30_000);
    const onData = () => {
      if (out.includes('ready')) {
        clearTimeout(t);
        recv.stdout.off('data', onData);
        resolve();
      }
    };
    recv.stdout.on('data', onData);
    void recvExit.then((code) => reject(new Error(`receiver exited ${code} before it was ready: ${err}`)));
  });
  const send = inNs(fromNs, ['send', toAddr, String(port), String(count)]);
  await new Promise((resolve) => send.once('exit', resolve));
  recv.kill('SIGTERM'); // `ip netns exec` execs node, so this reaches the receiver itself
  await recvExit;
  const m = /\{"count":([0-9]+)\}/.exec(out);
  if (!m) throw new Error(`receiver printed no count: ${out} ${err}`);
  return Number(m[1]);
}
