import http from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { urlToHttpOptions } from 'node:url';
import type { Logger } from 'pino';
import { DAEMON_KEEP_ALIVE_MS, DAEMON_ROUTES, type DaemonAddresses, type DaemonFault, type DaemonFaultList, type DaemonFaultRequest, type DaemonInfo, type DaemonLeaseResult, type DaemonRecoverItem, type DaemonRecoverResult, type DaemonTarget, type DaemonTargetCandidate, type DaemonTargetList } from '../api/daemon';

// HTTP client for the node daemons (api/daemon.ts shapes) and the registry of the configured
// daemons with their health. The exporter reaches every daemon this way, the embedded one too.

export interface DaemonConfig {
  url: string;
  token?: string;
  /** Name used in targets, events and metrics; default: the host name the daemon reports. */
  name?: string;
}

/** A daemon answer that is not a success, or no answer at all (`status` undefined). */
// Connections to daemons are kept open between requests (lease renewals every lease/3), so an abort goes
// out on an open connection. An idle one is closed here 15 s before the daemon would drop it
// (DAEMON_KEEP_ALIVE_MS), so a request never goes out on a connection the other side is closing; Node's
// agent also closes a second before a shorter `Keep-Alive: timeout=` that a daemon announces.
const AGENT_OPTIONS = { keepAlive: true, timeout: DAEMON_KEEP_ALIVE_MS - 15_000 };
let httpAgent: http.Agent | undefined;
let httpsAgent: import('node:https').Agent | undefined;
/** Loaded on the first https daemon: an exporter with only http daemons never loads TLS. */
let httpsModule: typeof import('node:https') | undefined;

export class DaemonError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'DaemonError';
  }

  /** Worth retrying: no answer, 5xx, or 429. A 4xx is the daemon's final word. */
  get retriable(): boolean {
    return this.status === undefined || this.status >= 500 || this.status === 429;
  }
}

export interface RetryOptions {
  attempts: number;
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 5, baseMs: 250, maxMs: 4000 };

/**
 * Waits `ms`; an abort rejects with the signal's own reason (what callers match on, e.g. a
 * workflow's StepEnd), where node:timers/promises rejects with an AbortError around it.
 */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch (err) {
    throw signal?.aborted ? (signal.reason ?? err) : err;
  }
}

/** Runs `fn` until it succeeds, a non-retriable error, `attempts`, or `signal` aborts; backoff doubles with jitter. */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions, signal?: AbortSignal, onRetry?: (err: DaemonError, attempt: number) => void): Promise<T> {
  let delay = opts.baseMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const e = err instanceof DaemonError ? err : new DaemonError((err as Error).message);
      if (!e.retriable || attempt >= opts.attempts || signal?.aborted) throw e;
      onRetry?.(e, attempt);
      await sleep(Math.min(opts.maxMs, delay) * (0.75 + Math.random() * 0.5), signal);
      delay *= 2;
    }
  }
}

/** Most fault ids in one `POST /v1/recover` (the daemon's schema allows 1000). */
const MAX_RECOVER_BATCH = 500;

/**
 * Every daemon's batch of one turn of the event loop leaves from one setImmediate, queued by the turn's
 * first batched call. With one setImmediate per client, an alert aborting a fleet sent its batches in
 * between the engine's per-run announcements (each also a setImmediate, engine/run.ts): a daemon's
 * batch waited for the announcements of every run queued before its first call. Traced with 50
 * daemons and 1000 runs: the batches left 127–402 ms after the webhook arrived; now within 11–20 ms.
 *
 * Before they leave, the registries' `beforeSend` hooks run: the exporter commits the store's writes
 * so far (store/group-commit.ts), so a run's Recovering is durable before its recover request leaves
 * whatever the order of writes and calls in the turn.
 */
const batchesThisTurn: (() => Promise<void>)[] = [];
const beforeBatches = new Set<() => void>();

/** Queues `flush` (async: it settles its own callers, and cannot throw before the next client's turn). */
function sendAtEndOfTurn(flush: () => Promise<void>): void {
  if (batchesThisTurn.length === 0) setImmediate(sendTurnBatches);
  batchesThisTurn.push(flush);
}

