import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../daemon/paths';
import { freePort } from '../tests/helpers/http';
import { buildPausee, monotonicToNow, resumedTimes, sigcontTrace, stopped } from './pausees';
import { killGroup, service } from './service';
import { printTable, summarize } from './stats';

// A fleet on one machine: FLEET_DAEMONS real node daemons, each in a network namespace of its own with
// its own address on a bridge (a simulated node; they share the host's pid namespace), one exporter
// process driving all of them, FLEET_EXPERIMENTS experiments running across them (process-pause on
// small idle processes, one network-loss table in each node's namespace, one cpu-stress at 1 % load per
// node). Measured:
//   create → all Running; the exporter's CPU and the lease renewals per second while they run;
//   /metrics scrape time and size; one Alertmanager webhook (faultline_stop="all") → every fault
//   reverted, per paused target (when the kernel saw its SIGCONT, and when it ran again: each logs
//   that moment itself, bench/pausee.c) and in all (every daemon reports no fault);
//   SSE delivery delay during that burst; the exporter's RSS.
// Everything runs as separate processes, as on real nodes; the bench removes every namespace it made.

const DAEMONS = Number(process.env.FLEET_DAEMONS ?? 50);
const EXPERIMENTS = Number(process.env.FLEET_EXPERIMENTS ?? 1000);
const ROUNDS = Number(process.env.FLEET_ROUNDS ?? 2);
const IDLE_SECONDS = Number(process.env.FLEET_IDLE_SECONDS ?? 20);
const LEASE = process.env.FLEET_LEASE ?? '30s';
const TOKEN = 'fleet-bench-token';
/** Every daemon listens on it at its node's own address (the request trace filters on it too). */
const DAEMON_PORT = 9471;
const BIN = path.join(PACKAGE_ROOT, 'bin/faultline.js');
// FLEET_EXPORTER_CPU=0 gives the exporter that CPU to itself and the daemons the others (taskset): a
// model of an exporter on a machine of its own, whose sends are not preempted by the daemons they wake.
const EXPORTER_CPU = process.env.FLEET_EXPORTER_CPU || undefined;
const pinned = (cpus: string | undefined, argv: string[]) => (cpus === undefined ? argv : ['taskset', '-c', cpus, ...argv]);
// The exporter's share of the CPUs. Every daemon (like every process started with setsid) is a scheduling
// group of its own (kernel autogroups), so the exporter weighs as much as one daemon: after each of its 50
// sends, the daemon it woke and the ones still working held both CPUs, and its sends went out over
// ~1.3 s, in daemon order (traced: ~25 ms between two batches, 1 ms of it its own CPU). Plain nice does
// nothing across groups. In production the exporter has a machine (or pod) of its own and never waits
// for the daemons' CPU, so by default its group gets nice -10 (/proc/<pid>/autogroup), which models that;
// FLEET_EXPORTER_NICE=0 measures it as one more process among the daemons.
const EXPORTER_NICE = Number(process.env.FLEET_EXPORTER_NICE ?? -10);
const DAEMON_NICE = Number(process.env.FLEET_DAEMON_NICE ?? 0);
function prioritize(pid: number, nice: number): string {
  if (nice === 0) return 'nice 0';
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(nice));
    return `its scheduling group at nice ${nice}`;
  } catch {
    os.setPriority(pid, nice); // no autogroups here: nice works across processes
    return `nice ${nice}`;
  }
}
const daemonCpus = EXPORTER_CPU === undefined ? undefined : os.cpus().map((_, i) => String(i)).filter((c) => c !== EXPORTER_CPU).join(',');
// Extra node flags for the exporter / the daemons, e.g. FLEET_EXPORTER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
const nodeArgs = (v: string | undefined) => (v ? v.split(/\s+/).filter(Boolean) : []);
/** The daemons run as the DaemonSet and the compose file start them (deploy/kubernetes/base/daemonset.yaml). */
const DAEMON_NODE_ARGS = process.env.FLEET_DAEMON_NODE_ARGS ?? '--max-semi-space-size=1';

