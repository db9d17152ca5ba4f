import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { FaultlineEvent } from '../api/events';
import type { EventStore, NewEvent } from './store/events';

// The event bus: every state change is stored first (it gets its id there), counted, then handed
// to the live subscribers. Server-Sent Events: `id:` per event (a reconnecting client sends
// Last-Event-ID and gets what it missed from the store), comment heartbeats, and a bounded
// buffer per subscriber: one that cannot keep up is disconnected (it reconnects and replays)
// instead of slowing the others or growing memory.

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
  /** Highest id written (replay and live never repeat an event). */
  lastId: number;
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
  }

  get subscribers(): number {
    return this.subs.size;
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
    if (!s.res.write(chunk)) {
      s.draining = true;
      s.res.once('drain', () => this.flush(s));
    }
  }

  private flush(s: Subscriber): void {
    if (!this.subs.has(s)) return;
    s.draining = false;
    const queued = s.queued;
    s.queued = [];
    s.queuedBytes = 0;
    for (const c of queued) this.write(s, c);
  }

  private drop(s: Subscriber, why: string): void {
    if (!this.subs.delete(s)) return;
    this.dropped++;
    s.queued = [];
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
    const s: Subscriber = { filter, res, lastId: 0, queued: [], queuedBytes: 0, draining: false, pending: [] };
    this.subs.add(s);
    const cleanup = () => {
      this.subs.delete(s);
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
    for (const s of this.subs) s.res.end();
    this.subs.clear();
  }
}
