import { spawn } from 'node:child_process';
import { ApiError } from '../../api/errors';
import { trackExit, waitGone } from '../sys/child-exits';
import { isSameProcess, readStat } from '../sys/proc';
import { PROXY_GID, type ProxyChildConfig, type ProxyChildReply } from './config';
import { CHILD_ENTRY, compiledPath } from './paths';

// Starts and stops proxy child processes. A child is its own process (own session) so it can live
// in the target's network namespace (nsenter --net, argv only: node has no setns), so proxy traffic
// never competes with the daemon's event loop, and so a restarted daemon can find and stop it by
// pid + start time from the journal alone.

/**
 * V8 flags of the fault proxy child. `--single-threaded-gc`: a proxy's young generation holds almost
 * nothing alive (a scavenge takes ~0.12-0.16 ms either way), but a parallel scavenge wakes V8's four
 * worker threads, which on a small machine compete for the CPUs with the very client and server
 * whose round trips the proxy sits in. Measured over 20 000 64-byte round trips: worker-thread
 * wakeups ~32 → ~4, scavenge pause 0.16 → 0.12 ms (bench/proxy.ts, daemon/proxy/README.md).
 */
const PROXY_NODE_FLAGS = ['--single-threaded-gc'];

export interface ProxyChildRef {
  pid: number;
  startTime: number;
}

export interface StartOptions {
  netnsPath?: string;
  signal?: AbortSignal;
  /** Called with the child's identity as soon as it exists, before it listens (journal first). */
  onSpawn(ref: ProxyChildRef): Promise<void>;
  readyTimeoutMs?: number;
  /** The child's entry file: the fault proxy (default) or another helper speaking the same protocol (daemon/dns/child.ts). */
  entry?: string;
}

export async function startProxyChild<C extends object = ProxyChildConfig>(cfg: C, opts: StartOptions): Promise<{ ref: ProxyChildRef; port: number }> {
  // the compiled JavaScript of the entry (dist-server/), run by plain node: no compiler in the child
  const argv = [process.execPath, ...(opts.entry ? [] : PROXY_NODE_FLAGS), compiledPath(opts.entry ?? CHILD_ENTRY)];
  const [file, args] = opts.netnsPath ? ['nsenter', [`--net=${opts.netnsPath}`, '--', ...argv]] : [argv[0], argv.slice(1)];
  const child = spawn(file, args, { detached: true, stdio: ['pipe', 'pipe', 'pipe'], ...(process.getuid?.() === 0 ? { gid: PROXY_GID } : {}), env: { ...process.env, NODE_OPTIONS: '' } });
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('spawn', () => resolve(child.pid as number));
  });
  trackExit(child); // stopProxyChild then waits for its exit, not for a poll of /proc
  const ref: ProxyChildRef = { pid, startTime: (await readStat(pid))?.startTime ?? -1 };
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    await opts.onSpawn(ref);
    child.stdin.end(JSON.stringify(cfg));
    const answer = await new Promise<ProxyChildReply>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`proxy did not start within ${opts.readyTimeoutMs ?? 30000} ms: ${stderr.trim()}`)), opts.readyTimeoutMs ?? 30_000);
      const onAbort = () => reject(new ApiError(409, 'aborted', 'the fault was deleted while its proxy was starting'));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const finish = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const nl = out.indexOf('\n');
        if (nl >= 0) {
          finish();
          try {
            resolve(JSON.parse(out.slice(0, nl)) as ProxyChildReply);
          } catch {
            reject(new Error(`proxy answered garbage: ${out.slice(0, 200)}`));
          }
        }
      });
      child.once('exit', (code) => {
        finish();
        reject(new Error(`proxy exited (${code}) before listening: ${stderr.trim().slice(-1000)}`));
      });
    });
    if (!answer.ready) {
      if (answer.code === 'EADDRINUSE') {
        throw ApiError.conflict(`the listen address is in use: ${answer.message}`, [{ field: '/params/listen', reason: 'address already in use' }]);
      }
      if (answer.code === 'UPSTREAM_UNREACHABLE') {
        throw ApiError.unprocessable(answer.message, [{ field: '/params/upstream', reason: 'unreachable' }]);
      }
      if (answer.code === 'EADDRNOTAVAIL') {
        throw ApiError.unprocessable(`cannot listen there: ${answer.message}`, [{ field: '/params/listen', reason: 'address not available on this host' }]);
      }
      throw new Error(`proxy failed to start: ${answer.code} ${answer.message}`);
    }
    // The child serves on its own from now on: let go of its pipes so neither side waits on the other.
    child.stdout.destroy();
    child.stderr.destroy();
    child.unref();
    return { ref, port: answer.port };
  } catch (err) {
    await stopProxyChild(ref, 0);
    throw err;
  }
}

/**
 * Stops a proxy child that is still the same process: SIGTERM (it drains for up to `drainMs`),
 * then SIGKILL when it takes too long. Gone already (or a reused pid) counts as done.
 */
export async function stopProxyChild(ref: Partial<ProxyChildRef> | undefined, drainMs: number): Promise<void> {
  if (!ref?.pid || ref.startTime === undefined || ref.startTime < 0) return;
  const { pid, startTime } = ref;
  const alive = () => isSameProcess(pid, startTime);
  const send = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  };
  if (!(await alive())) return;
  send('SIGTERM');
  if (await waitGone(pid, startTime, drainMs + 3000, 20)) return;
  send('SIGKILL');
  await waitGone(pid, startTime, 5000, 20);
}
