import { readdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { ApiError } from '../../api/errors';
import { TOXIC_TYPES } from '../../api/proxy';
import { validate } from '../../api/validate';
import httpSpec from '../../api/kinds/http-fault';
import tcpSpec from '../../api/kinds/tcp-fault';
import { KIND_NAMES } from '../../api/kinds';
import { FAULT_KINDS } from '../../daemon/faults';
import { canonicalIp, originalDestination, parseEndpoint } from '../../daemon/proxy/endpoint';
import { proxyMode } from '../../daemon/proxy/fault';
import { answer, replacedHead } from '../../daemon/proxy/http-answers';
import { BodyReader, headEnd, parseHead, requestFraming, responseFraming, scanHead } from '../../daemon/proxy/http-parse';
import { compileMatcher, globToRegExp } from '../../daemon/proxy/http-match';
import { redirectScript } from '../../daemon/proxy/transparent';
import { leaseAbandoned } from '../../daemon/proxy/deadman';
import { TOXICS } from '../../daemon/proxy/toxics';
import { checkToxics } from '../../daemon/proxy/toxics/check';

// Wire shapes and the pure parts of the fault proxy: every bad value is a 400 naming its field.

function fieldsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
    return ((err as ApiError).details ?? []).map((d) => d.field);
  }
  throw new Error('expected an ApiError');
}

const tcp = (params: unknown) => validate(tcpSpec.params, params, 'params', '/params');
const http = (params: unknown) => validate(httpSpec.params, params, 'params', '/params');

describe('tcp-fault params', () => {
  it('fills defaults: toxicity 1, direction downstream', () => {
    const p = tcp({ listen: '127.0.0.1:0', upstream: '127.0.0.1:80', toxics: [{ type: 'latency', latency: '10ms' }] });
    expect(p.toxics[0]).toEqual({ type: 'latency', latency: '10ms', toxicity: 1, direction: 'downstream' });
  });

  it.each([
    [{ type: 'latency', latency: '1ms', toxicity: 1.5 }, '/params/toxics/0/toxicity'],
    [{ type: 'latency', latency: '1ms', toxicity: -0.1 }, '/params/toxics/0/toxicity'],
    [{ type: 'latency' }, '/params/toxics/0/latency'],
    [{ type: 'latency', latency: '10 parsecs' }, '/params/toxics/0/latency'],
    [{ type: 'bandwidth' }, '/params/toxics/0/rate'],
    [{ type: 'bandwidth', rate: 'fast' }, '/params/toxics/0/rate'],
    [{ type: 'timeout' }, '/params/toxics/0/timeout'],
    [{ type: 'slow-close' }, '/params/toxics/0/delay'],
    [{ type: 'slicer' }, '/params/toxics/0/averageSize'],
    [{ type: 'limit-data' }, '/params/toxics/0/bytes'],
    [{ type: 'limit-data', bytes: 'lots' }, '/params/toxics/0/bytes'],
    [{ type: 'latency', latency: '1ms', direction: 'sideways' }, '/params/toxics/0/direction'],
    [{ type: 'latency', latency: '1ms', color: 'red' }, '/params/toxics/0/color'],
    [{ type: 'teleport' }, '/params/toxics/0/type'],
  ])('rejects toxic %j naming %s', (toxic, field) => {
    expect(fieldsOf(() => tcp({ listen: '127.0.0.1:0', upstream: '127.0.0.1:80', toxics: [toxic] }))).toContain(field);
  });

  it.each([
    [{ listen: '0.0.0.0:99999x', upstream: '127.0.0.1:80' }, '/params/listen'],
    [{ listen: '127.0.0.1:0', upstream: 'a host:80' }, '/params/upstream'],
    [{ listen: '127.0.0.1:0', upstream: '127.0.0.1:80; rm -rf /' }, '/params/upstream'],
    [{ port: 0 }, '/params/port'],
    [{ port: 70000 }, '/params/port'],
    [{ port: 80, extra: 1 }, '/params/extra'],
  ])('rejects %j naming %s', (params, field) => {
    expect(fieldsOf(() => tcp(params))).toContain(field);
  });

  it('rejects attributes of another toxic and a slicer variation not below its size', () => {
    const p = tcp({ port: 80, toxics: [{ type: 'latency', latency: '1ms', rate: '1mbit' }, { type: 'slicer', averageSize: 10, sizeVariation: 10 }] });
    expect(fieldsOf(() => checkToxics(p.toxics))).toEqual(['/params/toxics/0/rate', '/params/toxics/1/sizeVariation']);
  });

  it('needs explicit (listen + upstream) or transparent (port), not a mix', () => {
    expect(proxyMode({ port: 8080 })).toEqual({ mode: 'transparent', port: 8080 });
    expect(proxyMode({ listen: '127.0.0.1:0', upstream: 'localhost:80' })).toEqual({
      mode: 'explicit',
      listen: { host: '127.0.0.1', port: 0 },
      upstream: { host: 'localhost', port: 80 },
    });
    expect(fieldsOf(() => proxyMode({}))).toEqual(['/params/listen']);
    expect(fieldsOf(() => proxyMode({ listen: '127.0.0.1:1' }))).toEqual(['/params/upstream']);
    expect(fieldsOf(() => proxyMode({ port: 1, listen: '127.0.0.1:1' }))).toEqual(['/params/listen']);
    expect(fieldsOf(() => proxyMode({ port: 1, upstream: '127.0.0.1:1' }))).toEqual(['/params/upstream']);
    expect(fieldsOf(() => proxyMode({ listen: '127.0.0.1:70000', upstream: '127.0.0.1:1' }))).toEqual(['/params/listen']);
  });
});

