import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './exporter-helpers';

// Runs the real `faultline` command (bin/faultline.js → dist-server/, as installed) for CLI tests
// that watch a long-running command: resolves when its output matches, without waiting for it to end.

export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves when stdout+stderr match `re` (rejects after `timeoutMs` or when the command ends first). */
  until(re: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code once the command ends (rejects after `timeoutMs`, having killed it). */
  exit(timeoutMs?: number): Promise<number | null>;
}

export function startCli(args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/faultline.js'), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let code: number | null | undefined;
  const waiters = new Set<() => void>();
  const poke = () => waiters.forEach((w) => w());
  child.stdout!.on('data', (c: Buffer) => ((out += c.toString()), poke()));
  child.stderr!.on('data', (c: Buffer) => ((err += c.toString()), poke()));
  child.on('close', (c) => ((code = c), poke()));
  const wait = (done: () => boolean, what: string, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (done()) finish(resolve);
        else if (code !== undefined) finish(() => reject(new Error(`faultline ${args.join(' ')} ended (${code}) before ${what}\nstdout: ${out}\nstderr: ${err}`)));
      };
      const t = setTimeout(() => finish(() => reject(new Error(`no ${what} within ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`))), timeoutMs);
      const finish = (f: () => void) => {
        clearTimeout(t);
        waiters.delete(check);
        f();
      };
      waiters.add(check);
      check();
    });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    until: (re, timeoutMs = 60_000) => wait(() => re.test(out + err), String(re), timeoutMs),
    exit: async (timeoutMs = 60_000) => {
      try {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`faultline ${args.join(' ')} did not end within ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`)), timeoutMs);
          const check = () => {
            if (code !== undefined) {
              clearTimeout(t);
              waiters.delete(check);
              resolve();
            }
          };
          waiters.add(check);
          check();
        });
      } catch (e) {
        child.kill('SIGKILL');
        throw e;
      }
      return code ?? null;
    },
  };
}