const tag = (process.pid % 10000).toString(36);
const nsName = (i: number) => `flf-${tag}-${i}`;
const addr = (i: number) => `10.252.${Math.floor((i + 2) / 250)}.${((i + 2) % 250) + 1}`;
const bridge = `flfbr${tag}`;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function setupNetwork(n: number): () => void {
  const made: string[] = [];
  const cleanup = () => {
    for (const ns of made) {
      try {
        ip('netns', 'del', ns);
      } catch {
        /* gone */
      }
    }
    try {
      ip('link', 'del', bridge);
    } catch {
      /* gone */
    }
  };
  try {
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('addr', 'add', '10.252.0.1/16', 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    for (let i = 0; i < n; i++) {
      const ns = nsName(i);
      const host = `flf${tag}h${i}`;
      ip('netns', 'add', ns);
      made.push(ns);
      ip('link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      ip('link', 'set', host, 'master', bridge);
      ip('link', 'set', host, 'up');
      ip('-n', ns, 'addr', 'add', `${addr(i)}/16`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
  } catch (err) {
    cleanup();
    throw err;
  }
  return cleanup;
}

/**
 * GET with two retries: a kept-alive connection the server closes just as a request goes out fails
 * with "other side closed" (seen once in ten runs); the bench must not die of its own client's race.
 */
async function fetchGet(url: string, init?: RequestInit): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (err) {
      if (attempt >= 2) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** User + system CPU seconds of a process so far (/proc/<pid>/stat fields 14 and 15, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** CPU seconds used so far by every process on the machine, by what it is (from its command line). */
function cpuByGroup(): Map<number, { group: string; cpu: number }> {
  const out = new Map<number, { group: string; cpu: number }>();
  // softirq time taken in whatever process was running (the packets between the exporter and the
  // daemons cross veth pairs and a bridge): /proc/stat's machine-wide softirq column, under key -1
  const total = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  out.set(-1, { group: 'softirq', cpu: Number(total[7]) / 100 });
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      // kernel threads have no command line: grouped by name (ksoftirqd/1 → ksoftirqd)
      const group = cmd === '' ? readFileSync(`/proc/${pid}/comm`, 'utf8').trim().replace(/[/:].*$/, '')
        : / exporter /.test(cmd) ? 'exporter'
        : /watchdog/.test(cmd) ? 'watchdogs'
        : / daemon /.test(cmd) ? 'daemons'
        : /stress/.test(cmd) ? 'stressors'
        : pid === process.pid ? 'bench'
        : /pausee/.test(cmd) ? 'targets'
        : /events\/stream/.test(cmd) ? 'sse reader'
        : 'other';
      out.set(pid, { group, cpu: cpuSeconds(pid) });
    } catch {
      /* gone */
    }
  }
  return out;
}

/** CPU seconds per group between two cpuByGroup() readings (processes in both). */
function cpuDelta(a: Map<number, { group: string; cpu: number }>, b: Map<number, { group: string; cpu: number }>): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const [pid, x] of b) {
    const before = a.get(pid);
    if (!before) continue;
    sums[x.group] = Math.round(((sums[x.group] ?? 0) + x.cpu - before.cpu) * 100) / 100;
  }
  for (const g of Object.keys(sums)) if (sums[g] === 0) delete sums[g];
  return sums;
}

/** Nanoseconds on a CPU so far per thread name, summed over the processes (/proc/<pid>/task/<tid>/schedstat): FLEET_DEBUG's split of the daemons' CPU. */
function cpuByThread(pids: number[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of pids) {
    for (const tid of (() => { try { return readdirSync(`/proc/${pid}/task`); } catch { return []; } })()) {
      try {
        const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
        out.set(comm, (out.get(comm) ?? 0) + Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
      } catch {
        /* gone */
      }
    }
  }
  return out;
}

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : NaN;
}

// The event stream's reader, a process of its own: per event it prints "<type> <receive − event time, ms>
// <monotonic ns>". Like the paused targets' own clocks, it keeps the measurement out of the bench process,
// which shares the CPUs with the 50 busy daemons at nice 0 and once saw events late that had left on time.
const SSE_READER = `
const http = require('http');
let buf = '';
http.get(process.argv[1], (res) => {
  process.stdout.write('ready\\n');
  res.on('data', (d) => {
    buf += d.toString();
    const out = [];
    let i;
    while ((i = buf.indexOf('\\n\\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = block.split('\\n').find((l) => l.startsWith('data: '));
      if (!data) continue;
      const ev = JSON.parse(data.slice(6));
      out.push(ev.type + ' ' + (Date.now() - Date.parse(ev.time)) + ' ' + process.hrtime.bigint());
    }
    if (out.length) process.stdout.write(out.join('\\n') + '\\n');
  });
}).on('error', () => process.exit(1));
`;

/** Keeps an SSE connection open (SSE_READER, its scheduling group at nice -10 like the exporter's). */
async function sseProbe(url: string): Promise<{ delays: number[]; ended: () => number; endedAt: (n: number) => number | undefined; close: () => void }> {
  const child = spawn(process.execPath, ['-e', SSE_READER, `${url}/api/v1/events/stream`], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  prioritize(child.pid!, -10);
  const delays: number[] = [];
  const aborted: bigint[] = [];
  let buf = '';
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the SSE reader exited ${code}`)));
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const line of lines) {
        if (line === 'ready') resolve();
        const [type, delay, ns] = line.split(' ');
        if (ns === undefined) continue;
        delays.push(Number(delay));
        if (type === 'aborted') aborted.push(BigInt(ns));
      }
    });
  });
  return {
    delays,
    ended: () => aborted.length,
    // when the reader received the n-th Aborted event, on this process's performance.now() clock
    endedAt: (n) => (aborted.length >= n ? monotonicToNow(aborted[n - 1]) : undefined),
    close: () => {
      child.removeAllListeners('exit');
      child.kill('SIGKILL');
    },
  };
}

async function poll(what: string, fn: () => Promise<boolean>, timeoutMs: number, everyMs = 250): Promise<number> {
  const t0 = performance.now();
  while (!(await fn())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return performance.now() - t0;
}

export async function benchFleet(): Promise<unknown> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `fl-bench-fleet-${process.pid}-`));
  const cleanupNet = setupNetwork(DAEMONS);
  const procs: ChildProcess[] = [];
  const sleepers: number[] = [];
  let trace: ReturnType<typeof sigcontTrace>;
  try {
    // 1. the daemons, one per namespace
    const t0 = performance.now();
    const daemons = await Promise.all(
      Array.from({ length: DAEMONS }, (_, i) => {
        mkdirSync(path.join(dir, `d${i}`));
        return service(
          pinned(daemonCpus, ['ip', 'netns', 'exec', nsName(i), process.execPath, ...nodeArgs(DAEMON_NODE_ARGS), BIN, 'daemon', '--listen', `${addr(i)}:${DAEMON_PORT}`, '--state-dir', path.join(dir, `d${i}`), '--token', TOKEN, '--log-level', 'warn']),
          /listening/i,
        );
      }),
    );
    procs.push(...daemons);
    // FLEET_DAEMON_NICE gives each daemon's scheduling group that nice (default 0: as a daemon runs)
    const daemonPriority = daemons.map((d) => prioritize(d.pid!, DAEMON_NICE))[0];
    const daemonsUpMs = performance.now() - t0;

    // 2. the exporter, its own process
    const port = await freePort();
    const exporter = await service(
      pinned(EXPORTER_CPU, [process.execPath, ...nodeArgs(process.env.FLEET_EXPORTER_NODE_ARGS), BIN, 'exporter', '--listen', `127.0.0.1:${port}`, '--data-dir', path.join(dir, 'x'), '--lease', LEASE, '--log-level', 'warn',
        ...Array.from({ length: DAEMONS }, (_, i) => ['--daemon', `node-${i}=http://${addr(i)}:${DAEMON_PORT},${TOKEN}`]).flat()]),
      /listening/,
    );
    procs.push(exporter);
    const exporterPriority = prioritize(exporter.pid!, EXPORTER_NICE);
    const url = `http://127.0.0.1:${port}`;
    await poll('every daemon up', async () => {
      const h = (await (await fetchGet(`${url}/api/v1/health`)).json()) as { daemons: { up: boolean }[] };
      return h.daemons.filter((d) => d.up).length === DAEMONS;
    }, 60_000);
    const rssIdleEmpty = rssMB(exporter.pid!);

    // a connection reset under a POST (seen under load 25) is retried; a create that did land the first
    // time then answers 409 "already exists", which counts as done
    const post = async (p: string, body: unknown) => {
      for (let attempt = 0; ; attempt++) {
        let r: Response;
        try {
          r = await fetch(url + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        } catch (err) {
          if (attempt >= 2) throw err;
          await new Promise((res) => setTimeout(res, 100));
          continue;
        }
        if (r.status === 409 && attempt > 0 && /already exists/.test(await r.clone().text())) return {};
        if (!r.ok) throw new Error(`${p}: ${r.status} ${await r.text()}`);
        return r.json();
      }
    };
    const countRunning = async () => {
      const r = (await (await fetchGet(`${url}/api/v1/experiments?phase=Running`)).json()) as { items: unknown[] };
      return r.items.length;
    };

    const mix = { 'process-pause': 0, 'network-loss': 0, 'cpu-stress': 0 };
    const rounds: Record<string, unknown>[] = [];
    const abortPerTarget: number[] = [];
    const sigcontPerTarget: number[] = [];
    /** Per round: when the first and the last daemon received its recover request (ms after the webhook). */
    const requestsReached: { first: number; last: number }[] = [];
    const abortAll: number[] = [];
    /** CPU seconds each kind of process used from the webhook until every run was Aborted. */
    const abortCpu: Record<string, number>[] = [];
    const sseDelays: number[] = [];
    let idle: Record<string, number | Record<string, number>> = {};
    let scrape: Record<string, number> = {};
    let rssRunning = 0;
    const pausee = buildPausee(dir);
    for (let round = 0; round < ROUNDS; round++) {
      const resumeLog = path.join(dir, `resumed-${round}.log`);
      const resumeFd = openSync(resumeLog, 'a');
      // 3. EXPERIMENTS experiments: 1 in 20 cpu-stress at 1 %, the rest half pauses, half loss tables
      const pausedPids: number[] = [];
      const pausedNode: number[] = [];
      const specs = Array.from({ length: EXPERIMENTS }, (_, i) => {
        const node = `node-${i % DAEMONS}`;
        const name = `fleet-${round}-${i}`;
        // one fault of a kind per target (engine/overlap.ts): a loss table and a stressor per node, the rest pauses
        if (i >= DAEMONS && i < 2 * DAEMONS) {
          mix['cpu-stress'] += round === 0 ? 1 : 0;
          return { name, spec: { fault: { kind: 'cpu-stress', params: { workers: 1, load: 1 } }, targets: { selector: { daemons: [node] }, mode: 'all' }, duration: '30m' } };
        }
        if (i >= 2 * DAEMONS) {
          const s = spawn(pausee, [], { stdio: ['ignore', 'ignore', 'ignore', resumeFd], detached: true });
          sleepers.push(s.pid!);
          pausedPids.push(s.pid!);
          pausedNode.push(i % DAEMONS);
          mix['process-pause'] += round === 0 ? 1 : 0;
          return { name, spec: { fault: { kind: 'process-pause', params: {} }, targets: { selector: { pids: [s.pid!], daemons: [node] }, mode: 'all' }, duration: '30m' } };
        }
        mix['network-loss'] += round === 0 ? 1 : 0;
        return {
          name,
          spec: { fault: { kind: 'network-loss', params: { percent: 1, direction: 'egress', peers: [`192.0.2.${i % 250}/32`] } }, targets: { selector: { daemons: [node] }, mode: 'all' }, duration: '30m' },
        };
      });
      const createCpu0 = cpuByGroup();
      const tCreate = performance.now();
      const createLatency: number[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (next < specs.length) {
            const s = specs[next++];
            const t = performance.now();
            await post('/api/v1/experiments', { metadata: { name: s.name }, spec: s.spec });
            createLatency.push(performance.now() - t);
          }
        }),
      );
      const createdMs = performance.now() - tCreate;
      await poll('all Running', async () => (await countRunning()) === EXPERIMENTS && pausedPids.every(stopped), 300_000, 500);
      const allRunningMs = performance.now() - tCreate;
      const createCpu = cpuDelta(createCpu0, cpuByGroup());

      if (round === 0) {
        // 4. idle-running: exporter CPU and lease renewals per second (daemon request counters)
        const reqs = async () => {
          let total = 0;
          for (let i = 0; i < DAEMONS; i++) {
            const text = await (await fetchGet(`http://${addr(i)}:${DAEMON_PORT}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
            for (const m of text.matchAll(/^faultline_daemon_http_requests_total\{[^}]*route="[^"]*lease[^"]*"[^}]*\} (\d+)/gm)) total += Number(m[1]);
          }
          return total;
        };
        const r0 = await reqs();
        const c0 = cpuSeconds(exporter.pid!);
        const g0 = cpuByGroup();
        const w0 = performance.now();
        await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
        const secs = (performance.now() - w0) / 1000;
        const c1 = cpuSeconds(exporter.pid!);
        const g1 = cpuByGroup();
        const r1 = await reqs();
        // What a node pays for its daemon at rest with its share of the experiments running (mostly the
        // lease renewals: one request per lease/3), and what its watchdog holds: the per-node cost that
        // 1 000 or 10 000 nodes multiply.
        const percent = (cpu: number) => Math.round((cpu / secs) * 1000) / 10;
        const byGroup = Object.fromEntries(Object.entries(cpuDelta(g0, g1)).map(([g, cpu]) => [g, percent(cpu)]));
        const mean = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10;
        const watchdogs = [...g1].filter(([, x]) => x.group === 'watchdogs').map(([pid]) => pid);
        idle = {
          seconds: Math.round(secs),
          exporterCpuPercent: percent(c1 - c0),
          renewalRequestsPerSecond: Math.round(((r1 - r0) / secs) * 10) / 10,
          daemonCpuPercentEach: Math.round(((byGroup.daemons ?? 0) / DAEMONS) * 100) / 100,
          daemonRssMBEach: mean(daemons.map((d) => rssMB(d.pid!))),
          watchdogRssMBEach: watchdogs.length ? mean(watchdogs.map((pid) => rssMB(pid))) : NaN,
          cpuPercentByProcess: byGroup,
        };
        // 5. /metrics at this size
        const times: number[] = [];
        let bytes = 0;
        for (let i = 0; i < 20; i++) {
          const t = performance.now();
          bytes = (await (await fetchGet(`${url}/metrics`)).text()).length;
          times.push(performance.now() - t);
        }
        const s = summarize(times);
        scrape = { p50: s.p50, p99: s.p99, bytes };
        rssRunning = rssMB(exporter.pid!);
      }
      rounds.push({ round, createdMs: Math.round(createdMs), allRunningMs: Math.round(allRunningMs), createP50: summarize(createLatency).p50, createP99: summarize(createLatency).p99, cpuSeconds: createCpu });

      // 6. one webhook aborts everything: per paused target, and until no daemon holds a fault
      const sse = await sseProbe(url);
      await new Promise((r) => setTimeout(r, 300));
      trace = sigcontTrace(`faultline-fleet-${tag}`, { requestsToPort: DAEMON_PORT });
      const cpu0 = cpuByGroup();
      const threads0 = process.env.FLEET_DEBUG ? cpuByThread(daemons.map((d) => d.pid!)) : undefined;
      const tAbort = performance.now();
      if (process.env.FLEET_DEBUG) console.log('abort at monotonic µs', process.hrtime.bigint() / 1000n);
      const answer = await post('/api/v1/alerts/alertmanager', {
        version: '4', groupKey: '{}', status: 'firing', receiver: 'faultline', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://127.0.0.1:9093',
        alerts: [{ status: 'firing', labels: { alertname: `FleetStop${round}`, faultline_stop: 'all' }, annotations: {}, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: `fleet${round}` }],
      });
      if (process.env.FLEET_DEBUG) console.log(`webhook answered after ${Math.round(performance.now() - tAbort)} ms: ${(answer as { aborted: unknown[] }).aborted.length} aborted`);
      const r = await resumedTimes(resumeLog, pausedPids, 60_000);
      closeSync(resumeFd);
      if (r.left && process.env.FLEET_DEBUG) console.log(JSON.stringify(await (await fetchGet(`${url}/api/v1/experiments`)).json()).slice(0, 3000));
      if (r.left && process.env.FLEET_DEBUG) console.log(execFileSync('ps', ['-o', 'pid,stat,cmd', '-p', pausedPids.join(',')], { encoding: 'utf8' }));
      if (r.left) throw new Error(`${r.left} paused targets still stopped 60 s after the abort`);
      abortPerTarget.push(...[...r.at.values()].map((t) => t - tAbort));
      const sent = trace?.read(pausedPids);
      const requestsAt = trace?.requests?.();
      trace?.close();
      trace = undefined;
      if (sent) {
        if (sent.size !== pausedPids.length) throw new Error(`the kernel trace saw ${sent.size} of ${pausedPids.length} SIGCONTs`);
        sigcontPerTarget.push(...[...sent.values()].map((t) => t - tAbort));
      }
      if (requestsAt) {
        // each daemon's recover request, as its node's kernel received it
        const reached = [...requestsAt.values()].filter((t) => t >= tAbort).map((t) => t - tAbort);
        if (reached.length < DAEMONS) throw new Error(`the kernel trace saw requests reach ${reached.length} of ${DAEMONS} daemons after the abort`);
        requestsReached.push({ first: Math.min(...reached), last: Math.max(...reached) });
      }
      if (process.env.FLEET_DEBUG) {
        const pct = (xs: number[]) => `p50 ${Math.round(summarize(xs).p50)} p99 ${Math.round(summarize(xs).p99)}`;
        console.log(`round ${round}: SIGCONT ${sent ? pct([...sent.values()].map((t) => t - tAbort)) : 'n/a'}; running again ${pct([...r.at.values()].map((t) => t - tAbort))}`);
        // per node: when its first and its last paused target got SIGCONT and ran again (ms after the webhook)
        const byNode = new Map<number, number[]>();
        pausedPids.forEach((pid, j) => byNode.set(pausedNode[j], [...(byNode.get(pausedNode[j]) ?? []), pid]));
        const span = (pids: number[], at?: Map<number, number>) => (at ? `${Math.round(Math.min(...pids.map((p) => at.get(p)!)) - tAbort)}-${Math.round(Math.max(...pids.map((p) => at.get(p)!)) - tAbort)}` : '');
        const rows = [...byNode].map(([n, pids]) => [n, span(pids, sent), span(pids, r.at)]).sort((a, b) => parseInt(String(a[1])) - parseInt(String(b[1])));
        console.log('node SIGCONT running:', rows.map((x) => x.join(' ')).join(' | '));
        const recovers = await Promise.all(
          Array.from({ length: DAEMONS }, async (_, i) => {
            const text = await (await fetchGet(`http://${addr(i)}:${DAEMON_PORT}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
            return [...text.matchAll(/^faultline_daemon_http_requests_total\{[^}]*route="([^"]*recover[^"]*)"[^}]*\} (\d+)/gm)].map((m) => `${m[1]}=${m[2]}`).join(',');
          }),
        );
        console.log('recover requests per daemon so far:', recovers.join(' | '));
      }
      // every run recorded Aborted: the exporter writes that once its daemon answered the recover (read from
      // the event stream, not by polling 50 daemons every few ms while they work); then checked on each daemon
      await poll('every run aborted', async () => sse.ended() >= EXPERIMENTS, 120_000, 5);
      abortAll.push(sse.endedAt(EXPERIMENTS)! - tAbort);
      abortCpu.push(cpuDelta(cpu0, cpuByGroup()));
      if (threads0) console.log('daemons\' CPU ms by thread during the abort:', JSON.stringify(Object.fromEntries([...cpuByThread(daemons.map((d) => d.pid!))].map(([k, v]) => [k, Math.round((v - (threads0.get(k) ?? 0)) / 1e5) / 10]))));
      const counts = await Promise.all(
        Array.from({ length: DAEMONS }, async (_, i) => ((await (await fetchGet(`http://${addr(i)}:${DAEMON_PORT}/v1/faults`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { faults: unknown[] }).faults.length),
      );
      if (counts.some((c) => c > 0)) throw new Error(`faults left after every run was aborted: ${counts.join(',')}`);
      await new Promise((r) => setTimeout(r, 500));
      sse.close();
      sseDelays.push(...sse.delays);
      await post('/api/v1/alerts/alertmanager', {
        version: '4', groupKey: '{}', status: 'resolved', receiver: 'faultline', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://127.0.0.1:9093',
        alerts: [{ status: 'resolved', labels: { alertname: `FleetStop${round}`, faultline_stop: 'all' }, annotations: {}, startsAt: new Date().toISOString(), endsAt: new Date().toISOString(), generatorURL: '', fingerprint: `fleet${round}` }],
      });
    }
    const rssAfter = rssMB(exporter.pid!);

    const perTarget = summarize(abortPerTarget);
    const sigcont = sigcontPerTarget.length ? summarize(sigcontPerTarget) : undefined;
    const all = summarize(abortAll);
    const sse = summarize(sseDelays);
    printTable(`fleet: ${DAEMONS} daemons, ${EXPERIMENTS} experiments (${JSON.stringify(mix)}), exporter: ${exporterPriority}, daemons: ${daemonPriority}${DAEMON_NODE_ARGS ? `, node ${DAEMON_NODE_ARGS}` : ''}`, [
      ...rounds.map((r) => ({ measure: `round ${r.round}: create → all Running (ms)`, value: r.allRunningMs, detail: `POSTs done ${r.createdMs} ms, POST p50 ${r.createP50} p99 ${r.createP99}; CPU s ${JSON.stringify(r.cpuSeconds)}` })),
      { measure: 'abort webhook → paused target sent SIGCONT p50 (ms)', value: sigcont?.p50 ?? 'n/a', detail: sigcont ? `p99 ${sigcont.p99}, max ${sigcont.max}, n ${sigcont.n} (kernel trace)` : 'no tracefs here' },
      ...(requestsReached.length ? [{ measure: 'abort webhook → recover request at the last daemon (ms)', value: Math.max(...requestsReached.map((r) => Math.round(r.last))), detail: `per round first-last: ${requestsReached.map((r) => `${Math.round(r.first)}-${Math.round(r.last)}`).join(', ')} (kernel trace)` }] : []),
      { measure: 'abort webhook → paused target running again p50 (ms)', value: perTarget.p50, detail: `p99 ${perTarget.p99}, max ${perTarget.max}, n ${perTarget.n}` },
      { measure: 'abort webhook → every run Aborted (ms)', value: all.p50, detail: `rounds: ${abortAll.map((x) => Math.round(x)).join(', ')}` },
      { measure: 'CPU s during the abort, by process', value: Object.values(abortCpu[0] ?? {}).reduce((a, b) => a + b, 0), detail: JSON.stringify(abortCpu) },
      { measure: 'SSE delay during the abort p50 (ms)', value: sse.p50, detail: `p99 ${sse.p99}, events ${sse.n}` },
      { measure: 'exporter CPU while running (%)', value: idle.exporterCpuPercent, detail: `over ${idle.seconds} s` },
      { measure: 'lease renewal requests/s (all daemons)', value: idle.renewalRequestsPerSecond, detail: `lease ${LEASE}` },
      { measure: 'one daemon at rest: CPU (%)', value: idle.daemonCpuPercentEach, detail: `${EXPERIMENTS / DAEMONS} faults each; RSS ${idle.daemonRssMBEach} MB, its watchdog ${idle.watchdogRssMBEach} MB; CPU % by process ${JSON.stringify(idle.cpuPercentByProcess)}` },
      { measure: '/metrics scrape p50 (ms)', value: scrape.p50, detail: `p99 ${scrape.p99}, ${scrape.bytes} bytes` },
      { measure: 'exporter RSS (MB)', value: rssRunning, detail: `empty ${rssIdleEmpty}, after ${rssAfter}` },
      { measure: 'daemons up (ms)', value: Math.round(daemonsUpMs), detail: `${DAEMONS} processes started at once` },
    ]);
    return {
      daemons: DAEMONS, experiments: EXPERIMENTS, mix, lease: LEASE, daemonNodeArgs: DAEMON_NODE_ARGS, exporterCpu: EXPORTER_CPU ?? 'shared with the daemons', exporterPriority, daemonPriority, rounds,
      abortAllMs: { p50: perTarget.p50, p99: perTarget.p99, max: perTarget.max, n: perTarget.n, allRevertedMs: abortAll.map((x) => Math.round(x)) },
      ...(sigcont ? { abortSigcontMs: { p50: sigcont.p50, p99: sigcont.p99, max: sigcont.max, n: sigcont.n } } : {}),
      ...(requestsReached.length ? { abortRequestsReachedMs: requestsReached.map((r) => ({ first: Math.round(r.first), last: Math.round(r.last) })) } : {}),
      sseDuringAbortMs: { p50: sse.p50, p99: sse.p99, events: sse.n },
      abortCpuSeconds: abortCpu,
      idleRunning: idle, metricsScrape: scrape,
      exporterRssMB: rssRunning, exporterRssEmptyMB: rssIdleEmpty, exporterRssAfterMB: rssAfter, daemonsUpMs: Math.round(daemonsUpMs),
    };
  } finally {
    for (const c of procs.reverse()) killGroup(c, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 3000));
    for (const c of procs) killGroup(c, 'SIGKILL');
    for (const pid of sleepers) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    trace?.close();
    cleanupNet();
    rmSync(dir, { recursive: true, force: true });
  }
}
