import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Logger } from 'pino';
import { __dirnameOfPackage } from '../cli/version';

// The demo's backend runs as a child process (demo/backend-server.mjs) that /api/checkout calls
// over TCP. A process of its own is what makes it a fault target: process-pause or process-kill
// on it, network faults on its port — and the demo's latency and error panels show it.
// Supervised: when it dies it is started again on the same port after RESTART_DELAY_MS, so a
// kill shows as a burst of 502s and then recovery.

const RESTART_DELAY_MS = 2000;
const START_TIMEOUT_MS = 15_000;

export interface Backend {
  url: string;
  pid(): number | undefined;
  up(): boolean;
  restarts(): number;
  close(): Promise<void>;
}

function spawnBackend(host: string, port: number): Promise<{ child: ChildProcess; url: string }> {
  const script = path.join(__dirnameOfPackage(), 'demo', 'backend-server.mjs');
  const child = spawn(process.execPath, [script, host, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`demo backend did not start within ${START_TIMEOUT_MS} ms: ${err}`));
    }, START_TIMEOUT_MS);
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const line = out.split('\n').find((l) => l.includes('demo backend listening'));
      if (line) {
        clearTimeout(timer);
        resolve({ child, url: (JSON.parse(line) as { url: string }).url });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`demo backend exited (${code ?? signal}) before listening: ${err.trim()}`));
    });
  });
}

export async function startBackend(host: string, port: number, log: Logger): Promise<Backend> {
  const first = await spawnBackend(host, port);
  const url = first.url;
  let child = first.child;
  const fixedPort = Number(new URL(url).port);
  let closing = false;
  let restarts = 0;
  let alive = true;
  let timer: NodeJS.Timeout | undefined;

  const watch = (c: ChildProcess) => {
    c.once('exit', (code, signal) => {
      alive = false;
      if (closing) return;
      log.warn({ pid: c.pid, code, signal }, `demo backend died; restarting in ${RESTART_DELAY_MS} ms`);
      const again = () => {
        timer = setTimeout(() => {
          if (closing) return;
          spawnBackend(host, fixedPort).then(
            (b) => {
              if (closing) {
                b.child.kill('SIGTERM');
                return;
              }
              child = b.child;
              alive = true;
              restarts++;
              log.info({ pid: child.pid, url }, 'demo backend restarted');
              watch(child);
            },
            (err: unknown) => {
              log.error({ err: String(err) }, 'demo backend restart failed; trying again');
              again();
            },
          );
        }, RESTART_DELAY_MS);
      };
      again();
    });
  };
  watch(child);

  return {
    url,
    pid: () => (alive ? child.pid : undefined),
    up: () => alive,
    restarts: () => restarts,
    async close() {
      closing = true;
      clearTimeout(timer);
      if (!alive) return;
      const exited = new Promise((r) => child.once('exit', r));
      // SIGKILL: a paused (SIGSTOP) backend would never act on SIGTERM.
      child.kill('SIGKILL');
      await exited;
    },
  };
}