function sendTurnBatches(): void {
  for (const hook of beforeBatches) {
    try {
      hook();
    } catch {
      // a store that cannot commit (a full disk) reports that itself; the recoveries leave all the same
    }
  }
  for (const flush of batchesThisTurn.splice(0)) void flush();
}

/** A caller waiting for its batch (recoveries, lease renewals). */
interface Waiter<T> {
  resolve(v: T): void;
  reject(e: unknown): void;
}
type DeleteWaiter = Waiter<DaemonFault | undefined>;

export class DaemonClient {
  name: string;
  readonly base: string;
  /** Where requests go, parsed once from the URL (an abort sends one request per daemon: per-send work counts). */
  private readonly endpoint: { https: boolean; hostname: string; port?: number; auth?: string; pathPrefix: string };
  up = false;
  info?: DaemonInfo;
  lastSeen?: Date;
  lastError?: string;
  /** Whether this daemon serves `GET /v1/targets` (learned on first use). */
  private listsTargets?: boolean;
  /** Whether this daemon serves `POST /v1/recover` (learned on first use; the pod daemon and older daemons do not). */
  private recoversInBatches?: boolean;
  /** Whether this daemon serves `PUT /v1/leases` (learned on first use). */
  private renewsInBatches?: boolean;
  /** Lease renewals asked for in this turn of the event loop, by lease length (see renewLease). */
  private pendingRenewals = new Map<number, Map<string, Waiter<DaemonFault>[]>>();
  /** Recoveries asked for in this turn of the event loop, sent together (see deleteFault). */
  private pendingDeletes?: Map<string, DeleteWaiter[]>;

