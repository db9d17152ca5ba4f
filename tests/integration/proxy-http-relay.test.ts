import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import httpFault from '../../daemon/faults/http-fault';
import type { FaultKind } from '../../daemon/faults/types';
import { NATIVE_RELAY_PATH } from '../../daemon/proxy/native-relay';
import { injectFault, listen, setRelay, type TestFault } from './proxy-helpers';

// http-fault's connections are relayed in C (daemon/native/relay-http.c) for as long as the rule's
// methods, path glob and needed headers rule their requests out, and handed to JavaScript at the first request they do
// not (or that the C framing leaves to JavaScript). JavaScript is the reference: every byte stream
// here goes through a proxy child with the native relay and one with FAULTLINE_PROXY_RELAY=js, and the
// client must get the same bytes from both: ordinary requests, the rule's matches between them,
// framing the C code must read as http-parse.ts does, and every malformed or hostile input either
// side refuses.

jest.setTimeout(Number(process.env.RELAY_TEST_TIMEOUT ?? 120_000));
const kind = httpFault as unknown as FaultKind;
const RULE = { match: { methods: ['GET', 'POST', 'HEAD'], path: '/never/**' }, abort: { status: 503, body: 'aborted by rule' } };
const nativeBuilt = existsSync(NATIVE_RELAY_PATH);
const faults: TestFault[] = [];
const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();

/** A Node HTTP server: answers `METHOD URL bodyLength`, and a few paths with bodies framed otherwise. */
async function httpUpstream(): Promise<number> {
  const server = http.createServer((req, res) => {
    res.sendDate = false; // the same bytes however often asked
    let length = 0;
    req.on('data', (d: Buffer) => (length += d.length));
    req.on('end', () => {
      const summary = `${req.method} ${req.url} ${length}`;
      if (req.url?.includes('/chunked')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        for (let i = 0; i < 3; i++) res.write(`${summary} part ${i}\n`);
        return res.end();
      }
      if (req.url?.includes('/nocontent')) return res.writeHead(204).end();
      if (req.url?.includes('/notmodified')) return res.writeHead(304).end();
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(summary) });
      res.end(summary);
    });
  });
  server.keepAliveTimeout = 1000; // a connection a case leaves open ends soon
  return track(server);
}

/**
 * A raw upstream for answers Node's server would not give: reads request heads (and Content-Length
 * bodies) and answers each by its path's last segment.
 */
async function rawUpstream(): Promise<number> {
  const server = net.createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        const length = Number(/content-length: *([0-9]+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        buf = buf.subarray(end + 4 + length);
        const what = (head.split(' ')[1] ?? '').split('/').pop();
        const answers: Record<string, string> = {
          interim: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
          untilclose: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nthe body ends with the connection',
          chunkedup: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3;x=y\r\nabc\r\n0x4\r\ndefg\r\n0\r\nT: 1\r\n\r\n',
          notchunkedlast: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nuntil the end',
          badstatus: 'HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n',
          badlength: 'HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n',
          badchunk: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
          twice: 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb',
          switch: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\nraw after the switch',
          noreason: 'HTTP/1.0 200\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc',
        };
        // (later than the answers before it, which the reset would otherwise race)
        if (what === 'reset') return void setTimeout(() => s.resetAndDestroy(), 50);
        if (what === 'switchecho') {
          // raw bytes from here: echoed until the client's FIN reaches this side
          s.write(answers.switch);
          s.removeAllListeners('data');
          if (buf.length) s.write(buf);
          return void s.on('data', (more: Buffer) => s.write(more));
        }
        if (what === 'silentclose') return void s.end();
        const a = answers[what ?? ''] ?? `HTTP/1.1 200 OK\r\nContent-Length: ${head.length}\r\n\r\n${head}`;
        s.write(a);
        if (what === 'untilclose' || what === 'notchunkedlast' || /^connection: *close/im.test(head)) return void s.end();
        if (what === 'switch') {
          // raw bytes from here: what follows is echoed, and the connection ends
          s.removeAllListeners('data');
          if (buf.length) return void s.end(buf);
          return void s.once('data', (more: Buffer) => s.end(more));
        }
      }
    });
    s.on('error', () => undefined);
  });
  return track(server);
}

