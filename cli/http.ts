import http, { type IncomingMessage } from 'node:http';

// The CLI's HTTP transport: node:http (node:https only for https URLs), not fetch. Loading fetch's
// implementation costs a client command more CPU than everything else it does (measured: ~80 ms of
// user time against ~10 ms for node:http), and `faultline get` should start about as fast as node.

export interface HttpResponse {
  status: number;
  ok: boolean;
  contentType: string;
  /** The body as it arrives (event streams read it chunk by chunk). */
  body: IncomingMessage;
  /** The whole body as text. */
  text(): Promise<string>;
}

export interface HttpRequest {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export async function httpRequest(url: URL, o: HttpRequest): Promise<HttpResponse> {
  const mod = url.protocol === 'https:' ? await import('node:https') : http;
  const headers: Record<string, string | number> = { ...o.headers, connection: 'close' };
  if (o.body !== undefined) headers['content-length'] = Buffer.byteLength(o.body);
  return new Promise((resolve, reject) => {
    // agent: false: one connection per request, closed after it, so nothing keeps the process alive
    const req = mod.request(url, { method: o.method, headers, signal: o.signal, agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      resolve({
        status,
        ok: status >= 200 && status < 300,
        contentType: String(res.headers['content-type'] ?? ''),
        body: res,
        text: () =>
          new Promise<string>((done, fail) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
            res.on('error', fail);
          }),
      });
    });
    req.on('error', reject);
    req.end(o.body);
  });
}
