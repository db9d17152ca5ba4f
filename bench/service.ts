import { spawn, type ChildProcess } from 'node:child_process';

/** Spawns a faultline service and resolves once `ready` matches its stdout. */
export function service(argv: string[], ready: RegExp, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, detached: true });
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} not ready after 120 s: ${out} ${err}`)), 120_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      // after it was ready too: a service that dies mid-bench says why
      if (code !== null && code !== 0) process.stderr.write(`${argv.slice(0, 4).join(' ')}… exited ${code}: ${err.slice(-2000)}\n`);
      reject(new Error(`${argv.join(' ')} exited ${code ?? signal}: ${out} ${err}`));
    });
  });
}

/** Signals a detached child's whole process group (a service and what it started); one already gone is fine. */
export function killGroup(c: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-c.pid!, signal);
  } catch {
    /* gone */
  }
}
