import type { Writable } from 'node:stream';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { FaultlineEvent } from '../api/events';
import type { EventStore, NewEvent } from './store/event-log';

// The event bus: every state change is stored first (it gets its id there), counted, then handed
// to the live subscribers. Server-Sent Events: `id:` per event (a reconnecting client sends
// Last-Event-ID and gets what it missed from the store), comment heartbeats, and a bounded
// buffer per subscriber: one that cannot keep up is disconnected (it reconnects and replays)
// instead of slowing the others or growing memory.
//
// Frames are coalesced: what one tick of the event loop emits is written to each subscriber in one
// write once the tick's work is done (setImmediate). Each write costs a syscall and the HTTP chunk
// framing, per subscriber, so at hundreds of events a second to a hundred subscribers the writes,
// not the events, are the work; a loaded exporter whose ticks grow longer then batches more
// instead of falling further behind. The batch goes to the socket itself with the chunk framing
// done here (one write, where res.write queues four buffers per call and a tick to uncork), once the
// headers are out and the response owns the socket; otherwise (a pipelined request still waiting
// for its turn) through res.write.

export interface StreamFilter {
  namespace?: string;
  experiment?: string;
  kind?: string;
  types?: Set<string>;
}

export interface EventBusOptions {
  heartbeatMs?: number;
  /** Bytes queued for one subscriber beyond the socket's own buffer before it is dropped. */
  maxBufferedBytes?: number;
  /** Most events replayed on (re)connect. */
  maxReplay?: number;
  log: Logger;
  onEvent?: (e: FaultlineEvent) => void;
}

interface Subscriber {
  filter: StreamFilter;
  res: Response;
  /** Where the bytes go: the response's socket, or the response itself (see stream()). */
  out: Writable;
  /** Whether writes to `out` need HTTP/1.1 chunk framing (the socket of a chunked response). */
  chunked: boolean;
  /** Highest id written (replay and live never repeat an event). */
  lastId: number;
  /** Frames of the current tick, not yet handed to the socket. */
  batch: string;
  /** Whether the subscriber is in the bus's list of batches to write at the end of the tick. */
  scheduled: boolean;
  /** The socket's high-water mark: a batch reaching it is written at once (see write()). */
  batchLimit: number;
  /** Frames waiting for the socket to drain, counted against maxBufferedBytes. */
  queued: string[];
  queuedBytes: number;
  draining: boolean;
  /** Live events that arrived during replay. */
  pending: FaultlineEvent[] | null;
}

function matches(f: StreamFilter, e: FaultlineEvent): boolean {
  if (f.namespace && e.namespace !== f.namespace) return false;
  if (f.experiment && e.experiment !== f.experiment) return false;
  if (f.kind && e.kind !== f.kind) return false;
  if (f.types && !f.types.has(e.type)) return false;
  return true;
}

export function frame(e: FaultlineEvent): string {
  return `id: ${e.id}\ndata: ${JSON.stringify(e)}\n\n`;
}

export class EventBus {
  private readonly subs = new Set<Subscriber>();
  /** Subscribers with a batch to write when the current tick's work is done. */
  private batched: Subscriber[] = [];
  private flushTimer: NodeJS.Immediate | null = null;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly maxBufferedBytes: number;
  private readonly maxReplay: number;
  dropped = 0;

  constructor(
    private readonly store: EventStore,
    private readonly opts: EventBusOptions,
  ) {
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 1 << 20;
    this.maxReplay = opts.maxReplay ?? 10_000;
    this.heartbeat = setInterval(() => {
      for (const s of this.subs) this.write(s, ': heartbeat\n\n');
    }, opts.heartbeatMs ?? 15_000);
    this.heartbeat.unref();
    // the store's health as events (annotations on dashboards); after the write that changed it, never inside it
    store.health.onChange((degraded, error) =>
      setImmediate(() =>
        this.tryEmit({
          type: degraded ? 'store-degraded' : 'store-recovered',
          actor: 'system',
          message: degraded
            ? `the data store takes no writes (${error}): records are kept in memory, new chaos is refused, stopping chaos works`
            : 'the data store takes writes again: what was kept in memory is written',
        }),
      ),
    );
  }

  get subscribers(): number {
    return this.subs.size;
  }

  /** emit() for what may come after close (a timer's report): a failure is logged, never thrown. */
  private tryEmit(e: NewEvent): void {
    try {
      this.emit(e);
    } catch (err) {
      this.opts.log.warn({ err: String(err), type: e.type }, 'event not recorded');
    }
  }