describe('http-fault params', () => {
  it('fills defaults for abort and delay', () => {
    const p = http({ port: 80, abort: {}, delay: { latency: '5ms' } });
    expect(p.abort).toEqual({ status: 503, percent: 100 });
    expect(p.delay).toEqual({ latency: '5ms', jitter: '0ms', percent: 100 });
  });

  it.each([
    [{ port: 80, abort: { status: 99 } }, '/params/abort/status'],
    [{ port: 80, abort: { status: 600 } }, '/params/abort/status'],
    [{ port: 80, abort: { percent: 101 } }, '/params/abort/percent'],
    [{ port: 80, delay: { latency: 'soon' } }, '/params/delay/latency'],
    [{ port: 80, delay: {} }, '/params/delay/latency'],
    [{ port: 80, replace: { status: 1000 } }, '/params/replace/status'],
    [{ port: 80, match: { methods: ['GET POST'] }, abort: {} }, '/params/match/methods/0'],
    [{ port: 80, match: { headers: { 'bad header': 'x' } }, abort: {} }, '/params/match/headers'],
    [{ port: 80, match: { verb: 'GET' }, abort: {} }, '/params/match/verb'],
  ])('rejects %j naming %s', (params, field) => {
    expect(fieldsOf(() => http(params)).some((f) => f.startsWith(field))).toBe(true);
  });

  it('names the field of a bad regular expression', () => {
    expect(fieldsOf(() => compileMatcher({ pathRegex: '([unclosed' }))).toEqual(['/params/match/pathRegex']);
    expect(fieldsOf(() => compileMatcher({ headers: { 'X-User': '*star' } }))).toEqual(['/params/match/headers/X-User']);
  });
});

describe('request matching', () => {
  const req = (method: string, url: string, headers: Record<string, string> = {}) => ({ method, url, headers }) as never;

  it('globs: * within a segment, ** across, query ignored', () => {
    expect(globToRegExp('/api/*').test('/api/users')).toBe(true);
    expect(globToRegExp('/api/*').test('/api/users/1')).toBe(false);
    expect(globToRegExp('/api/**').test('/api/users/1')).toBe(true);
    expect(globToRegExp('/v?/x.json').test('/v1/x.json')).toBe(true);
    expect(globToRegExp('/v?/x.json').test('/v1/xxjson')).toBe(false);
    const m = compileMatcher({ methods: ['get'], path: '/api/**', headers: { 'X-Canary': 'yes|true' } });
    expect(m(req('GET', '/api/a/b?x=1', { 'x-canary': 'true' }))).toBe(true);
    expect(m(req('POST', '/api/a', { 'x-canary': 'true' }))).toBe(false);
    expect(m(req('GET', '/web', { 'x-canary': 'true' }))).toBe(false);
    expect(m(req('GET', '/api/a', { 'x-canary': 'truely' }))).toBe(false);
    expect(m(req('GET', '/api/a'))).toBe(false);
    expect(compileMatcher(undefined)(req('DELETE', '/'))).toBe(true);
    expect(compileMatcher({ pathRegex: '^/users/[0-9]+$' })(req('GET', '/users/42?full'))).toBe(true);
  });

});

