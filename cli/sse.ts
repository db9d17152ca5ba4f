import type { FaultlineEvent } from '../api/events';
import { type Client, CliError, EXIT, formatServerError } from './client';

// Follows /api/v1/events/stream: parses `id:`/`data:` frames, and reconnects with Last-Event-ID
// when the connection drops (the exporter replays what was missed), until `signal` aborts.

export async function followEvents(client: Client, query: URLSearchParams, onEvent: (e: FaultlineEvent) => void, signal: AbortSignal, lastId?: number): Promise<void> {
  let last = lastId;
  let failures = 0;
  while (!signal.aborted) {
    let res: globalThis.Response;
    try {
      res = await fetch(`${client.base}/api/v1/events/stream?${query}`, {
        headers: client.headers({ accept: 'text/event-stream', ...(last !== undefined ? { 'last-event-id': String(last) } : {}) }),
        signal,
      });
    } catch (err) {
      if (signal.aborted) return;
      if (++failures >= 30) throw new CliError(`lost the event stream at ${client.base}: ${(err as Error).message}`, EXIT.unavailable);
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    if (!res.ok || !res.body) {
      const body = await res.json().catch(() => undefined);
      throw new CliError(formatServerError(res.status, body), res.status === 401 || res.status === 403 ? EXIT.unauthorized : EXIT.invalid);
    }
    failures = 0;
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
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
      if (signal.aborted) return;
    }
    if (!signal.aborted) await new Promise((r) => setTimeout(r, 500));
  }
}
