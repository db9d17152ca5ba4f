// Just enough HTTP/1.1 to proxy it as bytes: find and read message heads, and follow body framing
// (Content-Length, chunked, until-close) so the proxy knows where one message ends and the next
// begins on a keep-alive connection. Heads and bodies are forwarded exactly as they came; only the
// messages a fault acts on are rewritten. (Node's own http stack re-parses and re-serialises every
// message, which costs about as much CPU as the client and server together: see bench/proxy.ts.)

export const MAX_HEAD = 64 * 1024;

/** What forwarding and matching read from a head. */
export interface HeadInfo {
  method: string;
  url: string;
  version: string;
  status: number;
  reason: string;
  /** Lower-case name → value (repeated headers joined with ", "); from scanHead only the names asked for. */
  headers: Record<string, string>;
}

export interface Head extends HeadInfo {
  /** The head's bytes, request/status line to the blank line included. */
  raw: Buffer;
  /** Header lines as received, for rewriting. */
  lines: [string, string][];
}

/** The headers that decide where a message ends and what the connection does next. */
export const REQUEST_FRAMING_HEADERS = ['content-length', 'transfer-encoding', 'connection', 'upgrade'] as const;
export const RESPONSE_FRAMING_HEADERS = ['content-length', 'transfer-encoding'] as const;

const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/(1\.[01])$/;
const STATUS_LINE = /^HTTP\/(1\.[01]) ([0-9]{3})(?: (.*))?$/;

/** Offset just past the blank line that ends a head starting at `from`, or -1 when it has not arrived yet. */
export function headEnd(buf: Buffer, from = 0): number {
  const i = buf.indexOf('\r\n\r\n', from, 'latin1');
  return i < 0 ? -1 : i + 4;
}

function firstLine(head: HeadInfo, first: string, kind: 'request' | 'response'): void {
  if (kind === 'request') {
    const m = REQUEST_LINE.exec(first);
    if (!m) throw new Error(`bad request line: ${first.slice(0, 100)}`);
    [, head.method, head.url, head.version] = m;
  } else {
    const m = STATUS_LINE.exec(first);
    if (!m) throw new Error(`bad status line: ${first.slice(0, 100)}`);
    head.version = m[1];
    head.status = Number(m[2]);
    head.reason = m[3] ?? '';
  }
}

/**
 * The head in buf[start, end) (`end` just past its blank line) read in place for forwarding: the
 * first line, and the values of `wanted` headers only (lower-case names). Accepts and rejects
 * exactly what parseHead does, with the same values for those headers, but makes no string of the
 * whole head and none of the other headers: every request and response goes through here, and
 * most of a head (Host, User-Agent, Accept...) is only passed on as the bytes it came as.
 */
export function scanHead(buf: Buffer, start: number, end: number, kind: 'request' | 'response', wanted: readonly string[]): HeadInfo {
  const stop = end - 4; // the head's text is [start, stop): the final CRLF CRLF is not part of it
  let i = start;
  while (i < stop && !(buf[i] === 13 && buf[i + 1] === 10)) i++;
  const head: HeadInfo = { method: '', url: '', version: '', status: 0, reason: '', headers: {} };
  firstLine(head, buf.toString('latin1', start, i), kind);
  while (i < stop) {
    const line = i + 2;
    let colon = -1;
    i = line;
    // One pass per line finds its end and its first colon (the line split and indexOf of parseHead).
    while (i < stop && !(buf[i] === 13 && buf[i + 1] === 10)) {
      if (colon < 0 && buf[i] === 58) colon = i;
      i++;
    }
    if (colon <= line) throw new Error(`bad header line: ${buf.toString('latin1', line, Math.min(i, line + 100))}`);
    const name = wantedName(buf, line, colon, wanted);
    if (name === undefined) continue;
    const value = buf.toString('latin1', colon + 1, i).trim();
    const prev = head.headers[name];
    head.headers[name] = prev === undefined ? value : `${prev}, ${value}`;
  }
  return head;
}

/** The entry of `wanted` that buf[from, to) names, compared as String.toLowerCase would. */
function wantedName(buf: Buffer, from: number, to: number, wanted: readonly string[]): string | undefined {
  const len = to - from;
  for (let w = 0; w < wanted.length; w++) {
    const name = wanted[w];
    if (name.length !== len) continue;
    let k = 0;
    for (; k < len; k++) {
      const c = buf[from + k];
      if ((c >= 65 && c <= 90 ? c | 32 : c) !== name.charCodeAt(k)) break;
    }
    if (k === len) return name;
  }
  return undefined;
}

/** The whole head, every header line kept: for the messages a rule rewrites. */
export function parseHead(raw: Buffer, kind: 'request' | 'response'): Head {
  const text = raw.toString('latin1', 0, raw.length - 4);
  const all = text.split('\r\n');
  const head: Head = { raw, method: '', url: '', version: '', status: 0, reason: '', headers: {}, lines: [] };
  firstLine(head, all[0], kind);
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
export function keepsAlive(h: HeadInfo): boolean {
  const c = h.headers.connection;
  return h.version === '1.1' ? !hasToken(c, 'close') : hasToken(c, 'keep-alive');
}

export function isUpgrade(h: HeadInfo): boolean {
  return h.method === 'CONNECT' || (hasToken(h.headers.connection, 'upgrade') && !!h.headers.upgrade);
}

export type Framing = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

function chunkedLast(te: string | undefined): boolean {
  const parts = (te ?? '').toLowerCase().split(',').map((s) => s.trim()).filter(Boolean);
  return parts[parts.length - 1] === 'chunked';
}

function lengthOf(h: HeadInfo): number {
  const v = h.headers['content-length'];
  if (v === undefined) return -1;
  const first = v.split(',')[0].trim();
  if (!/^[0-9]{1,15}$/.test(first)) throw new Error(`bad content-length: ${v}`);
  return Number(first);
}

export function requestFraming(h: HeadInfo): Framing {
  if (h.headers['transfer-encoding'] !== undefined) {
    if (!chunkedLast(h.headers['transfer-encoding'])) throw new Error('request transfer-encoding without chunked last');
    return { kind: 'chunked' };
  }
  const n = lengthOf(h);
  return n > 0 ? { kind: 'length', length: n } : { kind: 'none' };
}

export function responseFraming(h: HeadInfo, requestMethod: string): Framing {
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
            // above 2^60 is no chunk anyone sends: refused, as the relay thread refuses it (http-frame.c)
            if (!Number.isFinite(size) || size < 0 || size > 2 ** 60 || !/^[0-9a-fA-F]+/.test(text)) throw new Error('bad chunk size');
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
