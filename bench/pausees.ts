import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../daemon/paths';

// Paused targets for the benches that time reverts (fleet, revert): processes that log when they run
// again (bench/pausee.c), and the kernel's trace of when each got its SIGCONT.

/** Whether the process shows state T (stopped) in /proc. */
export function stopped(pid: number): boolean {
  try {
    const t = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return t[t.lastIndexOf(')') + 2] === 'T';
  } catch {
    return false;
  }
}

/** Whether the pausee has installed its SIGCONT handler (SigCgt in /proc/<pid>/status has signal 18). */
export function listening(pid: number): boolean {
  try {
    const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return !!m && (BigInt(`0x${m[1]}`) & (1n << 17n)) !== 0n;
  } catch {
    return false;
  }
}

/** A CLOCK_MONOTONIC time in ns (process.hrtime's clock, which the pausees and the SSE reader use) on performance.now()'s. */
export function monotonicToNow(ns: bigint): number {
  return performance.now() - Number(process.hrtime.bigint() - ns) / 1e6;
}

/** bench/pausee.c, compiled into `dir`: the paused targets, which log when they run again. */
export function buildPausee(dir: string): string {
  const out = path.join(dir, 'pausee');
  try {
    execFileSync('cc', ['-O2', '-o', out, path.join(PACKAGE_ROOT, 'bench/pausee.c')], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`the benches need a C compiler (cc) for their paused targets: ${(err as Error).message}`);
  }
  return out;
}

/**
 * Waits until every pid has a line in `log` (written by its SIGCONT handler, monotonic ns) or `timeoutMs`
 * passes; returns each one's resume time on this process's performance.now() clock, and how many never ran.
 */
export async function resumedTimes(log: string, pids: number[], timeoutMs: number): Promise<{ at: Map<number, number>; left: number }> {
  const want = new Set(pids);
  const seen = new Map<number, bigint>();
  const deadline = performance.now() + timeoutMs;
  while (seen.size < want.size && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      const [pid, ns] = line.split(' ');
      if (ns && want.has(Number(pid)) && !seen.has(Number(pid))) seen.set(Number(pid), BigInt(ns));
    }
  }
  return { at: new Map([...seen].map(([pid, ns]) => [pid, monotonicToNow(ns)])), left: want.size - seen.size };
}

/**
 * The kernel's own record of every SIGCONT sent (tracefs event signal:signal_generate in an instance of
 * the bench's own, clock CLOCK_MONOTONIC): the moment a daemon reverted a pause, whatever the CPUs do
 * after it. Together with each target's log of when it ran again, this splits a revert's time into the
 * daemon's part and the target's wait for a CPU. With `requestsToPort` it also records (tcp:tcp_probe)
 * when each address listening on that port first received request bytes: the fan-out of the requests
 * that carry the reverts. Undefined where tracefs is not mounted or writable: the benches then report
 * only "running again". Each read() also empties the buffer, for the next round.
 */
export function sigcontTrace(
  name: string,
  opts: { requestsToPort?: number } = {},
): { read: (pids: number[]) => Map<number, number>; requests?: () => Map<string, number>; close: () => void } | undefined {
  const dir = path.join('/sys/kernel/tracing/instances', name);
  try {
    mkdirSync(dir);
  } catch {
    return undefined;
  }
  let requests = false;
  const close = () => {
    try {
      writeFileSync(path.join(dir, 'events/signal/signal_generate/enable'), '0');
      if (requests) writeFileSync(path.join(dir, 'events/tcp/tcp_probe/enable'), '0');
      rmdirSync(dir);
    } catch {
      /* gone */
    }
  };
  try {
    writeFileSync(path.join(dir, 'trace_clock'), 'mono');
    writeFileSync(path.join(dir, 'buffer_size_kb'), '4096');
    writeFileSync(path.join(dir, 'events/signal/signal_generate/filter'), 'sig == 18');
    writeFileSync(path.join(dir, 'events/signal/signal_generate/enable'), '1');
  } catch {
    close();
    return undefined;
  }
  if (opts.requestsToPort) {
    try {
      // a segment with data reaching a socket whose local port is the daemons' (tcp_probe: the receiving side)
      writeFileSync(path.join(dir, 'events/tcp/tcp_probe/filter'), `sport == ${opts.requestsToPort} && data_len > 0`);
      writeFileSync(path.join(dir, 'events/tcp/tcp_probe/enable'), '1');
      requests = true;
    } catch {
      /* a kernel without the tcp tracepoints: SIGCONTs only */
    }
  }
  let arrived = new Map<string, number>();
  return {
    // the first SIGCONT each pid got, on this process's performance.now() clock
    read: (pids) => {
      const want = new Set(pids);
      const at = new Map<number, number>();
      const text = readFileSync(path.join(dir, 'trace'), 'utf8');
      const when = (s: string, us: string) => monotonicToNow(BigInt(s) * 1_000_000_000n + BigInt(us) * 1000n);
      for (const m of text.matchAll(/ (\d+)\.(\d{6}): signal_generate: sig=18 .* pid=(\d+) /g)) {
        const pid = Number(m[3]);
        if (want.has(pid) && !at.has(pid)) at.set(pid, when(m[1], m[2]));
      }
      arrived = new Map();
      for (const m of text.matchAll(/ (\d+)\.(\d{6}): tcp_probe: family=\S+ src=(\S+) /g)) if (!arrived.has(m[3])) arrived.set(m[3], when(m[1], m[2]));
      writeFileSync(path.join(dir, 'trace'), '');
      return at;
    },
    // with requestsToPort: the first request bytes each listening address got, as of the last read()
    ...(requests ? { requests: () => arrived } : {}),
    close,
  };
}
