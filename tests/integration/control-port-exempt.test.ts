import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../daemon/paths';
import { makeNetnsPair, type NetnsPair } from '../helpers/netns';
import { describeWithTools } from '../helpers/require-tool';
import { tempDir } from '../helpers/tmp';
import { pollFor } from '../helpers/wait';
import { startTestDaemon } from './daemon-helpers';

// The daemon's control port is exempt from network faults in the daemon's own namespace. A daemon
// listens on a veth address in namespace A (as on a host's NIC); the exporter runs in namespace B and
// reaches it over that link, as a remote exporter would. A 100% network-loss, or a partition from the
// exporter's address, in A (the daemon's own namespace: the "host" of that daemon) is real — ping
// across the link fails — yet the stop reaches the daemon and the table is gone at once, long before
// the lease (2 minutes here) could have reverted it. Without the exemption, the stop's DELETE was
// dropped with everything else and the fault stayed until the lease ran out.

jest.setTimeout(180_000);

const TOKEN = 'control-port-token';
const LEASE = '120s';

let pair: NetnsPair;
let stateDir: string;
let dataDir: string;
let daemon: ChildProcess | undefined;
let exporter: ChildProcess | undefined;
let exporterUrl: string;
let daemonUrl: string;

const nftTables = (ns: string) => execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'tables'], { encoding: 'utf8' });
const hasFaultTable = () => /faultline-/.test(nftTables(pair.a));

/** Whether namespace B reaches A's address at all (ICMP: not the daemon's port). */
function pings(): boolean {
  try {
    execFileSync('ip', ['netns', 'exec', pair.b, 'ping', '-c', '1', '-W', '1', pair.addrA], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** An HTTP request sent from namespace B (where the exporter runs), by a node child there. */
function fromB(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const script =
    'const [m,u,b,h]=process.argv.slice(1);' +
    "fetch(u,{method:m,headers:{'content-type':'application/json',...JSON.parse(h)},body:b||undefined,signal:AbortSignal.timeout(20000)})" +
    '.then(async r=>{const t=await r.text();let j;try{j=JSON.parse(t)}catch{j=t}console.log(JSON.stringify({status:r.status,body:j}))})' +
    '.catch(e=>console.log(JSON.stringify({status:0,body:String(e)})))';
  const args = ['netns', 'exec', pair.b, process.execPath, '-e', script, method, url, body === undefined ? '' : JSON.stringify(body), JSON.stringify(headers)];
  return new Promise((resolve, reject) =>
    execFile('ip', args, { encoding: 'utf8', timeout: 60_000 }, (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout.trim().split('\n').pop()!)))),
  );
}

const api = (method: string, p: string, body?: unknown) => fromB(method, `${exporterUrl}${p}`, body);

/** A `faultline` command inside a namespace (`ip netns exec` execs it: the child's pid is node's). */
function faultlineIn(ns: string, args: string[]): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, process.execPath, path.join(PACKAGE_ROOT, 'bin', 'faultline.js'), ...args], {
    cwd: PACKAGE_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function listening(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`no "listening" line within 60s: ${out}`)), 60_000);
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = /listening on (https?:\/\/[0-9.:]+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`exited with ${code} before listening: ${out}`));
    });
  });
}

async function stopChild(c: ChildProcess | undefined): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 20_000)))]);
  clearTimeout(timer);
  if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

async function running(name: string): Promise<any> {
  return pollFor(`${name} Running`, async () => {
    const res = await api('GET', `/api/v1/experiments/default/${name}`);
    return res.body?.status?.phase === 'Running' ? res.body : undefined;
  }, 60_000, 250);
}

