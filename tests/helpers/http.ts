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
