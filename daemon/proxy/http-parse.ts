// Just enough HTTP/1.1 to proxy it as bytes: find and read message heads, and follow body framing
// (Content-Length, chunked, until-close) so the proxy knows where one message ends and the next
// begins on a keep-alive connection. Heads and bodies are forwarded exactly as they came; only the
// messages a fault acts on are rewritten. (Node's own http stack re-parses and re-serialises every
// message, which costs about as much CPU as the client and server together: see bench/proxy.ts.)

export const MAX_HEAD = 64 * 1024;

export interface Head {
  /** The head's bytes, request/status line to the blank line included. */
  raw: Buffer;
  method: string;
  url: string;
  version: string;
  status: number;
  reason: string;
  /** Lower-case name → value (repeated headers joined with ", "). */
  headers: Record<string, string>;
  /** Header lines as received, for rewriting. */
  lines: [string, string][];
}

/** Offset just past the blank line that ends a head, or -1 when it has not arrived yet. */
export function headEnd(buf: Buffer): number {
  const i = buf.indexOf('\r\n\r\n', 0, 'latin1');
  return i < 0 ? -1 : i + 4;
}

export function parseHead(raw: Buffer, kind: 'request' | 'response'): Head {
  const text = raw.toString('latin1', 0, raw.length - 4);
  const all = text.split('\r\n');
  const first = all[0];
  const head: Head = { raw, method: '', url: '', version: '', status: 0, reason: '', headers: {}, lines: [] };
  if (kind === 'request') {
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/(1\.[01])$/.exec(first);
    if (!m) throw new Error(`bad request line: ${first.slice(0, 100)}`);
    [, head.method, head.url, head.version] = m;
  } else {
    const m = /^HTTP\/(1\.[01]) ([0-9]{3})(?: (.*))?$/.exec(first);
    if (!m) throw new Error(`bad status line: ${first.slice(0, 100)}`);
    head.version = m[1];
    head.status = Number(m[2]);
    head.reason = m[3] ?? '';
  }
  for (let i = 1; i < all.length; i++) {
    const line = all[i];
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`bad header line: ${line.slice(0, 100)}`);
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    head.lines.push([name, value]);
    const key = name.toLowerCase();
    head.headers[key] = key in head.headers ? `${head.headers[key]}, ${value}` : value;
  }
  return head;
}

function hasToken(value: string | undefined, token: string): boolean {
  return !!value && value.toLowerCase().split(',').some((t) => t.trim() === token);
}

/** Whether the connection stays open after this message (HTTP/1.1 default yes, 1.0 default no). */
export function keepsAlive(h: Head): boolean {
  const c = h.headers.connection;
  return h.version === '1.1' ? !hasToken(c, 'close') : hasToken(c, 'keep-alive');
}

export function isUpgrade(h: Head): boolean {
  return h.method === 'CONNECT' || (hasToken(h.headers.connection, 'upgrade') && !!h.headers.upgrade);
}

export type Framing = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

function chunkedLast(te: string | undefined): boolean {
  const parts = (te ?? '').toLowerCase().split(',').map((s) => s.trim()).filter(Boolean);
  return parts[parts.length - 1] === 'chunked';
}

function lengthOf(h: Head): number {
  const v = h.headers['content-length'];
  if (v === undefined) return -1;
  const first = v.split(',')[0].trim();
  if (!/^[0-9]{1,15}$/.test(first)) throw new Error(`bad content-length: ${v}`);
  return Number(first);
}

export function requestFraming(h: Head): Framing {
  if (h.headers['transfer-encoding'] !== undefined) {
    if (!chunkedLast(h.headers['transfer-encoding'])) throw new Error('request transfer-encoding without chunked last');
    return { kind: 'chunked' };
  }
  const n = lengthOf(h);
  return n > 0 ? { kind: 'length', length: n } : { kind: 'none' };
}

export function responseFraming(h: Head, requestMethod: string): Framing {
  if (requestMethod === 'HEAD' || h.status < 200 || h.status === 204 || h.status === 304) return { kind: 'none' };
  if (requestMethod === 'CONNECT' && h.status < 300) return { kind: 'none' };
  if (h.headers['transfer-encoding'] !== undefined) return chunkedLast(h.headers['transfer-encoding']) ? { kind: 'chunked' } : { kind: 'close' };
  const n = lengthOf(h);
  if (n >= 0) return n > 0 ? { kind: 'length', length: n } : { kind: 'none' };
  return { kind: 'close' };
}

/**
 * Follows one body through its framing. `take` says how many bytes from `offset` belong to the
 * body and whether the body is complete; the caller forwards exactly those bytes.
 */
export class BodyReader {
  private remaining = 0;
  private state: 'data' | 'size' | 'data-crlf' | 'trailer' | 'done' | 'close';
  private line = '';
  private inChunk = false;

  constructor(framing: Framing) {
    if (framing.kind === 'none') this.state = 'done';
    else if (framing.kind === 'length') {
      this.state = 'data';
      this.remaining = framing.length;
    } else if (framing.kind === 'chunked') this.state = 'size';
    else this.state = 'close';
  }

  get done(): boolean {
    return this.state === 'done';
  }

  /** Until-close bodies end when the connection does. */
  get untilClose(): boolean {
    return this.state === 'close';
  }

  take(buf: Buffer, offset: number): number {
    let i = offset;
    while (i < buf.length && this.state !== 'done') {
      switch (this.state) {
        case 'close':
          return buf.length - offset;
        case 'data': {
          const n = Math.min(this.remaining, buf.length - i);
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.state = this.inChunk ? 'data-crlf' : 'done';
            this.remaining = 2;
          }
          break;
        }
        case 'data-crlf': {
          // The CRLF after chunk data: two bytes, possibly split across reads.
          const n = Math.min(this.remaining, buf.length - i);
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.state = 'size';
          break;
        }
        case 'size':
        case 'trailer': {
          const nl = buf.indexOf(10, i);
          const end = nl < 0 ? buf.length : nl + 1;
          this.line += buf.toString('latin1', i, end);
          i = end;
          if (this.line.length > 8192) throw new Error('chunk size or trailer line too long');
          if (nl < 0) break;
          const text = this.line.trim();
          this.line = '';
          if (this.state === 'trailer') {
            if (text === '') this.state = 'done';
          } else {
            const size = parseInt(text.split(';')[0], 16);
            if (!Number.isFinite(size) || size < 0 || !/^[0-9a-fA-F]+/.test(text)) throw new Error(`bad chunk size: ${text.slice(0, 40)}`);
            if (size === 0) this.state = 'trailer';
            else {
              this.state = 'data';
              this.remaining = size;
              this.inChunk = true;
            }
          }
          break;
        }
      }
    }
    return i - offset;
  }
}