describe('HTTP/1.1 framing', () => {
  const head = (text: string, kind: 'request' | 'response') => {
    const buf = Buffer.from(text, 'latin1');
    return parseHead(buf.subarray(0, headEnd(buf)), kind);
  };

  it('reads request and response heads', () => {
    const req = head('POST /a?b=1 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 5\r\n\r\nhello', 'request');
    expect(req).toMatchObject({ method: 'POST', url: '/a?b=1', version: '1.1', headers: { host: 'x', 'x-a': '1, 2', 'content-length': '5' } });
    expect(requestFraming(req)).toEqual({ kind: 'length', length: 5 });
    expect(headEnd(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n'))).toBe(-1);
    expect(() => head('GARBAGE\r\n\r\n', 'request')).toThrow(/bad request line/);
    const res = head('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', 'response');
    expect(responseFraming(res, 'GET')).toEqual({ kind: 'chunked' });
    expect(responseFraming(res, 'HEAD')).toEqual({ kind: 'none' });
    expect(responseFraming(head('HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n', 'response'), 'GET')).toEqual({ kind: 'none' });
    expect(responseFraming(head('HTTP/1.0 200 OK\r\n\r\n', 'response'), 'GET')).toEqual({ kind: 'close' });
  });

  it('scanHead reads in place what parseHead reads, for the headers asked for', () => {
    const wanted = ['content-length', 'transfer-encoding', 'connection', 'upgrade', 'x-a', 'x_b'];
    const heads = [
      'POST /a?b=1 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a:  2 \r\nCONTENT-LENGTH: 5\r\nX_B:\t\tv\r\nOther: o\r\n\r\nhello',
      'GET / HTTP/1.0\r\n\r\n',
      'GET /u HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: ws\r\nTransfer-Encoding: gzip, chunked\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: \xe9t\xe9\r\n\r\n',
      'HTTP/1.1 204\r\nContent-Length: 0\r\n\r\n',
    ];
    for (const text of heads) {
      const buf = Buffer.concat([Buffer.from('junk'), Buffer.from(text, 'latin1')]);
      const end = headEnd(buf, 4);
      const kind = text.startsWith('HTTP/') ? 'response' : 'request';
      const full = parseHead(buf.subarray(4, end), kind);
      const scanned = scanHead(buf, 4, end, kind, wanted);
      expect(scanned).toEqual({
        method: full.method,
        url: full.url,
        version: full.version,
        status: full.status,
        reason: full.reason,
        headers: Object.fromEntries(Object.entries(full.headers).filter(([k]) => wanted.includes(k))),
      });
    }
    for (const bad of ['GET / HTTP/1.1\r\nno colon\r\n\r\n', 'GET / HTTP/1.1\r\n: empty name\r\n\r\n', 'GARBAGE\r\n\r\n', 'HTTP/1.1 2000 X\r\n\r\n']) {
      const buf = Buffer.from(bad, 'latin1');
      const kind = bad.startsWith('HTTP/') ? 'response' : 'request';
      expect(() => parseHead(buf, kind)).toThrow();
      expect(() => scanHead(buf, 0, buf.length, kind, wanted)).toThrow();
    }
  });

  it('follows a chunked body split at every byte, and stops at its end', () => {
    const body = Buffer.from('5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\nNEXT');
    const whole = new BodyReader({ kind: 'chunked' });
    expect(whole.take(body, 0)).toBe(body.length - 4);
    expect(whole.done).toBe(true);
    const split = new BodyReader({ kind: 'chunked' });
    let used = 0;
    for (let i = 0; i < body.length && !split.done; i++) used += split.take(body.subarray(i, i + 1), 0);
    expect([used, split.done]).toEqual([body.length - 4, true]);
    const fixed = new BodyReader({ kind: 'length', length: 3 });
    expect(fixed.take(Buffer.from('abcdef'), 1)).toBe(3);
    expect(fixed.done).toBe(true);
    expect(() => new BodyReader({ kind: 'chunked' }).take(Buffer.from('zz\r\n'), 0)).toThrow(/bad chunk size/);
  });

  it('rewrites a response head and writes its own answers', () => {
    const res = head('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nX-Up: 1\r\n\r\n', 'response');
    const out = replacedHead(res, { status: 418, headers: { 'content-type': 'text/plain' }, body: 'tea', percent: 100 }).toString();
    expect(out).toBe('HTTP/1.1 418 I\'m a Teapot\r\nX-Up: 1\r\ncontent-type: text/plain\r\nContent-Length: 3\r\n\r\n');
    expect(answer(503, 'x', { close: true }).toString()).toBe('HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 1\r\nconnection: close\r\n\r\nx');
  });
});

describe('endpoints and transparent mode', () => {
  it('parses and canonicalises addresses', () => {
    expect(parseEndpoint('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(canonicalIp('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(canonicalIp('fe80::0001')).toBe(canonicalIp('fe80:0:0:0:0:0:0:1'));
  });

  it('finds the original destination of a redirected connection in conntrack', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), `fl-ct-${process.pid}-`));
    const file = path.join(dir, 'nf_conntrack');
    writeFileSync(
      file,
      [
        'ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.9 sport=40000 dport=80 src=10.0.0.9 dst=10.0.0.1 sport=80 dport=40000 [ASSURED] mark=0 zone=0 use=2',
        'ipv4     2 tcp      6 432000 ESTABLISHED src=10.99.0.1 dst=10.99.0.2 sport=46748 dport=8080 src=127.0.0.1 dst=10.99.0.1 sport=9999 dport=46748 [ASSURED] mark=0 zone=0 use=2',
      ].join('\n'),
    );
    const sock = { remoteAddress: '::ffff:10.99.0.1', remotePort: 46748, localPort: 9999 } as net.Socket;
    expect(await originalDestination(sock, file)).toEqual({ host: '10.99.0.2', port: 8080 });
    expect(await originalDestination({ ...sock, localPort: 1 } as net.Socket, file)).toBeUndefined();
    rmSync(dir, { recursive: true, force: true });
  });

  it('redirects the target port for local clients (sparing the proxy) and for incoming connections', () => {
    const script = redirectScript('faultline-x', 8080, 40000);
    expect(script).toContain('type nat hook output');
    expect(script).toMatch(/meta skgid != \d+ tcp dport 8080 redirect to :40000/);
    expect(script).toContain('type nat hook prerouting');
  });
});