  constructor(
    readonly config: DaemonConfig,
    private readonly timeoutMs = 10_000,
  ) {
    let u: URL;
    try {
      u = new URL(config.url);
    } catch {
      throw new Error(`daemon URL ${JSON.stringify(config.url)} is not a URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`daemon URL ${config.url} must be http or https`);
    this.base = u.href.replace(/\/+$/, '');
    // Node's own URL → request options (an IPv6 host without its brackets, user info as decoded auth),
    // what http.request did with the URL on every call before
    const { hostname, port, auth } = urlToHttpOptions(u);
    this.endpoint = { https: u.protocol === 'https:', hostname: hostname ?? '', ...(port ? { port: Number(port) } : {}), ...(auth ? { auth } : {}), pathPrefix: u.pathname.replace(/\/+$/, '') };
    this.name = config.name ?? u.host;
  }

  private async call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal, onStatus?: (s: number) => void): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.config.token) headers.authorization = `Bearer ${this.config.token}`;
    // One controller per request, linked to the caller's signal only while the request is in flight.
    // fetch keeps its abort listener on whatever signal it is given until that signal is collected, so
    // handing it a run's long-lived signal (or an AbortSignal.any of it) piled up a listener per finished
    // request, and aborting the run (an alert stopping a fleet) then dispatched to every one of them.
    const ac = new AbortController();
    const onAbort = () => ac.abort(signal!.reason);
    if (signal?.aborted) ac.abort(signal.reason);
    else signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => ac.abort(new DOMException(`no answer within ${this.timeoutMs}ms`, 'TimeoutError')), this.timeoutMs);
    let res: { status: number; ok: boolean };
    let text: string;
    try {
      try {
        ({ res, text } = await this.send(method, path, headers, body === undefined ? undefined : JSON.stringify(body), ac.signal, onStatus));
      } catch (err) {
        const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
        const reason = ac.signal.reason as Error | undefined;
        const why = ac.signal.aborted
          ? reason?.name === 'TimeoutError'
            ? `no answer within ${this.timeoutMs}ms`
            : (reason?.message ?? 'aborted')
          : (e.code ?? e.cause?.code ?? e.cause?.message ?? e.message);
        throw new DaemonError(`daemon ${this.name} (${this.base}) unreachable: ${why}`);
      }
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const err = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new DaemonError(`daemon ${this.name}: ${err?.message ?? `HTTP ${res.status}`}`, res.status, err?.code);
    }
    return parsed as T;
  }

  /**
   * One request over node:http(s) with the global agent (keep-alive, like fetch's pool). Not fetch: its
   * implementation (undici, with a WebAssembly HTTP parser) is compiled on first use, which made the
   * first daemon request the single largest cost of `faultline start` (~0.35 s of CPU under load).
   * No URL parsing and no dynamic import per request: an abort writes one request to every daemon, and
   * without them each send costs the exporter 10–20 % less CPU (docs/architecture.md, "At fleet scale").
   */
  private async send(method: string, path: string, headers: Record<string, string>, body: string | undefined, signal: AbortSignal, onStatus?: (s: number) => void): Promise<{ res: { status: number; ok: boolean }; text: string }> {
    const { https, pathPrefix, ...where } = this.endpoint;
    let mod: typeof http | typeof import('node:https') = http;
    let agent: http.Agent;
    if (https) {
      const m = (httpsModule ??= await import('node:https'));
      mod = m;
      agent = httpsAgent ??= new m.Agent(AGENT_OPTIONS);
    } else agent = httpAgent ??= new http.Agent(AGENT_OPTIONS);
    return new Promise((resolve, reject) => {
      const options = { ...where, path: pathPrefix + path, method, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) }, signal, agent };
      const req = mod.request(options, (r) => {
        const status = r.statusCode ?? 0;
        onStatus?.(status);
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => resolve({ res: { status, ok: status >= 200 && status < 300 }, text: Buffer.concat(chunks).toString('utf8') }));
        r.on('error', reject);
        r.on('aborted', () => reject(new Error('the daemon closed the connection mid-answer')));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  async fetchInfo(signal?: AbortSignal): Promise<DaemonInfo> {
    const info = await this.call<DaemonInfo>('GET', DAEMON_ROUTES.info, undefined, signal);
    this.info = info;
    return info;
  }

  /** Applies a fault; `created` is false when the daemon already held this exact fault (idempotent retry). */
  async createFault(req: DaemonFaultRequest, signal?: AbortSignal): Promise<{ fault: DaemonFault; created: boolean }> {
    let status = 0;
    const fault = await this.call<DaemonFault>('POST', DAEMON_ROUTES.faults, req, signal, (s) => (status = s));
    return { fault, created: status === 201 };
  }

  /** Addresses of a target's network namespace on this daemon's host (peer selectors, exporter/targets/peers.ts). */
  async addresses(target: DaemonTarget, signal?: AbortSignal): Promise<string[]> {
    return (await this.call<DaemonAddresses>('POST', DAEMON_ROUTES.addresses, { target }, signal)).addresses;
  }

  /** Replaces a running fault's peers (a peer selector re-resolved while it runs). */
  setPeers(id: string, peers: string[], signal?: AbortSignal): Promise<DaemonFault> {
    return this.call<DaemonFault>('PUT', DAEMON_ROUTES.peers(id), { peers }, signal);
  }

  /**
   * Renews a fault's lease. Renewals asked for in the same turn of the event loop (the engine renews
   * every running experiment on one tick) go to the daemon as one `PUT /v1/leases`, in chunks.
   */
  renewLease(id: string, leaseSeconds: number, signal?: AbortSignal): Promise<DaemonFault> {
    if (signal || this.renewsInBatches === false) return this.renewOne(id, leaseSeconds, signal);
    return new Promise((resolve, reject) => {
      let batch = this.pendingRenewals.get(leaseSeconds);
      if (!batch) {
        batch = new Map();
        this.pendingRenewals.set(leaseSeconds, batch);
        if (this.pendingRenewals.size === 1) sendAtEndOfTurn(() => this.flushRenewals());
      }
      const waiting = batch.get(id) ?? [];
      waiting.push({ resolve, reject });
      batch.set(id, waiting);
    });
  }

  private renewOne(id: string, leaseSeconds: number, signal?: AbortSignal): Promise<DaemonFault> {
    return this.call<DaemonFault>('PUT', DAEMON_ROUTES.lease(id), { leaseSeconds }, signal);
  }

  private async flushRenewals(): Promise<void> {
    const byLease = this.pendingRenewals;
    this.pendingRenewals = new Map();
    await Promise.all([...byLease].map(([secs, batch]) => this.renewBatch(secs, batch)));
  }

  private async renewBatch(leaseSeconds: number, batch: Map<string, Waiter<DaemonFault>[]>): Promise<void> {
    await this.sendBatched(batch, {
      what: 'lease',
      one: (id) => this.renewOne(id, leaseSeconds),
      many: (ids) => this.call<DaemonLeaseResult>('PUT', DAEMON_ROUTES.leases, { ids, leaseSeconds }),
      supported: () => this.renewsInBatches,
      setSupported: (v) => (this.renewsInBatches = v),
      // a 404 is a lost fault: the engine injects it again
      item: (item) => (item.status === 200 && item.fault ? { value: item.fault } : undefined),
    });
  }

  /**
   * Sends a batch of calls about fault ids (renewals, recoveries): one id alone, or a daemon that lacks
   * the batch route (the pod daemon, older daemons; learned from a 404/405 on first use), one request
   * each; otherwise one batch request per MAX_RECOVER_BATCH ids, each id's waiters settled from its
   * item (`item` maps an item to a value, or undefined for an error with the item's status).
   */
  private async sendBatched<T>(
    batch: Map<string, Waiter<T>[]>,
    o: {
      what: string;
      one: (id: string) => Promise<T>;
      many: (ids: string[]) => Promise<{ items: DaemonRecoverItem[] }>;
      supported: () => boolean | undefined;
      setSupported: (v: boolean) => void;
      item: (item: DaemonRecoverItem) => { value: T } | undefined;
    },
  ): Promise<void> {
    const settle = (id: string, fn: (w: Waiter<T>) => void) => batch.get(id)?.forEach(fn);
    const one = (id: string) =>
      o.one(id).then(
        (v) => settle(id, (w) => w.resolve(v)),
        (err) => settle(id, (w) => w.reject(err)),
      );
    const ids = [...batch.keys()];
    if (ids.length === 1 || o.supported() === false) {
      await Promise.all(ids.map(one));
      return;
    }
    for (let i = 0; i < ids.length; i += MAX_RECOVER_BATCH) {
      const chunk = ids.slice(i, i + MAX_RECOVER_BATCH);
      let result: { items: DaemonRecoverItem[] };
      try {
        result = await o.many(chunk);
        o.setSupported(true);
      } catch (err) {
        if (err instanceof DaemonError && (err.status === 404 || err.status === 405) && o.supported() === undefined) {
          o.setSupported(false); // a daemon without the batch route: one request each, from now on
          await Promise.all(chunk.map(one));
        } else {
          for (const id of chunk) settle(id, (w) => w.reject(err));
        }
        continue;
      }
      const answered = new Set<string>();
      for (const item of result.items) {
        answered.add(item.id);
        const ok = o.item(item);
        if (ok) settle(item.id, (w) => w.resolve(ok.value));
        else settle(item.id, (w) => w.reject(new DaemonError(`daemon ${this.name}: ${item.error?.message ?? `HTTP ${item.status}`}`, item.status, item.error?.code)));
      }
      for (const id of chunk) if (!answered.has(id)) settle(id, (w) => w.reject(new DaemonError(`daemon ${this.name}: no answer for fault ${id} in the ${o.what} batch`, 500)));
    }
  }

  /**
   * Reverts a fault; a 404 (already gone) counts as done. Calls made in the same turn of the event loop
   * (an alert aborting every guarded experiment at once) go to the daemon as one `POST /v1/recover`:
   * one round trip instead of a connection per fault, which is what keeps a fleet abort fast.
   */
  deleteFault(id: string, signal?: AbortSignal): Promise<DaemonFault | undefined> {
    if (signal || this.recoversInBatches === false) return this.deleteOne(id, signal);
    return new Promise((resolve, reject) => {
      if (!this.pendingDeletes) {
        this.pendingDeletes = new Map();
        sendAtEndOfTurn(() => this.flushDeletes());
      }
      const waiting = this.pendingDeletes.get(id) ?? [];
      waiting.push({ resolve, reject });
      this.pendingDeletes.set(id, waiting);
    });
  }

  private async flushDeletes(): Promise<void> {
    const batch = this.pendingDeletes!;
    this.pendingDeletes = undefined;
    await this.sendBatched(batch, {
      what: 'recover',
      one: (id) => this.deleteOne(id),
      many: (ids) => this.call<DaemonRecoverResult>('POST', DAEMON_ROUTES.recover, { ids }),
      supported: () => this.recoversInBatches,
      setSupported: (v) => (this.recoversInBatches = v),
      // a 404 is a fault already gone: done
      item: (item) => (item.status === 200 || item.status === 404 ? { value: item.status === 200 ? item.fault : undefined } : undefined),
    });
  }

  private async deleteOne(id: string, signal?: AbortSignal): Promise<DaemonFault | undefined> {
    try {
      return await this.call<DaemonFault>('DELETE', DAEMON_ROUTES.fault(id), undefined, signal);
    } catch (err) {
      if (err instanceof DaemonError && err.status === 404) return undefined;
      throw err;
    }
  }

  async listFaults(signal?: AbortSignal): Promise<DaemonFault[]> {
    return (await this.call<DaemonFaultList>('GET', DAEMON_ROUTES.faults, undefined, signal)).faults;
  }

  /**
   * Candidates from the daemon's own listing (`GET /v1/targets`; narrowed to `pids` or to a `processName`
   * regex when given, identity only), or undefined when it has none (the pod daemon, older daemons).
   */
  async listTargets(narrow: { pids?: number[]; processName?: string } = {}, signal?: AbortSignal): Promise<DaemonTargetCandidate[] | undefined> {
    if (this.listsTargets === false) return undefined;
    try {
      const params = new URLSearchParams();
      if (narrow.pids?.length) params.set('pids', narrow.pids.join(','));
      if (narrow.processName !== undefined) params.set('processName', narrow.processName);
      const query = params.size ? `?${params}` : '';
      const body = await this.call<DaemonTargetList>('GET', DAEMON_ROUTES.targets + query, undefined, signal);
      this.listsTargets = true;
      return body.targets;
    } catch (err) {
      if (err instanceof DaemonError && err.status === 404) {
        this.listsTargets = false;
        return undefined;
      }
      throw err;
    }
  }

}

export interface DaemonRegistryOptions {
  log: Logger;
  /** How often each daemon's /v1/info is polled. */
  healthIntervalMs?: number;
  requestTimeoutMs?: number;
  onChange?: (d: DaemonClient, up: boolean, error?: string) => void;
  /** Runs before each turn's batches leave (the exporter commits its store's writes: see sendTurnBatches). */
  beforeSend?: () => void;
}

export class DaemonRegistry {
  readonly clients: DaemonClient[];
  private timer?: NodeJS.Timeout;

  constructor(
    configs: DaemonConfig[],
    private readonly opts: DaemonRegistryOptions,
  ) {
    this.clients = configs.map((c) => new DaemonClient(c, opts.requestTimeoutMs));
    if (opts.beforeSend) beforeBatches.add(opts.beforeSend);
  }

  /** First contact: learns names (host names, made unique) and support; unreachable daemons keep host:port. */
  async init(): Promise<void> {
    await Promise.all(this.clients.map((c) => this.check(c, false)));
    const taken = new Map<string, number>();
    for (const c of this.clients) {
      if (!c.config.name && c.info?.name) c.name = c.info.name;
      taken.set(c.name, (taken.get(c.name) ?? 0) + 1);
    }
    for (const c of this.clients) if (!c.config.name && (taken.get(c.name) ?? 0) > 1) c.name = `${c.name}@${new URL(c.base).host}`;
    this.timer = setInterval(() => {
      for (const c of this.clients) void this.check(c, true);
    }, this.opts.healthIntervalMs ?? 5000);
    this.timer.unref();
  }

  private async check(c: DaemonClient, report: boolean): Promise<void> {
    const was = c.up;
    try {
      await c.fetchInfo();
      c.up = true;
      c.lastSeen = new Date();
      c.lastError = undefined;
    } catch (err) {
      c.up = false;
      c.lastError = (err as Error).message;
    }
    if (report && was !== c.up) this.opts.onChange?.(c, c.up, c.lastError);
    else if (!report && !c.up) this.opts.log.warn({ daemon: c.base, error: c.lastError }, 'daemon not reachable at start');
  }

  /** Marks a daemon down (or up) from a failed (or successful) request, without waiting for the poll. */
  observe(c: DaemonClient, up: boolean, error?: string): void {
    if (c.up === up) return;
    c.up = up;
    if (up) c.lastSeen = new Date();
    c.lastError = error;
    this.opts.onChange?.(c, up, error);
  }

  byName(name: string): DaemonClient | undefined {
    return this.clients.find((c) => c.name === name);
  }

  upStates(): { name: string; up: boolean }[] {
    return this.clients.map((c) => ({ name: c.name, up: c.up }));
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.opts.beforeSend) beforeBatches.delete(this.opts.beforeSend);
  }
}
