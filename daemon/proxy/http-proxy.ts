import http from 'node:http';
import net from 'node:net';
import type { Static } from '@sinclair/typebox';
import type { HttpAbort, HttpDelay, HttpMatch, HttpReplace } from '../../api/proxy';
import { parseDuration } from '../../api/units';
import { formatEndpoint, type Endpoint } from './endpoint';
import { compileMatcher } from './http-match';
import { drainServer, type RunningProxy } from './tcp-proxy';
import { sleep } from './toxics/sleep';
import type { UpstreamResolver } from './upstream';

// The HTTP/1.1 proxy: node's own parser on both sides (keep-alive, chunked bodies and pipelining as
// node does them), headers forwarded in their original case and order minus the hop-by-hop ones,
// bodies streamed. Upgrades (WebSocket, h2c) are passed through as raw bytes after the request head.

export interface HttpRules {
  match?: Static<typeof HttpMatch>;
  delay?: Static<typeof HttpDelay>;
  abort?: Static<typeof HttpAbort>;
  replace?: Static<typeof HttpReplace>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer']);

/** Raw header pairs minus hop-by-hop ones (and those the Connection header names). */
export function forwardHeaders(raw: string[]): string[] {
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() === 'connection') for (const n of raw[i + 1].split(',')) named.add(n.trim().toLowerCase());
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    if (!HOP_BY_HOP.has(k) && !named.has(k)) out.push(raw[i], raw[i + 1]);
  }
  return out;
}

function hit(percent: number): boolean {
  return percent >= 100 || Math.random() * 100 < percent;
}

export function createHttpProxy(rules: HttpRules, upstreamFor: UpstreamResolver): RunningProxy {
  const matches = compileMatcher(rules.match);
  const delay = rules.delay && { latency: parseDuration(rules.delay.latency), jitter: parseDuration(rules.delay.jitter ?? '0ms'), percent: rules.delay.percent ?? 100 };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 256 });
  const sockets = new Set<net.Socket>();
  const targets = new WeakMap<net.Socket, Promise<Endpoint | undefined>>();
  const targetOf = (s: net.Socket) => {
    let t = targets.get(s);
    if (!t) targets.set(s, (t = upstreamFor(s)));
    return t;
  };
  const server = http.createServer({ keepAlive: true });
  server.on('connection', (s: net.Socket) => {
    s.setNoDelay(true);
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });

  server.on('request', (req, res) => {
    void (async () => {
      const target = await targetOf(req.socket);
      if (!target) return void res.destroy();
      const matched = matches(req);
      if (matched && delay && hit(delay.percent)) {
        const ms = Math.max(0, delay.latency + (delay.jitter ? (Math.random() * 2 - 1) * delay.jitter : 0));
        const gone = new AbortController();
        const onClose = () => gone.abort();
        res.once('close', onClose);
        await sleep(ms, gone.signal);
        res.off('close', onClose);
        if (res.destroyed) return;
      }
      if (matched && rules.abort && hit(rules.abort.percent ?? 100)) {
        const body = rules.abort.body ?? '';
        req.resume();
        res.writeHead(rules.abort.status ?? 503, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      const replace = matched && rules.replace && hit(rules.replace.percent ?? 100) ? rules.replace : undefined;
      const upReq = http.request({
        host: target.host,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: forwardHeaders(req.rawHeaders) as unknown as http.OutgoingHttpHeaders,
        agent,
        setHost: false,
      });
      upReq.on('response', (upRes) => {
        if (replace) return respondReplaced(res, upRes, replace);
        res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, forwardHeaders(upRes.rawHeaders) as unknown as http.OutgoingHttpHeaders);
        upRes.pipe(res);
        res.once('close', () => upRes.destroy());
      });
      upReq.on('error', (err) => {
        if (res.headersSent) return void res.destroy();
        const body = `upstream ${formatEndpoint(target)}: ${err.message}\n`;
        res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      req.pipe(upReq);
    })().catch(() => res.destroy());
  });

  server.on('upgrade', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    void (async () => {
      const target = await targetOf(client);
      if (!target) return void client.destroy();
      const up = net.connect({ host: target.host, port: target.port });
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(lines.join('\r\n') + '\r\n\r\n');
      if (head.length) up.write(head);
      up.pipe(client);
      client.pipe(up);
      up.on('error', () => client.destroy());
      client.on('error', () => up.destroy());
      up.on('close', () => client.destroy());
      client.on('close', () => up.destroy());
    })().catch(() => client.destroy());
  });

  server.on('connect', (_req, client: net.Socket) => {
    client.end('HTTP/1.1 501 Not Implemented\r\ncontent-length: 0\r\n\r\n');
  });

  return {
    server,
    drain: async (graceMs) => {
      server.closeIdleConnections();
      await drainServer(server, sockets, graceMs);
      agent.destroy();
    },
  };
}

function respondReplaced(res: http.ServerResponse, upRes: http.IncomingMessage, replace: NonNullable<HttpRules['replace']>): void {
  const headers = forwardHeaders(upRes.rawHeaders);
  const overrides = new Map(Object.entries(replace.headers ?? {}).map(([k, v]) => [k.toLowerCase(), [k, v] as const]));
  const dropped = new Set([...overrides.keys(), ...(replace.body !== undefined ? ['content-length', 'transfer-encoding'] : [])]);
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (!dropped.has(headers[i].toLowerCase())) out.push(headers[i], headers[i + 1]);
  for (const [k, v] of overrides.values()) if (!(replace.body !== undefined && k.toLowerCase() === 'content-length')) out.push(k, v);
  const status = replace.status ?? upRes.statusCode ?? 502;
  if (replace.body !== undefined) {
    upRes.resume();
    out.push('Content-Length', String(Buffer.byteLength(replace.body)));
    res.writeHead(status, out as unknown as http.OutgoingHttpHeaders);
    res.end(replace.body);
    return;
  }
  res.writeHead(status, out as unknown as http.OutgoingHttpHeaders);
  upRes.pipe(res);
}
