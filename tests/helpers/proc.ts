import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { waitUntil } from './wait';

// Child processes for tests and benchmarks (no __dirname here: the benchmarks import it as ESM):
// a process with its output kept, and real Prometheus and Alertmanager started from a config text.

/** A child process with its output kept (the last 256 KiB) for waiting on lines and for failure messages. */
export class Proc {
  readonly child: ChildProcess;
  private out = '';
  private exited: Promise<number | null>;

  constructor(
    readonly name: string,
    cmd: string,
    args: string[],
    opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
  ) {
    this.child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer) => {
      this.out += b.toString('utf8');
      if (this.out.length > 256 * 1024) this.out = this.out.slice(-256 * 1024);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => resolve(code));
      this.child.once('error', (err) => {
        this.out += `\nspawn error: ${err.message}`;
        resolve(null);
      });
    });
  }

  output(): string {
    return this.out;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits for a line matching `re` in the output; fails early if the process exits. */
  async waitForLine(re: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    return waitUntil(`${this.name} output ${re}`, () => {
      const m = this.out.match(re);
      if (m) return m;
      if (!this.running) throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}):\n${this.out.slice(-4000)}`);
      return undefined;
    }, timeoutMs, 100);
  }

  exitCode(): Promise<number | null> {
    return this.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running || this.child.pid === undefined) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** A real Prometheus with `config` (YAML text) on loopback `port`, its data in `dir`; `extraArgs` go on its command line. */
export async function startPrometheus(dir: string, config: string, port: number, extraArgs: string[] = []): Promise<{ proc: Proc; url: string }> {
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  const file = path.join(dir, 'prometheus.yml');
  writeFileSync(file, config);
  const proc = new Proc('prometheus', 'prometheus', [
    `--config.file=${file}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
    ...extraArgs,
  ]);
  const url = `http://127.0.0.1:${port}`;
  await ready(proc, url);
  return { proc, url };
}

/** A real Alertmanager (Debian's prometheus-alertmanager) with `config`, clustering off. */
export async function startAlertmanager(dir: string, config: string, port: number): Promise<{ proc: Proc; url: string }> {
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  const file = path.join(dir, 'alertmanager.yml');
  writeFileSync(file, config);
  const proc = new Proc('alertmanager', 'prometheus-alertmanager', [
    `--config.file=${file}`,
    `--storage.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=',
    '--log.level=warn',
  ]);
  const url = `http://127.0.0.1:${port}`;
  await ready(proc, url);
  return { proc, url };
}

/** Waits for `/-/ready`; a process that never gets there is stopped, not left running after the failure. */
async function ready(proc: Proc, url: string): Promise<void> {
  try {
    await waitUntil(`${proc.name} ready`, async () => {
      if (!proc.running) throw new Error(`${proc.name} exited:\n${proc.output().slice(-4000)}`);
      return (await fetch(`${url}/-/ready`)).ok;
    }, 60_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
}
