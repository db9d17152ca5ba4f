import { filter, map, Observable, share } from 'rxjs';
import type { FaultlineEvent } from '../../api/events';
import { sseStream, type SseMessage } from './sse';

// One Server-Sent Events connection per data source, shared by every live query, panel and page of
// the browser tab. A dashboard with twenty live panels would otherwise hold twenty long-lived
// requests through Grafana's proxy and, on HTTP/1.1, use up the browser's ~6 connections per host,
// starving Grafana's own requests.
//
// The data source, the panel and the app are three bundles (three copies of this module), so the
// registry lives on globalThis under a Symbol.for key: whichever bundle subscribes first opens the
// stream, the others join it. Reference counted: the connection closes when the last subscriber
// unsubscribes; reconnects resume with Last-Event-ID (sse.ts), so no event is missed in between.
// Filters are applied per subscriber in the browser; the stream itself carries every event.

interface SharedStream {
  events: Observable<FaultlineEvent>;
  /** Connections opened so far (for tests and the harness). */
  opened: number;
  /** Subscribers right now. */
  subscribers: number;
  /** Connected right now. */
  connected: boolean;
}

const REGISTRY_KEY = Symbol.for('faultline.eventStreams');

function registry(): Map<string, SharedStream> {
  const g = globalThis as unknown as Record<symbol, Map<string, SharedStream> | undefined>;
  return (g[REGISTRY_KEY] ??= new Map());
}

function parse(m: SseMessage): FaultlineEvent | undefined {
  try {
    const ev = JSON.parse(m.data) as FaultlineEvent;
    return ev && typeof ev.id === 'number' && typeof ev.type === 'string' ? ev : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The shared event stream of the data source whose proxied API is at `apiBase` (browser-relative
 * URL of `<proxy>/api/v1`). Every call returns the same connection while anyone listens.
 */
export function sharedEvents(streamUrl: string): SharedStream {
  const known = registry().get(streamUrl);
  if (known) return known;
  const entry: SharedStream = { opened: 0, subscribers: 0, connected: false, events: undefined as unknown as Observable<FaultlineEvent> };
  const source = sseStream(streamUrl, {
    onOpen: () => {
      entry.opened += 1;
      entry.connected = true;
    },
  }).pipe(
    map(parse),
    filter((ev): ev is FaultlineEvent => ev !== undefined),
    share({ resetOnRefCountZero: true, resetOnError: true, resetOnComplete: true }),
  );
  entry.events = new Observable<FaultlineEvent>((subscriber) => {
    entry.subscribers += 1;
    const sub = source.subscribe(subscriber);
    return () => {
      entry.subscribers -= 1;
      if (entry.subscribers === 0) entry.connected = false;
      sub.unsubscribe();
    };
  });
  registry().set(streamUrl, entry);
  return entry;
}

/** What the registry holds, by stream URL: for the browser harness' connection count. */
export function sharedStreamStats(): Record<string, { opened: number; subscribers: number; connected: boolean }> {
  const out: Record<string, { opened: number; subscribers: number; connected: boolean }> = {};
  for (const [url, s] of registry()) out[url] = { opened: s.opened, subscribers: s.subscribers, connected: s.connected };
  return out;
}