describeWithTools(['nft', 'ping', 'tc', 'ss'], "the daemon's control port is exempt from network faults in its own namespace", () => {
  beforeAll(async () => {
    pair = makeNetnsPair('ctl');
    stateDir = tempDir('ctl-state');
    dataDir = tempDir('ctl-data');
    daemon = faultlineIn(pair.a, ['daemon', '--listen', `${pair.addrA}:0`, '--token', TOKEN, '--state-dir', stateDir, '--log-level', 'warn']);
    daemonUrl = await listening(daemon);
    exporter = faultlineIn(pair.b, ['exporter', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--daemon', `node-a=${daemonUrl},${TOKEN}`, '--lease', LEASE, '--log-level', 'warn']);
    exporterUrl = await listening(exporter);
    await pollFor('the exporter sees the daemon', async () => (await api('GET', '/api/v1/health')).body?.daemons?.[0]?.up === true, 60_000, 250);
  });

  afterAll(async () => {
    try {
      await stopChild(exporter);
      await stopChild(daemon); // SIGTERM: the daemon reverts whatever is left
    } finally {
      pair?.destroy();
      for (const d of [stateDir, dataDir]) if (d) rmSync(d, { recursive: true, force: true });
    }
  });

  const cases: [string, () => Record<string, unknown>][] = [
    ['100% network-loss', () => ({ kind: 'network-loss', params: { percent: 100 } })],
    ["a partition from the exporter's address", () => ({ kind: 'network-partition', params: { peers: [pair.addrB] } })],
  ];

  it.each(cases)('%s in the daemon\u2019s namespace is real, and a stop through the exporter reverts it at once', async (what, fault) => {
    const name = `ctl-${what.startsWith('100') ? 'loss' : 'partition'}`;
    expect(pings()).toBe(true);
    const created = await api('POST', '/api/v1/experiments', {
      metadata: { name },
      spec: { fault: fault(), targets: { selector: { daemons: ['node-a'] }, mode: 'all' }, duration: '10m' },
    });
    expect([created.status, created.body?.error]).toEqual([201, undefined]);
    await running(name);

    // the fault is in the kernel and cuts everything else between the two namespaces
    expect(hasFaultTable()).toBe(true);
    expect(pings()).toBe(false);
    // the daemon's control port still answers the exporter's side
    expect((await fromB('GET', `${daemonUrl}/healthz`)).status).toBe(200);

    const stopped = await api('POST', `/api/v1/experiments/default/${name}/stop`);
    expect(stopped.status).toBe(200);
    // reverted by the stop (the lease is two minutes): gone by the time the stop answered, or very soon after
    await pollFor('the fault table gone', () => !hasFaultTable(), 10_000, 100);
    expect(pings()).toBe(true);
    const after = (await api('GET', `/api/v1/experiments/default/${name}`)).body;
    expect(after.status.targets.map((t: any) => t.phase)).not.toContain('Failed');
    const events = (await api('GET', `/api/v1/events?experiment=${name}`)).body;
    expect(JSON.stringify(events)).not.toContain('recover-failed');
  });

  // with peers the tc tree is the peers' one (htb default 0, filters to a shaped band); the exporter's own
  // address as the peer is the case where the daemon's answers would otherwise be shaped
  it.each([
    ['on all egress', false],
    ["toward the exporter's address only (peers)", true],
  ])("a bandwidth limit on the daemon's interface %s, saturated by a bulk flow: the fault is real and the stop answers at once", async (_what, withPeers) => {
    // a bulk flow A → B keeps the tbf's queue full: 256 KiB at 64 kbit/s is half a minute of waiting for
    // anything queued behind it, the daemon's answers included unless they pass beside the fault
    const node = (ns: string, code: string) => spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], { stdio: 'ignore' });
    const sink = node(pair.b, `require('net').createServer((s) => { s.resume(); s.on('error', () => {}); }).listen(5999, '${pair.addrB}')`);
    let bulk: ChildProcess | undefined;
    try {
      await pollFor('the sink listening', () => /:5999/.test(execFileSync('ip', ['netns', 'exec', pair.b, 'ss', '-ltn'], { encoding: 'utf8' })), 30_000, 100);
      bulk = node(pair.a, `const s = require('net').connect(5999, '${pair.addrB}', () => { const b = Buffer.alloc(65536); const w = () => { while (s.write(b)); }; s.on('drain', w); w(); }); s.on('error', () => {});`);
      const name = `ctl-bandwidth-${withPeers ? 'peers' : 'all'}`;
      const peerParams = withPeers ? { peers: [pair.addrB] } : {};
      const created = await api('POST', '/api/v1/experiments', {
        metadata: { name },
        spec: {
          fault: { kind: 'network-bandwidth', params: { rate: '64kbit', burst: '8KiB', limit: '256KiB', ...peerParams } },
          targets: { selector: { daemons: ['node-a'], interface: pair.ifA }, mode: 'all' },
          duration: '10m',
        },
      });
      expect([created.status, created.body?.error]).toEqual([201, undefined]);
      await running(name);
      const qdiscs = execFileSync('ip', ['netns', 'exec', pair.a, 'tc', 'qdisc', 'show', 'dev', pair.ifA], { encoding: 'utf8' });
      expect(qdiscs).toMatch(/tbf .* rate 64Kbit/);
      // the fault is real: a ping's answer waits in the full queue
      await pollFor('the queue full (pings time out)', () => !pings(), 30_000, 200);

      const stopped = await api('POST', `/api/v1/experiments/default/${name}/stop`);
      expect(stopped.status).toBe(200);
      await pollFor('the qdisc gone', () => !/tbf|htb/.test(execFileSync('ip', ['netns', 'exec', pair.a, 'tc', 'qdisc', 'show', 'dev', pair.ifA], { encoding: 'utf8' })), 10_000, 100);
      const after = (await api('GET', `/api/v1/experiments/default/${name}`)).body;
      expect(after.status.targets.map((t: any) => t.phase)).toEqual(['Recovered']);
    } finally {
      bulk?.kill('SIGKILL');
      sink.kill('SIGKILL');
    }
  });
});

describe("a transparent proxy on the daemon's own control port", () => {
  it('is refused with 400 naming /params/port, nothing journaled (tcp-fault and http-fault)', async () => {
    const d = await startTestDaemon();
    try {
      const port = Number(new URL(d.url).port);
      for (const [kind, params] of [
        ['tcp-fault', { port, toxics: [{ type: 'timeout', timeout: '0s' }] }],
        ['http-fault', { port, abort: { percent: 100 } }],
      ] as const) {
        const res = await d.req('POST', '/v1/faults', { id: `ctl-${kind}-${process.pid}`, kind, params, leaseSeconds: 60 });
        expect([kind, res.status, res.body.error?.details?.[0]?.field]).toEqual([kind, 400, '/params/port']);
        expect(res.body.error.message).toMatch(/control port/);
      }
      expect((await d.req('GET', '/v1/faults')).body.faults).toHaveLength(0);
      expect((await d.req('GET', '/healthz')).status).toBe(200);
    } finally {
      await d.destroy();
    }
  });
});
