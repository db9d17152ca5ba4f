import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import httpFault from '../../daemon/faults/http-fault';
import type { FaultKind } from '../../daemon/faults/types';
import { answer } from '../../daemon/proxy/http-answers';
import { injectFault, listen, useRelay, type TestFault } from './proxy-helpers';

// The http-fault proxy's common path reads into buffers it reuses, reads heads in place and writes
// what one read forwards in one go. These check it on bytes: many pipelined requests with every kind
// of body, delivered whole or a few bytes at a time, must come back byte for byte as the upstream
// answers them directly, in request order, with only the requests a rule matches answered by the proxy.

jest.setTimeout(120_000);
const kind = httpFault as unknown as FaultKind;
let upstream: http.Server;
let upstreamPort: number;
const sockets = new Set<net.Socket>();
const faults: TestFault[] = [];

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    res.sendDate = false; // byte-identical answers, however often asked
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (d: Buffer) => {
      hash.update(d);
      length += d.length;
    });
    req.on('end', () => {
      const summary = `${req.method} ${req.url} ${length} ${hash.digest('hex').slice(0, 16)}`;
      const m = /^\/chunked\/([0-9]+)/.exec(req.url ?? '');
      if (m) {
        // Chunked response; the parts (some large) go out in separate writes.
        res.writeHead(200, { 'content-type': 'text/plain' });
        for (let i = 0; i < Number(m[1]); i++) res.write(`${summary} part ${i} ${'p'.repeat(i * 7000)}\n`);
        return res.end();
      }
      if (req.url?.startsWith('/big')) {
        const body = Buffer.alloc(300 * 1024, summary);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
        return res.end(body);
      }
      if (req.url?.startsWith('/nocontent')) {
        res.writeHead(204);
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(summary) });
      res.end(summary);
    });
  });
  upstream.keepAliveTimeout = 30_000;
  upstream.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  upstreamPort = await listen(upstream);
});
afterEach(async () => {
  for (const f of faults.splice(0)) await f.recover();
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => upstream.close(r));
});

interface Req {
  method: string;
  path: string;
  body?: Buffer;
  chunked?: boolean;
  close?: boolean;
}

function encode(r: Req): Buffer {
  const lines = [`${r.method} ${r.path} HTTP/1.1`, 'Host: test', 'X-Mixed-Case: Yes'];
  if (r.close) lines.push('Connection: close');
  if (r.body && r.chunked) {
    lines.push('Transfer-Encoding: chunked');
    const parts: Buffer[] = [];
    for (let i = 0; i < r.body.length; i += 5000) {
      const part = r.body.subarray(i, i + 5000);
      parts.push(Buffer.from(`${part.length.toString(16)};ext=${i}\r\n`), part, Buffer.from('\r\n'));
    }
    return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n'), ...parts, Buffer.from('0\r\nX-Trailer: t\r\n\r\n')]);
  }
  if (r.body) lines.push(`Content-Length: ${r.body.length}`);
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n'), r.body ?? Buffer.alloc(0)]);
}

/** Deterministic bytes (a small PRNG), so a body is the same every run. */
function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** A mix of requests; those under /x/ are what the abort rule below matches. The last one closes. */
function requests(n: number): Req[] {
  const out: Req[] = [];
  for (let i = 0; i < n; i++) {
    const prefix = i % 3 === 1 ? '/x' : '';
    switch (i % 7) {
      case 0:
        out.push({ method: 'GET', path: `${prefix}/get/${i}?q=${i}` });
        break;
      case 1:
        out.push({ method: 'POST', path: `${prefix}/post/${i}`, body: bytes(1 + ((i * 977) % 40_000), i) });
        break;
      case 2:
        out.push({ method: 'POST', path: `${prefix}/chunked-up/${i}`, body: bytes(1 + ((i * 1311) % 30_000), i), chunked: true });
        break;
      case 3:
        out.push({ method: 'GET', path: `${prefix}/chunked/${i % 5}` });
        break;
      case 4:
        out.push({ method: 'HEAD', path: `${prefix}/head/${i}` });
        break;
      case 5:
        out.push({ method: 'GET', path: `${prefix}/nocontent/${i}` });
        break;
      default:
        out.push({ method: 'GET', path: `${prefix}/big/${i}` });
    }
  }
  out.push({ method: 'GET', path: '/last', close: true });
  return out;
}

/** Sends `data` on one connection (whole, or in pieces of 1..`piece` bytes) and returns all it got until the end. */
async function exchange(port: number, data: Buffer, piece?: number, readAfterMs = 0): Promise<Buffer> {
  const s = net.connect(port, '127.0.0.1');
  if (readAfterMs) {
    // A client that reads late: the proxy's writes to it stay pending and its reads must wait.
    s.pause();
    setTimeout(() => s.resume(), readAfterMs);
  }
  const got: Buffer[] = [];
  s.on('data', (d: Buffer) => got.push(d));
  const ended = new Promise<void>((resolve, reject) => {
    s.once('end', () => resolve());
    s.once('error', reject);
  });
  await new Promise((r) => s.once('connect', r));
  if (!piece) s.write(data);
  else {
    let seed = 7;
    for (let i = 0; i < data.length; ) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const n = 1 + (seed % piece);
      if (!s.write(data.subarray(i, i + n))) await new Promise((r) => s.once('drain', r));
      i += n;
      if (seed % 5 === 0) await new Promise((r) => setImmediate(r));
    }
  }
  await ended;
  s.destroy();
  return Buffer.concat(got);
}