describe('dead-man switch', () => {
  it('is abandoned when the journal entry is gone or its lease ran out over 30 s ago', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), `fl-deadman-${process.pid}-`));
    const file = path.join(dir, 'f.json');
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(leaseAbandoned(file, now)).toBe(true);
    writeFileSync(file, JSON.stringify({ leaseExpiresAt: '2026-01-01T00:00:00Z' }));
    expect(leaseAbandoned(file, now + 29_000)).toBe(false);
    expect(leaseAbandoned(file, now + 31_000)).toBe(true);
    writeFileSync(file, '{"leaseExp');
    expect(leaseAbandoned(file, now + 31_000)).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('registries stay in step', () => {
  it('has one toxic file per toxic type, each registered', () => {
    const dir = path.join(__dirname, '../../daemon/proxy/toxics');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !['index.ts', 'types.ts', 'sleep.ts', 'check.ts'].includes(f));
    expect(files.map((f) => f.replace(/\.ts$/, '')).sort()).toEqual([...TOXIC_TYPES].sort());
    for (const t of TOXIC_TYPES) expect(TOXICS[t].type).toBe(t);
  });

  it('lists both proxy kinds in the wire specs and the daemon registry', () => {
    for (const kind of ['tcp-fault', 'http-fault']) {
      expect(KIND_NAMES).toContain(kind);
      expect(FAULT_KINDS.map((k) => k.spec.kind)).toContain(kind);
    }
  });
});
