import type { FaultlineEvent } from '../api/events';
import { type Client, CliError, EXIT, formatServerError } from './client';

// Follows /api/v1/events/stream: parses `id:`/`data:` frames and reconnects with Last-Event-ID
// (the exporter replays what was missed). The exporter writes a heartbeat comment every 15 s, so a
// stream silent for longer than `heartbeatTimeoutMs` belongs to a dead or hung exporter: the
// connection is dropped and made again. After `giveUpAfterMs` without a working stream the
// command ends with exit 5, so a script or CI job never hangs on a dead exporter.

export interface FollowOptions {
  /** Resume after this event id (0: replay from the start; undefined: only new events). */
  lastId?: number;
  heartbeatTimeoutMs: number;
  giveUpAfterMs: number;
  /** Connection troubles and recoveries, for stderr. */
  onNotice(message: string): void;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export async function followEvents(client: Client, query: URLSearchParams, onEvent: (e: FaultlineEvent) => void, signal: AbortSignal, o: FollowOptions): Promise<void> {
  let last = o.lastId;
  let lostSince: number | undefined;
  const secs = (ms: number) => `${Math.round(ms / 100) / 10}s`;
  const lost = (why: string) => {
    if (lostSince === undefined) {
      lostSince = Date.now();
      o.onNotice(`${why}: reconnecting for up to ${secs(o.giveUpAfterMs)}${last !== undefined ? `, from event ${last}` : ''}`);
    }
    if (Date.now() - lostSince >= o.giveUpAfterMs) {
      throw new CliError(`lost the event stream at ${client.base}: ${why}, and no working stream for ${secs(Date.now() - lostSince)}; giving up`, EXIT.unavailable);
    }
  };
  while (!signal.aborted) {
    const conn = new AbortController();
    const onAbort = () => conn.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    let why = 'the exporter closed the event stream';
    // the watchdog: an answer, then any byte (an event or a heartbeat), proves the exporter alive;
    // a hung exporter still accepts connections (the kernel does), so it guards the request too
    let watchdog: NodeJS.Timeout | undefined;
    const arm = (silence: string) => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        why = silence;
        conn.abort();
      }, o.heartbeatTimeoutMs);
    };
    try {
      let res;
      arm(`no answer from the exporter for ${secs(o.heartbeatTimeoutMs)}`);
      try {
        res = await client.raw('GET', `/api/v1/events/stream?${query}`, undefined, {
          signal: conn.signal,
          headers: { accept: 'text/event-stream', ...(last !== undefined ? { 'last-event-id': String(last) } : {}) },
        });
      } catch (err) {
        if (signal.aborted) return;
        lost(conn.signal.aborted ? why : err instanceof CliError ? err.message.replace(/ \(is it running\?.*$/, '') : String(err));
        await sleep(1000, signal);
        continue;
      }
      if (!res.ok) {
        const text = await res.text();
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        if (res.status >= 500) {
          lost(`the exporter answered HTTP ${res.status}`);
          await sleep(1000, signal);
          continue;
        }
        throw new CliError(formatServerError(res.status, body), res.status === 401 || res.status === 403 ? EXIT.unauthorized : res.status === 404 ? EXIT.notFound : EXIT.invalid);
      }
      if (!res.contentType.startsWith('text/event-stream')) {
        res.body.destroy();
        throw new CliError(`${client.base} answered the event stream with ${res.contentType || 'no content type'}: not a Faultline exporter? Check --server or FAULTLINE_SERVER`, EXIT.unavailable);
      }
      if (lostSince !== undefined) o.onNotice(`reconnected to ${client.base}${last !== undefined ? ` after event ${last}` : ''}`);
      lostSince = undefined;
      const silence = `no heartbeat from the exporter for ${secs(o.heartbeatTimeoutMs)}`;
      arm(silence);
      const decoder = new TextDecoder();
      let buf = '';
      try {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          arm(silence);
          buf += decoder.decode(chunk, { stream: true });
          let idx;
          while ((idx = buf.indexOf('\n\n')) >= 0) {
            const frame = buf.slice(0, idx);
            buf = buf.slice(idx + 2);
            const data = frame
              .split('\n')
              .filter((l) => l.startsWith('data:'))
              .map((l) => l.slice(5).trimStart())
              .join('\n');
            if (!data) continue;
            const e = JSON.parse(data) as FaultlineEvent;
            last = e.id;
            onEvent(e);
          }
        }
      } catch {
        /* aborted by the watchdog or the user, or the connection broke: see below */
      }
      clearTimeout(watchdog);
      if (signal.aborted) return;
      lost(why);
      await sleep(500, signal);
    } finally {
      clearTimeout(watchdog);
      signal.removeEventListener('abort', onAbort);
    }
  }
}
