import net from 'node:net';

// A small JSON client for tests: any method, a JSON (or raw string) body, and the reply parsed as
// JSON when it is JSON (metrics and other text stay strings).

export interface Reply {
  status: number;
  body: any;
}

export async function request(url: string, method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(url + p, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON (metrics text) */
  }
  return { status: res.status, body: parsed };
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
