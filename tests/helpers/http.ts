import net from 'node:net';

// The one JSON client for tests: any method, a JSON (or raw string) body, a bearer token or any
// headers, and the reply parsed as JSON when it is JSON (metrics and other text stay strings; an
// event stream is not read, only its status and headers).

export interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

export interface RequestOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string | null;
  headers?: Record<string, string>;
}

export async function request(url: string, method: string, p: string, body?: unknown, o: RequestOptions = {}): Promise<Reply> {
  const res = await fetch(url + p, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
      ...(o.headers ?? {}),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
    await res.body?.cancel();
    return { status: res.status, body: undefined, headers: res.headers };
  }
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON (metrics text) */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** A free TCP port on 127.0.0.1 (for programs that need the port on their command line). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