  emit(e: NewEvent): FaultlineEvent {
    const stored = this.store.insert(e);
    this.opts.onEvent?.(stored);
    let text: string | undefined; // serialised once for every subscriber
    for (const s of this.subs) {
      if (s.pending) s.pending.push(stored);
      else this.deliver(s, stored, (text ??= frame(stored)));
    }
    return stored;
  }

  private deliver(s: Subscriber, e: FaultlineEvent, text?: string): void {
    if (e.id <= s.lastId || !matches(s.filter, e)) return;
    s.lastId = e.id;
    this.write(s, text ?? frame(e));
  }

  private write(s: Subscriber, chunk: string): void {
    if (s.draining) {
      s.queued.push(chunk);
      s.queuedBytes += Buffer.byteLength(chunk);
      if (s.queuedBytes > this.maxBufferedBytes) this.drop(s, 'too slow');
      return;
    }
    s.batch += chunk;
    // A batch as large as the socket's high-water mark goes out now: one write of it would have
    // filled the socket's buffer anyway, and what follows waits in `queued`, counted against the
    // bound, exactly as when every frame was written on its own.
    if (s.batch.length >= s.batchLimit) {
      this.send(s);
      return;
    }
    if (!s.scheduled) {
      s.scheduled = true;
      this.batched.push(s);
      this.flushTimer ??= setImmediate(() => this.flushBatches());
    }
  }

  /** Writes every subscriber's batch of this tick (in the order the subscribers got their first frame). */
  private flushBatches(): void {
    this.flushTimer = null;
    const list = this.batched;
    this.batched = [];
    for (const s of list) {
      s.scheduled = false;
      if (s.batch && !s.draining && this.subs.has(s)) this.send(s);
    }
  }

  private send(s: Subscriber): void {
    const text = s.batch;
    s.batch = '';
    if (!s.out.write(s.chunked ? `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n` : text)) {
      s.draining = true;
      s.out.once('drain', () => this.resume(s));
    }
  }

  private resume(s: Subscriber): void {
    if (!this.subs.has(s)) return;
    s.draining = false;
    const queued = s.queued;
    s.queued = [];
    s.queuedBytes = 0;
    // refilled batch by batch until the socket pushes back again; the rest is queued (and counted) anew
    for (const c of queued) this.write(s, c);
    if (s.batch && !s.draining) this.send(s);
  }

  private drop(s: Subscriber, why: string): void {
    if (!this.subs.delete(s)) return;
    this.dropped++;
    s.queued = [];
    s.batch = '';
    this.opts.log.warn({ why, lastId: s.lastId }, 'event stream subscriber dropped');
    s.res.destroy();
  }

  /** Serves one SSE connection until the client leaves. */
  stream(req: Request, res: Response, filter: StreamFilter, lastEventId: number | undefined): void {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    req.socket.setNoDelay(true);
    // res.socket is set only while this response owns the connection, and flushHeaders() has then
    // written the head to it: frames may follow on the socket directly. res.end() later writes the
    // closing zero-length chunk, so the framing stays the response's own.
    const out: Writable = res.socket && res.headersSent ? res.socket : res;
    const s: Subscriber = {
      filter,
      res,
      out,
      chunked: out !== res && res.chunkedEncoding,
      lastId: 0,
      batch: '',
      scheduled: false,
      batchLimit: out.writableHighWaterMark || 16 * 1024,
      queued: [],
      queuedBytes: 0,
      draining: false,
      pending: [],
    };
    this.subs.add(s);
    const cleanup = () => {
      this.subs.delete(s);
      s.batch = '';
      s.queued = [];
    };
    res.on('close', cleanup);
    this.write(s, 'retry: 2000\n: connected\n\n');
    // Replay from the store while live events wait in `pending`, then hand over without a gap.
    if (lastEventId !== undefined) {
      // at most the newest maxReplay events: a client far behind skips the oldest, never the newest
      let cursor = Math.max(lastEventId, this.store.lastId() - this.maxReplay);
      while (this.subs.has(s)) {
        const batch = this.store.since(cursor, 1000);
        for (const e of batch) this.deliver(s, e);
        if (batch.length === 0) break;
        cursor = batch[batch.length - 1].id;
      }
      s.lastId = Math.max(s.lastId, cursor);
    } else {
      s.lastId = this.store.lastId();
    }
    const pending = s.pending ?? [];
    s.pending = null;
    for (const e of pending) this.deliver(s, e);
  }

  close(): void {
    clearInterval(this.heartbeat);
    if (this.flushTimer) clearImmediate(this.flushTimer);
    this.flushTimer = null;
    this.batched = [];
    for (const s of this.subs) {
      // what this tick emitted still reaches the subscriber before the stream ends
      if (s.batch && !s.draining) this.send(s);
      s.batch = '';
      s.res.end();
    }
    this.subs.clear();
  }
}
