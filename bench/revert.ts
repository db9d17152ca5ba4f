import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../daemon/paths';
import { freePort, request } from '../tests/helpers/http';
import { buildPausee, listening, resumedTimes, sigcontTrace, stopped } from './pausees';
import { killGroup, service } from './service';
import { printTable, summarize } from './stats';

// Reverting pauses on a saturated node: REVERT_HOGS busy loops, each a scheduling group of its own like a
// node's workloads, keep every CPU busy. Per round, REVERT_TARGETS processes are paused and continued
// again, side by side in turn: through a daemon (paused through its API, continued by one POST
// /v1/recover, as an exporter's abort does) and directly (SIGSTOP and SIGCONT from this process: the floor
// on this host). Measured from the request (or the first kill): when the first and the last target got
// its SIGCONT (the kernel's trace; where tracefs is not there, those columns say n/a), and when the last
// one ran again (its own log).

const ROUNDS = Number(process.env.REVERT_ROUNDS ?? 40);
const TARGETS = Number(process.env.REVERT_TARGETS ?? 18);
const HOGS = Number(process.env.REVERT_HOGS ?? 4 * os.cpus().length);
const TOKEN = 'revert-bench-token';
const BIN = path.join(PACKAGE_ROOT, 'bin/faultline.js');
/** Another build's bin/faultline.js: its daemon is a third variant, round by round beside this one (an A/B of daemon code). */
const COMPARE = process.env.REVERT_COMPARE;

interface Variant {
  label: string;
  /** The daemon's API; none: this process signals the targets itself. */
  url?: string;
  lastSigcont: number[];
  spread: number[];
  running: number[];
  /** Until the daemon answered, or the kill() loop ended. */
  returned: number[];
}

/** A daemon request that must succeed. */
async function call(url: string, method: string, p: string, body?: unknown): Promise<void> {
  const r = await request(url, method, p, body, { token: TOKEN });
  if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
}

export async function benchRevert(): Promise<unknown> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `fl-bench-revert-${process.pid}-`));
  const trace = sigcontTrace(`faultline-revert-${process.pid}`);
  const hogs: ChildProcess[] = [];
  const variants: Variant[] = [];
  const daemons: ChildProcess[] = [];
  try {
    const pausee = buildPausee(dir);
    for (const [label, bin] of [['daemon', BIN], ...(COMPARE ? [['daemon (compare)', COMPARE]] : [])]) {
      const port = await freePort();
      const stateDir = path.join(dir, `d${daemons.length}`);
      mkdirSync(stateDir);
      daemons.push(await service([process.execPath, bin, 'daemon', '--listen', `127.0.0.1:${port}`, '--state-dir', stateDir, '--token', TOKEN, '--log-level', 'warn'], /listening/i));
      variants.push({ label, url: `http://127.0.0.1:${port}`, lastSigcont: [], spread: [], running: [], returned: [] });
    }
    variants.push({ label: 'direct kill()', lastSigcont: [], spread: [], running: [], returned: [] });
    for (let i = 0; i < HOGS; i++) hogs.push(spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore', detached: true }));

    for (let round = 0; round < ROUNDS; round++) {
      // rotate which goes first, so none always meets another's leftovers
      for (const v of variants.map((_, i) => variants[(i + round) % variants.length])) {
        const log = path.join(dir, `resumed-${round}-${v.label.replace(/\W/g, '')}.log`);
        const fd = openSync(log, 'a');
        const targets = Array.from({ length: TARGETS }, () => spawn(pausee, [], { stdio: ['ignore', 'ignore', 'ignore', fd], detached: true }));
        const pids = targets.map((t) => t.pid!);
        try {
          // a SIGCONT before its handler is in place would go unlogged
          while (!pids.every(listening)) await new Promise((r) => setTimeout(r, 2));
          const ids = pids.map((pid, i) => `r${round}-${i}`);
          if (v.url) await Promise.all(ids.map((id, i) => call(v.url!, 'POST', '/v1/faults', { id, kind: 'process-pause', params: {}, target: { pid: pids[i] }, leaseSeconds: 300 })));
          else for (const pid of pids) process.kill(pid, 'SIGSTOP');
          while (!pids.every(stopped)) await new Promise((r) => setTimeout(r, 5));
          trace?.read([]); // empties the buffer
          const t0 = performance.now();
          if (v.url) await call(v.url, 'POST', '/v1/recover', { ids });
          else for (const pid of pids) process.kill(pid, 'SIGCONT');
          v.returned.push(performance.now() - t0);
          const r = await resumedTimes(log, pids, 30_000);
          if (r.left) throw new Error(`${r.left} targets of ${v.label} never ran again`);
          if (trace) {
            const sent = [...trace.read(pids).values()];
            if (sent.length !== pids.length) throw new Error(`the kernel trace saw ${sent.length} of ${pids.length} SIGCONTs`);
            v.lastSigcont.push(Math.max(...sent) - t0);
            v.spread.push(Math.max(...sent) - Math.min(...sent));
          }
          v.running.push(Math.max(...r.at.values()) - t0);
        } finally {
          for (const t of targets) t.kill('SIGKILL');
          closeSync(fd);
        }
      }
    }
  } finally {
    for (const h of hogs) killGroup(h, 'SIGKILL');
    // SIGTERM: the daemon stops its watchdog too, which would otherwise still be writing to `dir`
    for (const daemon of daemons.filter((x) => x.exitCode === null)) {
      const exited = once(daemon, 'exit');
      killGroup(daemon, 'SIGTERM');
      await exited;
    }
    trace?.close();
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }

  const rows = variants.map((v) => {
    const [last, spread, running, returned] = [summarize(v.lastSigcont), summarize(v.spread), summarize(v.running), summarize(v.returned)];
    const na = (x: number) => (v.lastSigcont.length ? x : 'n/a');
    return { variant: v.label, last_sigcont_p50_ms: na(last.p50), last_sigcont_p99_ms: na(last.p99), spread_p50_ms: na(spread.p50), spread_p99_ms: na(spread.p99), all_running_p50_ms: running.p50, all_running_p99_ms: running.p99, returned_p50_ms: returned.p50 };
  });
  printTable(`revert ${TARGETS} pauses at once, ${HOGS} busy loops on ${os.cpus().length} CPUs, ${ROUNDS} rounds each (returned: the daemon's answer, or the end of the kill() loop)`, rows);
  const d = rows[0];
  const direct = rows[rows.length - 1];
  const ratio = (a: number | string, b: number | string) => (typeof a === 'number' && typeof b === 'number' ? `${(a / b).toFixed(1)}×` : 'n/a');
  console.log(`  daemon / direct: last SIGCONT p50 ${ratio(d.last_sigcont_p50_ms, direct.last_sigcont_p50_ms)}, p99 ${ratio(d.last_sigcont_p99_ms, direct.last_sigcont_p99_ms)}; all running again p50 ${ratio(d.all_running_p50_ms, direct.all_running_p50_ms)}, p99 ${ratio(d.all_running_p99_ms, direct.all_running_p99_ms)}`);
  return { targets: TARGETS, hogs: HOGS, cpus: os.cpus().length, rounds: ROUNDS, variants: rows };
}