async function track(server: net.Server): Promise<number> {
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  servers.push(server);
  return listen(server);
}

async function proxy(relay: 'native' | 'js', upstreamPort: number, rule: Record<string, unknown> = RULE): Promise<TestFault> {
  const restore = setRelay(relay);
  try {
    const f = await injectFault(kind, { listen: '127.0.0.1:0', upstream: `127.0.0.1:${upstreamPort}`, ...rule });
    faults.push(f);
    return f;
  } finally {
    restore();
  }
}

/** Sends `data` (whole, or in pieces of 1..`piece` bytes) and returns what comes back until the proxy ends the connection. */
async function exchange(port: number, data: Buffer, piece?: number, end = false): Promise<string> {
  const s = net.connect(port, '127.0.0.1');
  const got: Buffer[] = [];
  s.on('data', (d: Buffer) => got.push(d));
  // A connection the proxy leaves open is a difference to show, not a test that times out.
  let open = true;
  const ended = new Promise<void>((resolve) => {
    s.once('close', () => {
      open = false;
      resolve();
    });
    s.once('error', () => undefined);
    setTimeout(resolve, 4000).unref();
  });
  await new Promise((r) => s.once('connect', r));
  let seed = 11;
  for (let i = 0; i < data.length; ) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const n = piece ? 1 + (seed % piece) : data.length;
    s.write(data.subarray(i, i + n));
    i += n;
    if (piece && seed % 3 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  if (end) s.end();
  await ended;
  s.destroy();
  return Buffer.concat(got).toString('latin1') + (open ? '[still open]' : '[closed]');
}

const req = (method: string, path: string, headers = '', body = '') => `${method} ${path} HTTP/1.1\r\nHost: t\r\n${headers}\r\n${body}`;
const LAST = req('GET', '/last', 'Connection: close\r\n');
const chunked = (path: string, encoded: string) => req('POST', path, 'Transfer-Encoding: chunked\r\n', encoded);

/** [what, bytes, upstream, pieces of 1..n bytes (0: whole)] (every row has all four: jest passes `done` to a test with more parameters than its row) */
const CASES: [string, string, 'http' | 'raw', number][] = [
  ['relayed requests, one the rule matches between them, relayed ones again', req('GET', '/a') + req('GET', '/never/x') + req('POST', '/b', 'Content-Length: 5\r\n', 'hello') + req('HEAD', '/never/h') + req('GET', '/c') + LAST, 'http', 0],
  ['the same in pieces of 1-7 bytes', req('GET', '/a') + req('GET', '/never/x') + req('POST', '/b', 'Content-Length: 5\r\n', 'hello') + req('GET', '/c') + LAST, 'http', 7],
  ['methods compared as sent (a lower-case get is not GET), and a method outside the rule', req('get', '/never/x') + req('DELETE', '/never/x') + LAST, 'raw', 0],
  ['the query is not part of the path; ** crosses segments, the glob is anchored', req('GET', '/never/x?y=1') + req('GET', '/never?x=/never/') + req('GET', '/nevermore') + req('GET', '/never/a/b/c') + req('GET', '/x/never/y') + LAST, 'raw', 0],
  ['an absolute-form target is matched as it is sent', req('GET', 'http://t/never/x') + req('GET', '/never/y') + LAST, 'raw', 0],
  ['HEAD, 204 and 304 answers have no body, pipelined', req('HEAD', '/h') + req('GET', '/nocontent') + req('GET', '/notmodified') + req('GET', '/chunked') + LAST, 'http', 0],
  ['chunked request bodies: extensions, upper-case hex, a trailer', chunked('/up', '5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n') + LAST, 'http', 5],
  ['chunk sizes read as parseInt reads them: blanks, 0x, text after the digits', chunked('/up', ' 3 \r\nabc\r\n0x2\r\nde\r\n1zz\r\nf\r\n0\r\n\r\n') + LAST, 'http', 0],
  ['a bad chunk size: the answers before it, then 400', req('GET', '/a') + chunked('/up', '3\r\nabc\r\nzz\r\nmore'), 'raw', 0],
  ['a 0x chunk size without digits: 400', chunked('/up', '0x\r\n'), 'raw', 0],
  ['a chunk size above 2^60: 400', chunked('/up', '10000000000000001\r\n'), 'raw', 0],
  ['a chunk-size line of 9000 bytes: 400', chunked('/up', `5;${'e'.repeat(9000)}\r\nhello\r\n0\r\n\r\n`), 'raw', 0],
  ['transfer-encoding without chunked last: 400', req('POST', '/up', 'Transfer-Encoding: chunked, gzip\r\n', 'abc'), 'raw', 0],
  ['transfer-encoding over several lines, chunked last: a chunked body', req('POST', '/up', 'Transfer-Encoding: gzip\r\nTransfer-Encoding: , CHUNKED ,\r\n', '2\r\nab\r\n0\r\n\r\n') + LAST, 'http', 0],
  ['content-length: the first value decides; letters are refused', req('POST', '/a', 'Content-Length: 3, 9\r\nContent-Length: 7\r\n', 'abc') + req('POST', '/b', 'Content-Length: 3a\r\n', 'abc'), 'raw', 0],
  ['content-length of 16 digits: 400', req('POST', '/a', 'Content-Length: 1000000000000000\r\n'), 'raw', 0],
  ['request lines the proxy refuses: two spaces', req('GET', ' /a'), 'raw', 0],
  ['request lines the proxy refuses: HTTP/2.0', 'GET /a HTTP/2.0\r\nHost: t\r\n\r\n', 'raw', 0],
  ['request lines the proxy refuses: a no-break space in the target', req('GET', '/a\xa0b'), 'raw', 0],
  ['request lines the proxy refuses: a bad method character', req('GE(T', '/a'), 'raw', 0],
  ['a header line without a name: 400', req('GET', '/a') + 'GET /b HTTP/1.1\r\n: x\r\n\r\n', 'raw', 0],
  ['a header line without a colon: 400', 'GET /b HTTP/1.1\r\nHost t\r\n\r\n', 'raw', 0],
  ['a head of 200 KB: 400', req('GET', '/a', `X-Big: ${'b'.repeat(200_000)}\r\n`), 'raw', 0],
  ['an upgrade request is left to JavaScript: raw bytes after the 101', req('GET', '/switch', 'Connection: Upgrade\r\nUpgrade: x\r\n') + 'after', 'raw', 0],
  ['a 101 the client did not ask for makes the connection raw bytes', req('GET', '/switch') + 'after', 'raw', 0],
  ['1xx answers before the final one', req('GET', '/interim') + LAST, 'raw', 0],
  ['an answer that ends with the connection', req('GET', '/untilclose'), 'raw', 0],
  ['an answer chunked last (gzip, chunked)', req('GET', '/chunkedup') + LAST, 'raw', 0],
  ['an answer whose transfer-encoding is not chunked last ends with the connection', req('GET', '/notchunkedlast'), 'raw', 0],
  ['an HTTP/1.0 answer without a reason phrase', req('GET', '/noreason') + LAST, 'raw', 0],
  ['an answer the proxy cannot read ends both sides: a 2-digit status', req('GET', '/badstatus') + LAST, 'raw', 0],
  ['an answer the proxy cannot read ends both sides: a bad content-length', req('GET', '/badlength') + LAST, 'raw', 0],
  ['an answer the proxy cannot read ends both sides: a bad chunk size', req('GET', '/badchunk') + LAST, 'raw', 0],
  ['an answer without a request ends both sides', req('GET', '/twice') + LAST, 'raw', 0],
  ['an upstream that resets before answering: 502', req('GET', '/a') + req('GET', '/reset'), 'raw', 0],
  ['an upstream that closes before answering: the connection ends', req('GET', '/a') + req('GET', '/silentclose'), 'raw', 0],
];

/** A rule that reads a header: a request without it cannot match, which the relay thread rules out itself. */
const HEADER_RULE = { match: { headers: { 'X-Canary': 'yes|true' } }, abort: { status: 503, body: 'aborted by rule' } };
/** [what, bytes, pieces, the statuses expected] through proxies with HEADER_RULE in front of the raw upstream */
const HEADER_CASES: [string, string, number, string[]][] = [
  ['requests without the header are relayed, one whose value matches is aborted', req('GET', '/a') + req('GET', '/b', 'X-Canary: yes\r\n') + req('GET', '/c') + LAST, 0, ['200', '503', '200', '200']],
  ['the same in pieces of 1-5 bytes', req('GET', '/a') + req('GET', '/b', 'X-Canary: yes\r\n') + req('GET', '/c') + LAST, 5, ['200', '503', '200', '200']],
  ['the name in any case; a value the regex does not match, and a longer name, go on', req('GET', '/a', 'x-CANARY: true\r\n') + req('GET', '/b', 'X-Canary: no\r\n') + req('GET', '/c', 'X-Canary-2: yes\r\n') + LAST, 0, ['503', '200', '200', '200']],
  ['an empty value, and a repeated header read joined', req('GET', '/a', 'X-Canary:\r\n') + req('GET', '/b', 'X-Canary: no\r\nX-Canary: yes\r\n') + req('GET', '/c', 'X-Canary: yes\r\nX-Canary: true\r\n') + LAST, 0, ['200', '200', '200', '200']],
];

const ports: Record<'native' | 'js', Record<'http' | 'raw' | 'header', number>> = { native: { http: 0, raw: 0, header: 0 }, js: { http: 0, raw: 0, header: 0 } };

beforeAll(async () => {
  const up = { http: await httpUpstream(), raw: await rawUpstream() };
  for (const relay of ['native', 'js'] as const) {
    for (const u of ['http', 'raw'] as const) ports[relay][u] = (await proxy(relay, up[u])).state.proxyPort as number;
    ports[relay].header = (await proxy(relay, up.raw, HEADER_RULE)).state.proxyPort as number;
  }
});
afterAll(async () => {
  for (const f of faults.splice(0)) await f.recover();
  for (const s of sockets) s.destroy();
  for (const s of servers) await new Promise((r) => s.close(r));
});

describe('http-fault with the native relay answers every byte stream as the JavaScript proxy does', () => {
  it('the native relay is built (CI builds it: node daemon/native/build.js)', () => {
    if (process.env.CI === 'true') expect(nativeBuilt).toBe(true);
  });

  it.each(CASES)('%s', async (what, bytes, upstream, piece) => {
    if (!nativeBuilt) return; // the JavaScript proxy alone: nothing to compare
    const data = Buffer.from(bytes, 'latin1');
    const js = await exchange(ports.js[upstream], data, piece || undefined);
    const native = await exchange(ports.native[upstream], data, piece || undefined);
    expect(native).toBe(js);
    // and the reference does what the case says
    const status = / ([0-9]{3})$/.exec(what)?.[1];
    if (status) expect(js).toContain(`HTTP/1.1 ${status} `);
    else if (!what.includes('ends both sides')) expect(js).toMatch(/^HTTP\/1\.[01] [0-9]{3}/);
  });

  it.each(HEADER_CASES)('a header rule: %s', async (_what, bytes, piece, statuses) => {
    if (!nativeBuilt) return;
    const data = Buffer.from(bytes, 'latin1');
    const js = await exchange(ports.js.header, data, piece || undefined);
    expect(await exchange(ports.native.header, data, piece || undefined)).toBe(js);
    // (the raw upstream echoes each request head, whose first line ends in HTTP/1.1 without a status)
    expect([...js.matchAll(/HTTP\/1\.1 ([0-9]{3}) /g)].map((m) => m[1])).toEqual(statuses);
  });

  it('a client that sends an upgrade request and bytes after it and ends at once: its FIN goes on once the connection is raw', async () => {
    if (!nativeBuilt) return;
    for (const headers of ['Connection: Upgrade\r\nUpgrade: x\r\n', '']) {
      const data = Buffer.from(req('GET', '/switchecho', headers) + 'after', 'latin1');
      const js = await exchange(ports.js.raw, data, undefined, true);
      expect(await exchange(ports.native.raw, data, undefined, true)).toBe(js);
      expect(js).toMatch(/^HTTP\/1\.1 101 [^]*after\[closed\]$/);
    }
  });

  it('a hostile glob (/**a**a**a**a**a**b) against 4000-byte paths: the same answers, in linear time on both', async () => {
    if (!nativeBuilt) return;
    const rule = { match: { path: '/**a**a**a**a**a**b' }, abort: { status: 503, body: 'aborted by rule' } };
    const upstreamPort = await rawUpstream();
    const js = await proxy('js', upstreamPort, rule);
    const native = await proxy('native', upstreamPort, rule);
    const long = 'a'.repeat(4000);
    const data = Buffer.from(req('GET', `/${long}`) + req('GET', `/${long}b`) + req('GET', `/${long}/c`) + LAST, 'latin1');
    const fromJs = await exchange(js.state.proxyPort as number, data);
    expect(await exchange(native.state.proxyPort as number, data)).toBe(fromJs);
    expect([...fromJs.matchAll(/HTTP\/1\.1 ([0-9]{3}) /g)].map((m) => m[1])).toEqual(['200', '503', '200', '200']);
  });
});

describe('an http-fault connection on the relay thread', () => {
  it('is served by the relay thread until a request the rule may match, then by JavaScript on the same sockets', async () => {
    if (!nativeBuilt) return;
    const f = faults.find((x) => x.state.proxyPort === ports.native.http)!;
    const pid = f.state.pid as number;
    const names = () => readdirSync(`/proc/${pid}/task`).map((t) => readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim());
    const s = net.connect(ports.native.http, '127.0.0.1');
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    const until = async (n: number) => {
      while ((got.match(/HTTP\/1\.1 /g) ?? []).length < n) await new Promise((r) => setTimeout(r, 5));
    };
    s.write(req('GET', '/one'));
    await until(1);
    expect(names()).toContain('fl-relay');
    s.write(req('GET', '/never/two'));
    await until(2);
    s.write(req('GET', '/three') + LAST);
    await new Promise((r) => s.once('close', r));
    expect([...got.matchAll(/HTTP\/1\.1 ([0-9]{3})/g)].map((m) => m[1])).toEqual(['200', '503', '200', '200']);
  });

  it.each(['native', 'js'] as const)('%s relay: recover ends an idle keep-alive connection at once and lets a busy one finish', async (relay) => {
    if (relay === 'native' && !nativeBuilt) return;
    const slow = http.createServer((q, res) => setTimeout(() => res.end(`late ${q.url}`), q.url === '/slow' ? 400 : 0));
    const upstreamPort = await track(slow);
    const f = await proxy(relay, upstreamPort);
    const idle = net.connect(f.state.proxyPort as number, '127.0.0.1');
    const busy = net.connect(f.state.proxyPort as number, '127.0.0.1');
    let idleGot = '';
    let busyGot = '';
    idle.on('data', (d: Buffer) => (idleGot += d));
    busy.on('data', (d: Buffer) => (busyGot += d));
    idle.write(req('GET', '/quick'));
    while (!idleGot.includes('late /quick')) await new Promise((r) => setTimeout(r, 5));
    busy.write(req('GET', '/slow'));
    await new Promise((r) => setTimeout(r, 50));
    const idleClosed = new Promise((r) => idle.once('close', r));
    const busyClosed = new Promise((r) => busy.once('close', r));
    await f.recover();
    faults.splice(faults.indexOf(f), 1);
    await idleClosed;
    await busyClosed;
    expect(busyGot).toContain('late /slow');
  });
});