async function proxy(rules: Record<string, unknown>): Promise<number> {
  const f = await injectFault(kind, { listen: '127.0.0.1:0', upstream: `127.0.0.1:${upstreamPort}`, ...rules });
  faults.push(f);
  return f.state.proxyPort as number;
}

// Both relays: the native one carries the requests a rule rules out by method, path or header in C
// (daemon/native/relay-http.c) and hands the rest to JavaScript, FAULTLINE_PROXY_RELAY=js serves all in JavaScript.
describe.each(['native', 'js'])('http-fault, %s relay: pipelined requests pass byte for byte', (relay) => {
  useRelay(relay);
  const reqs = requests(120);
  const stream = Buffer.concat(reqs.map(encode));

  it('with a rule that matches nothing: the same bytes as direct, whole or in pieces of a few bytes', async () => {
    const direct = await exchange(upstreamPort, stream);
    expect(direct.length).toBeGreaterThan(3_000_000);
    const port = await proxy({ match: { path: '/never/**' }, abort: { status: 503 } });
    expect((await exchange(port, stream)).equals(direct)).toBe(true);
    expect((await exchange(port, stream, 7)).equals(direct)).toBe(true);
    expect((await exchange(port, stream, 3000)).equals(direct)).toBe(true);
    // Far more answer bytes than the sockets' kernel buffers hold, for a client that reads late.
    const bigs = Buffer.concat([...Array.from({ length: 60 }, (_, i) => encode({ method: 'GET', path: `/big/${i}` })), encode({ method: 'GET', path: '/last', close: true })]);
    const bigDirect = await exchange(upstreamPort, bigs);
    expect((await exchange(port, bigs, undefined, 300)).equals(bigDirect)).toBe(true);
  });

  it('with a delay rule matching some: the same bytes as direct (held requests wait as copies)', async () => {
    const direct = await exchange(upstreamPort, stream);
    const port = await proxy({ match: { path: '/x/**' }, delay: { latency: '1ms' } });
    expect((await exchange(port, stream)).equals(direct)).toBe(true);
    expect((await exchange(port, stream, 5000)).equals(direct)).toBe(true);
  });

  it('with a rule matching some: those get the abort answer in their place, the rest as direct, in order', async () => {
    const aborted = (r: Req) => r.path.startsWith('/x/');
    // The upstream sees only what is not aborted: its direct answers to those are what must come through.
    const direct = await exchange(upstreamPort, Buffer.concat(reqs.filter((r) => !aborted(r)).map(encode)));
    const port = await proxy({ match: { path: '/x/**' }, abort: { status: 503, body: 'aborted by rule' } });
    for (const piece of [undefined, 11]) {
      const got = await exchange(port, stream, piece);
      const answers = reqs.map((r) => (aborted(r) ? answer(503, 'aborted by rule', { close: false, head: r.method === 'HEAD', version: '1.1' }) : undefined));
      // Take the proxy's answers out where they must be and what is left is exactly the direct bytes.
      let rest = got;
      const upstreamParts: Buffer[] = [];
      let pending = 0; // requests answered upstream since the last proxy answer
      for (const a of answers) {
        if (!a) {
          pending++;
          continue;
        }
        const at = rest.indexOf(a);
        expect(at).toBeGreaterThanOrEqual(0);
        const before = rest.subarray(0, at);
        // Exactly the upstream answers of the requests in between precede it.
        expect(before.toString('latin1').match(/HTTP\/1\.1 [0-9]{3} /g)?.length ?? 0).toBe(pending);
        upstreamParts.push(before);
        rest = rest.subarray(at + a.length);
        pending = 0;
      }
      upstreamParts.push(rest);
      expect(Buffer.concat(upstreamParts).equals(direct)).toBe(true);
    }
  });

  it('a header rule reads the header whatever its case, among many others', async () => {
    const port = await proxy({ match: { headers: { 'x-mixed-case': 'Yes' } }, abort: { status: 418, body: 'hdr' } });
    const got = await exchange(port, Buffer.concat([encode({ method: 'GET', path: '/a' }), Buffer.from('GET /b HTTP/1.1\r\nHost: t\r\nX-MIXED-CASE: no\r\nConnection: close\r\n\r\n')]));
    const text = got.toString('latin1');
    expect(text.startsWith("HTTP/1.1 418 I'm a Teapot\r\n")).toBe(true);
    expect(text).toContain('GET /b 0 ');
  });
});
