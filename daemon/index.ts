import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { DAEMON_KEEP_ALIVE_MS } from '../api/daemon';
import { probeCapabilities, type Capabilities } from './capabilities';
import { exemptControlEndpoint } from './faults/control-port';
import { FAULT_KINDS } from './faults/index';
import { Journal } from './journal';
import { isLoopback, parseListen, urlFor } from './listen';
import { acquireLock } from './lock';
import { FaultManager } from './manager';
import { DaemonMetrics } from './daemon-metrics';
import { Protection } from './resolve/protect';
import { createHandler, precompileRequestSchemas } from './server';
import { VERSION } from './version';
import { startWatchdog, type Watchdog } from './watchdog/spawn';

// The node daemon as a library: `faultline daemon` and the exporter's embedded daemon
// (`faultline start`) both call startDaemon. See daemon/faults/README.md for the kinds' rules.

export interface DaemonOptions {
  /** "host:port"; port 0 picks a free one (see the returned url). */
  listen: string;
  /** Journal and lock live here. */
  stateDir: string;
  /** Bearer token; required when `listen` is not loopback. */
  token?: string;
  /** PEM file paths: both or neither. */
  tlsCert?: string;
  tlsKey?: string;
  /** Pids (numbers) or process names (comm) never to target, besides pid 1, the daemon and its parent. */
  protect?: string[];
  logger?: Logger;
  /**
   * Start the watchdog (default true): a process of its own that reverts every journaled fault within
   * a second of this daemon dying (kill -9, OOM), without waiting for a restart. See daemon/watchdog/.
   */
  watchdog?: boolean;
  /**
   * The host's capabilities, when the caller started probing them already (`faultline start` does, so
   * the probes' child processes run while this module and the exporter's load). Default: probed here.
   */
  capabilities?: Promise<Capabilities>;
}

export interface RunningDaemon {
  /** Base URL, e.g. http://127.0.0.1:39451 */
  url: string;
  /**
   * Stops serving and the lease sweep, and dismisses the watchdog. Faults stay applied (deliberately);
   * the journal reverts them on the next start.
   */
  close(): Promise<void>;
  /** Stops serving; with `recover: true` reverts every fault first (graceful stop). */
  shutdown(opts?: { recover?: boolean }): Promise<void>;
  capabilities: Capabilities;
  manager: FaultManager;
  /** The watchdog's pid (undefined with `watchdog: false`). */
  watchdogPid?: number;
  /** Resolves once the watchdog has loaded the recover code: from then on a crash is reverted within a second. */
  watchdogReady?: Promise<void>;
}

/** How often leases are checked: an expired fault is reverted well within one second. */
const SWEEP_MS = 200;

export async function startDaemon(opts: DaemonOptions): Promise<RunningDaemon> {
  const log = opts.logger ?? pino({ name: 'faultline-daemon' });
  const addr = parseListen(opts.listen);
  if (!opts.token && !isLoopback(addr.host)) {
    throw new Error(`refusing to listen on ${opts.listen} without a token: set --token (FAULTLINE_DAEMON_TOKEN) or listen on loopback`);
  }
  if (!!opts.tlsCert !== !!opts.tlsKey) throw new Error('--tls-cert and --tls-key go together');
  const tls = opts.tlsCert && opts.tlsKey ? { cert: await readFile(opts.tlsCert), key: await readFile(opts.tlsKey) } : undefined;

  await mkdir(opts.stateDir, { recursive: true, mode: 0o700 });
  const lock = await acquireLock(opts.stateDir);
  let watchdog: Watchdog | undefined;
  const release = async () => {
    await watchdog?.dismiss();
    await lock.release();
  };
  // The capability probes are child processes (nft/tc in a scratch namespace): started first, they run
  // while the journal is read and the watchdog spawned, instead of after (~0.2 s of a loaded start).
  const probing = opts.capabilities ?? probeCapabilities();
  probing.catch(() => undefined); // awaited below; a failure before that point is not an unhandled rejection
  try {
    const journal = new Journal(opts.stateDir);
    await journal.init();
    // first, so it loads while we probe and restore; a crash from here on is already covered
    if (opts.watchdog !== false) {
      watchdog = await startWatchdog(opts.stateDir);
      await lock.setWatchdog({ pid: watchdog.pid, startTime: watchdog.startTime });
    }
    const caps = await probing;
    const metrics = new DaemonMetrics(FAULT_KINDS.map((k) => k.spec.kind));
    const protection = new Protection(opts.protect);
    if (watchdog) protection.protectWatchdog(watchdog.pid);
    const manager = new FaultManager({ journal, metrics, caps, protection, log });
    const restored = await manager.restore();
    if (restored) log.info({ restored }, 'reverted faults left in the journal by the previous run');
    // Not awaited: the watchdog watches the pipe from its first milliseconds; loading the recover code
    // takes it a second or more (tsx), which would only delay serving. /v1/info says when it is armed.
    let watchdogArmed = false;
    watchdog?.ready.then(
      () => (watchdogArmed = true),
      (err: unknown) => log.error({ err: String(err) }, 'the watchdog failed to start: a crash of this daemon is reverted only at its next start'),
    );
    const watchdogInfo = () => (watchdog ? { pid: watchdog.pid, armed: watchdogArmed } : undefined);

    const handler = createHandler({ manager, metrics, caps, protection, token: opts.token, version: VERSION, startedAt: new Date(), log, watchdog: watchdogInfo });
    const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
    server.keepAliveTimeout = DAEMON_KEEP_ALIVE_MS; // the exporter's renewal connection stays open for an abort
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(addr.port, addr.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    // from here on, network faults in this daemon's namespace let its control traffic through
    const unexempt = exemptControlEndpoint({ host: addr.host, port });
    const url = urlFor(tls ? 'https' : 'http', addr.host, port);
    await writeFile(path.join(opts.stateDir, 'daemon.url'), url + '\n');
    const sweeper = setInterval(() => manager.sweep(), SWEEP_MS);
    setImmediate(() => precompileRequestSchemas(FAULT_KINDS.map((k) => k.spec.params)));
    log.info({ url, stateDir: opts.stateDir, kinds: manager.kinds().filter((k) => k.supported).map((k) => k.kind) }, 'faultline daemon listening');

    let closed: Promise<void> | undefined;
    const close = () =>
      (closed ??= (async () => {
        clearInterval(sweeper);
        unexempt();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await release();
      })());
    return {
      url,
      capabilities: caps,
      manager,
      ...(watchdog ? { watchdogPid: watchdog.pid, watchdogReady: watchdog.ready } : {}),
      close,
      async shutdown(o = {}) {
        clearInterval(sweeper);
        if (o.recover) await manager.recoverAll('shutdown');
        await close();
      },
    };
  } catch (err) {
    await release();
    throw err;
  }
}

export { FaultManager } from './manager';
export type { Capabilities } from './capabilities';
