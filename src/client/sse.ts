import { Observable } from 'rxjs';

// Server-Sent Events over fetch() rather than EventSource: EventSource cannot send headers, and on a
// reconnect we want to say where we stopped (`Last-Event-ID`) ourselves, also after the data source
// proxy cut a long-lived response (Grafana's proxy has a timeout). Unsubscribing aborts the request,
// so a panel that goes away closes its connection.

export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

export interface SseOptions {
  /** Headers for every (re)connect; Last-Event-ID is added by the stream. */
  headers?: Record<string, string>;
  /** Resume after this event id (sent as Last-Event-ID on the first connect too). */
  lastEventId?: string;
  /** Wait before reconnecting, unless the server sent `retry:`. */
  retryMs?: number;
  /** Defaults to the global fetch (the browser's, or Node's in tests). */
  fetch?: typeof fetch;
  /** Called when a connection opens; for status displays and tests. */
  onOpen?: (attempt: number) => void;
}

/** HTTP statuses that will not get better by retrying: stop and report. */
const FATAL_STATUSES = new Set([400, 401, 403, 404, 405]);

export class SseHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(sseErrorMessage(status, body));
    this.name = 'SseHttpError';
  }
}

function sseErrorMessage(status: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string }; message?: string };
    const msg = parsed.error?.message ?? parsed.message;
    if (msg) return `event stream: ${status} ${msg}`;
  } catch {
    // not JSON: fall through to the plain status
  }
  return `event stream: HTTP ${status}`;
}

/**
 * Parses an SSE byte stream incrementally (WHATWG rules: `field: value` lines, blank line ends a
 * message, `:` comments ignored, `id` persists across messages).
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private sawField = false;
  lastEventId: string | undefined;
  retryMs: number | undefined;

  constructor(lastEventId?: string) {
    this.lastEventId = lastEventId;
  }

  /** Feeds a decoded chunk; returns the messages it completed. */
  push(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const out: SseMessage[] = [];
    let newline: number;
    while ((newline = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, newline);
      const sepLength = this.buffer.startsWith('\r\n', newline) ? 2 : 1;
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (this.buffer[newline] === '\r' && newline + 1 === this.buffer.length) break;
      this.buffer = this.buffer.slice(newline + sepLength);
      const message = this.line(line);
      if (message) out.push(message);
    }
    return out;
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') {
      if (!this.sawField) return undefined;
      const message: SseMessage = { id: this.lastEventId, event: this.event || 'message', data: this.data.join('\n') };
      this.data = [];
      this.event = '';
      this.sawField = false;
      return message.data === '' && message.event === 'message' ? undefined : message;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        this.sawField = true;
        break;
      case 'event':
        this.event = value;
        this.sawField = true;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.retryMs = Number(value);
        break;
    }
    return undefined;
  }
}

/**
 * Streams messages from an SSE endpoint until unsubscribed. Reconnects after network errors and
 * ended responses with `Last-Event-ID`, so the server replays what was missed; 4xx answers end the
 * stream with an SseHttpError.
 */
export function sseStream(url: string, options: SseOptions = {}): Observable<SseMessage> {
  return new Observable<SseMessage>((subscriber) => {
    const abort = new AbortController();
    const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    const parser = new SseParser(options.lastEventId);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;

    const connect = async (): Promise<void> => {
      attempt += 1;
      const headers: Record<string, string> = { Accept: 'text/event-stream', ...options.headers };
      if (parser.lastEventId !== undefined) headers['Last-Event-ID'] = parser.lastEventId;
      const response = await doFetch(url, { headers, signal: abort.signal, credentials: 'same-origin', cache: 'no-store' });
      if (!response.ok || !response.body) {
        const body = await response.text().catch(() => '');
        throw new SseHttpError(response.status, body);
      }
      options.onOpen?.(attempt);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      while (!abort.signal.aborted) {
        const { done, value } = await reader.read();
        if (done) break;
        for (const message of parser.push(decoder.decode(value, { stream: true }))) subscriber.next(message);
      }
    };

    const loop = (): void => {
      connect().then(
        () => scheduleReconnect(),
        (err: unknown) => {
          if (abort.signal.aborted) return;
          if (err instanceof SseHttpError && FATAL_STATUSES.has(err.status)) {
            subscriber.error(err);
            return;
          }
          scheduleReconnect();
        },
      );
    };

    const scheduleReconnect = (): void => {
      if (abort.signal.aborted) return;
      timer = setTimeout(loop, parser.retryMs ?? options.retryMs ?? 1000);
    };

    loop();
    return () => {
      if (timer) clearTimeout(timer);
      abort.abort();
    };
  });
}
