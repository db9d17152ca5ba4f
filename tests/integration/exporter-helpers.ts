import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import type { DaemonConfig } from '../../exporter/daemons';
import { startExporter, type RunningExporter, type StartOptions } from '../../exporter/index';
import type { Reply } from '../helpers/http';
import { freePort, request } from '../helpers/http';
import { spawnExeced } from '../helpers/processes';
import { FAULTLINE, Proc } from '../helpers/stack';
import { tempDir } from '../helpers/tmp';
import { pollFor } from '../helpers/wait';
import { startTestDaemon, type TestDaemon } from './daemon-helpers';

// Shared by the exporter and CLI tests: a real daemon and a real exporter on random loopback
// ports with throwaway directories, a JSON client, polling with deadlines, and `sleep` processes
// to pause (process-pause is the easiest real fault to observe: /proc/PID/stat state T).

export const ROOT = path.resolve(__dirname, '../..');

export { tempDir, startTestDaemon };

export { request, type Reply } from '../helpers/http';

export function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  return pollFor(what, fn, timeoutMs, everyMs);
}

export interface Stack {
  daemon: TestDaemon;
  ex: RunningExporter;
  url: string;
  api(method: string, p: string, body?: unknown): Promise<Reply>;
  close(): Promise<void>;
}

const quiet = () => pino({ level: 'silent' });

/** A daemon and an exporter driving it (plus `extraDaemons`, e.g. one that is not there). */
export async function startStack(opts: Partial<StartOptions> & { extraDaemons?: DaemonConfig[] } = {}): Promise<Stack> {
  const daemon = await startTestDaemon();
  const dataDir = opts.dataDir ?? tempDir('x');
  const ex = await startExporter({
    listen: '127.0.0.1:0',
    dataDir,
    daemons: [{ url: daemon.url, name: 'local' }, ...(opts.extraDaemons ?? [])],
    logger: quiet(),
    retry: { attempts: 3, baseMs: 50, maxMs: 200 },
    ...opts,
  });
  return {
    daemon,
    ex,
    url: ex.url,
    api: (m, p, b) => request(ex.url, m, p, b),
    async close() {
      try {
        await ex.close({ recover: true });
      } finally {
        await daemon.destroy(); // recovers, stops and removes its state dir (fl-d-*)
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

export function spawnSleep(seconds = 300): ChildProcess {
  return spawnExeced('sleep', [String(seconds)]);
}

/**
 * The `sleep` processes of one test file: `spawn()` starts one and gives its pid; `procs` are all of
 * them, for `killAll(procs)` in afterAll (which continues paused ones first).
 */
export function sleepers(seconds?: number): { procs: ChildProcess[]; spawn: () => number } {
  const procs: ChildProcess[] = [];
  const spawn = () => {
    const p = spawnSleep(seconds);
    procs.push(p);
    return p.pid!;
  };
  return { procs, spawn };
}

/** State letter of /proc/PID/stat: T while stopped (paused), S while sleeping. */
export function procState(pid: number): string {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2)[0];
}

/** A process-pause experiment on `pids` of the daemon named `local` (a pid selector applies on every selected daemon). */
export function pauseExperiment(name: string, pids: number[], duration = '60s', extra: Record<string, unknown> = {}) {
  return {
    metadata: { name },
    spec: { fault: { kind: 'process-pause', params: {} }, targets: { selector: { pids, daemons: ['local'] }, mode: 'all' }, duration, ...extra },
  };
}

export async function phaseOf(api: Stack['api'], name: string, ns = 'default'): Promise<string> {
  const r = await api('GET', `/api/v1/experiments/${ns}/${name}`);
  return r.body?.status?.phase;
}

export function killAll(procs: ChildProcess[]): void {
  for (const p of procs) {
    try {
      if (p.pid) process.kill(p.pid, 'SIGCONT');
      p.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** Runs the CLI; resolves with its exit code and output. */
export function cli(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/faultline.js'), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Spawns a long-running CLI command and resolves once it prints "listening on URL". */
export function spawnServer(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/faultline.js'), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const t = setTimeout(() => reject(new Error(`no "listening" line within 30s: ${out}`)), 30_000);
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/[0-9.:]+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve({ child, url: m[1], output: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`exited with ${code} before listening: ${out}`));
    });
  });
}

/** Polls a workflow until its phase is one of `phases` (one GET a poll); resolves with its document. */
export function workflowIn(api: (method: string, p: string) => Promise<Reply>, name: string, phases: string[], timeoutMs = 120_000): Promise<any> {
  return waitFor(`workflow ${name} in ${phases}`, async () => {
    const w = (await api('GET', `/api/v1/workflows/default/${name}`)).body as { status?: { phase: string } };
    return w.status && phases.includes(w.status.phase) ? w : undefined;
  }, timeoutMs);
}

/**
 * `faultline start` as a process of its own on a fixed port and data dir, so a kill -9 can be
 * followed by a restart on the same address: `start()` (re)starts it and waits until it answers.
 */
export async function restartableStart(dir: string): Promise<{ url: string; start(): Promise<void>; kill9(): Promise<void>; stop(): Promise<void> }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let p: Proc | undefined;
  return {
    url,
    async start() {
      const proc = (p = new Proc('faultline start', process.execPath, [FAULTLINE, 'start', '--listen', `127.0.0.1:${port}`, '--data-dir', dir]));
      await waitFor('exporter up', async () => {
        if (!proc.running) throw new Error(proc.output().slice(-2000));
        return (await fetch(`${url}/api/v1/health`)).ok;
      }, 90_000);
    },
    async kill9() {
      process.kill(p!.child.pid!, 'SIGKILL');
      await p!.exitCode();
    },
    async stop() {
      await p?.stop();
    },
  };
}
