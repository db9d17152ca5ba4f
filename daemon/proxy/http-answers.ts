import { STATUS_CODES } from 'node:http';
import type { Head } from './http-parse';
import type { HttpReplaceRule } from './http-rules';

// The bytes the HTTP proxy writes of its own instead of the upstream's: a whole answer (an abort
// rule, a bad request, an unreachable upstream) and a replaced response head (a replace rule).

/** A complete response the proxy gives itself (abort, errors). */
export function answer(status: number, body: string, opts: { close: boolean; head?: boolean; version?: string }): Buffer {
  const bytes = Buffer.from(body);
  const head =
    `HTTP/${opts.version === '1.0' ? '1.0' : '1.1'} ${status} ${STATUS_CODES[status] ?? 'Status'}\r\n` +
    `content-type: text/plain; charset=utf-8\r\ncontent-length: ${bytes.length}\r\n` +
    (opts.close ? 'connection: close\r\n' : opts.version === '1.0' ? 'connection: keep-alive\r\n' : '') +
    '\r\n';
  return opts.head ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), bytes]);
}

/** The upstream's response head with the replacement's status and headers (and body length). */
export function replacedHead(head: Head, replace: HttpReplaceRule): Buffer {
  const overrides = Object.entries(replace.headers ?? {});
  const dropped = new Set(overrides.map(([k]) => k.toLowerCase()));
  if (replace.body !== undefined) {
    dropped.add('content-length');
    dropped.add('transfer-encoding');
  }
  const lines = head.lines.filter(([k]) => !dropped.has(k.toLowerCase()));
  for (const [k, v] of overrides) if (!(replace.body !== undefined && k.toLowerCase() === 'content-length')) lines.push([k, v]);
  if (replace.body !== undefined) lines.push(['Content-Length', String(Buffer.byteLength(replace.body))]);
  const status = replace.status ?? head.status;
  const reason = status === head.status ? head.reason : (STATUS_CODES[status] ?? 'Status');
  return Buffer.from(`HTTP/${head.version} ${status} ${reason}\r\n${lines.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`, 'latin1');
}
