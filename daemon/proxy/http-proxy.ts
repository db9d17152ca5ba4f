import { STATUS_CODES } from 'node:http';
import net from 'node:net';
import type { Static } from '@sinclair/typebox';
import type { HttpAbort, HttpDelay, HttpMatch, HttpReplace } from '../../api/proxy';
import { parseDuration } from '../../api/units';
import type { Endpoint } from './endpoint';
import { BodyReader, MAX_HEAD, headEnd, isUpgrade, keepsAlive, parseHead, requestFraming, responseFraming, type Head } from './http-parse';
import { compileMatcher, type RequestMatcher } from './http-match';
import { drainServer, type RunningProxy } from './tcp-proxy';
import type { UpstreamResolver } from './upstream';

// The HTTP/1.1 proxy. Each client connection gets one upstream connection of its own; requests and
// responses are forwarded as the bytes they are, message by message (keep-alive, pipelining, chunked
// bodies, 1xx), and an upgraded connection (101, CONNECT) becomes a plain byte pipe. Only the
// requests a rule matches are held back (delay), answered by the proxy (abort) or get a rewritten
// response (replace); answers always leave in request order.

export interface HttpRules {
  match?: Static<typeof HttpMatch>;
  delay?: Static<typeof HttpDelay>;
  abort?: Static<typeof HttpAbort>;
  replace?: Static<typeof HttpReplace>;
}

interface CompiledRules {
  matches: RequestMatcher;
  delay?: { latency: number; jitter: number; percent: number };
  abort?: HttpRules['abort'];
  replace?: HttpRules['replace'];
}

type Slot = { type: 'upstream'; method: string; replace?: HttpRules['replace'] } | { type: 'answer'; bytes: Buffer; close: boolean };

const EMPTY = Buffer.alloc(0);
const HIGH_WATER = 1024 * 1024;

function hit(percent: number): boolean {
  return percent >= 100 || Math.random() * 100 < percent;
}

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
export function replacedHead(head: Head, replace: NonNullable<HttpRules['replace']>): Buffer {
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

class HttpConnection {
  private upstream?: net.Socket;
  private target?: Endpoint;
  private reqBuf: Buffer = EMPTY;
  private reqBody?: BodyReader;
  private reqForward = false;
  private upgradeAfterBody = false;
  private resBuf: Buffer = EMPTY;
  private resBody?: BodyReader;
  private resDiscard = false;
  private resStarted = false;
  private slots: Slot[] = [];
  private raw = false;
  private delayed = false;
  private clientEnded = false;
  private draining = false;
  private done = false;
  /** The client is paused until the upstream drains (not to be resumed by the parser). */
  private waitingUpstream = false;

  constructor(
    private readonly client: net.Socket,
    private readonly rules: CompiledRules,
    upstreamFor: UpstreamResolver,
  ) {
    client.setNoDelay(true);
    client.on('error', (err: NodeJS.ErrnoException) => this.fail(err, this.upstream));
    client.on('data', (d: Buffer) => this.onClientData(d));
    client.on('end', () => this.onClientEnd());
    client.on('close', () => this.closeAll());
    void upstreamFor(client).then(
      (t) => {
        if (!t) return this.destroy();
        this.target = t;
        client.resume();
      },
      () => this.destroy(),
    );
  }

  // ---- client → upstream: requests

  private onClientData(d: Buffer): void {
    if (this.raw) return this.toUpstream(d);
    this.reqBuf = this.reqBuf.length ? Buffer.concat([this.reqBuf, d]) : d;
    if (this.reqBuf.length > HIGH_WATER) this.client.pause();
    this.driveRequests();
  }

  private driveRequests(): void {
    try {
      while (!this.delayed && !this.done) {
        if (this.reqBody) {
          const n = this.reqBuf.length ? this.reqBody.take(this.reqBuf, 0) : 0;
          if (n > 0) {
            if (this.reqForward) this.toUpstream(this.reqBuf.subarray(0, n));
            this.reqBuf = this.reqBuf.subarray(n);
          }
          if (!this.reqBody.done) break;
          this.reqBody = undefined;
          if (this.upgradeAfterBody) {
            this.raw = true;
            if (this.reqBuf.length) this.toUpstream(this.reqBuf);
            this.reqBuf = EMPTY;
            break;
          }
          continue;
        }
        const end = headEnd(this.reqBuf);
        if (end < 0) {
          if (this.reqBuf.length > MAX_HEAD) throw new Error('request head too large');
          break;
        }
        const head = parseHead(this.reqBuf.subarray(0, end), 'request');
        this.reqBuf = this.reqBuf.subarray(end);
        this.onRequest(head);
      }
      if (this.reqBuf.length < HIGH_WATER && this.client.isPaused() && this.target && !this.waitingUpstream) this.client.resume();
      this.maybeFinish();
    } catch (err) {
      this.badRequest(err as Error);
    }
  }

  private onRequest(head: Head): void {
    const r = this.rules;
    const matched = r.matches({ method: head.method, url: head.url, headers: head.headers });
    const framing = requestFraming(head);
    const act = () => {
      if (matched && r.abort && hit(r.abort.percent ?? 100)) {
        this.reqBody = new BodyReader(framing);
        this.reqForward = false;
        const close = !keepsAlive(head) || isUpgrade(head);
        this.queueAnswer(answer(r.abort.status ?? 503, r.abort.body ?? '', { close, head: head.method === 'HEAD', version: head.version }), close);
        return;
      }
      const replace = matched && r.replace && hit(r.replace.percent ?? 100) ? r.replace : undefined;
      this.slots.push({ type: 'upstream', method: head.method, replace });
      this.toUpstream(head.raw);
      this.reqBody = new BodyReader(framing);
      this.reqForward = true;
      this.upgradeAfterBody = isUpgrade(head);
    };
    if (matched && r.delay && hit(r.delay.percent)) {
      const ms = Math.max(0, r.delay.latency + (r.delay.jitter ? (Math.random() * 2 - 1) * r.delay.jitter : 0));
      this.delayed = true;
      setTimeout(() => {
        this.delayed = false;
        if (this.done) return;
        act();
        this.driveRequests();
      }, ms);
      return;
    }
    act();
  }

  private badRequest(err: Error): void {
    this.reqBuf = EMPTY;
    this.queueAnswer(answer(400, `bad request: ${err.message}\n`, { close: true }), true);
    this.client.pause();
  }

  private onClientEnd(): void {
    this.clientEnded = true;
    if (this.raw) this.upstream?.end();
    else this.maybeFinish();
  }

  private toUpstream(bytes: Buffer): void {
    if (!this.upstream) this.connectUpstream();
    if (!this.upstream!.write(bytes) && !this.waitingUpstream) {
      this.waitingUpstream = true;
      this.client.pause();
      this.upstream!.once('drain', () => {
        this.waitingUpstream = false;
        if (this.reqBuf.length < HIGH_WATER) this.client.resume();
      });
    }
  }

  private connectUpstream(): void {
    const up = net.connect({ host: this.target!.host, port: this.target!.port, allowHalfOpen: true });
    this.upstream = up;
    up.setNoDelay(true);
    up.on('data', (d: Buffer) => this.onUpstreamData(d));
    up.on('end', () => this.onUpstreamEnd());
    up.on('error', (err: NodeJS.ErrnoException) => this.onUpstreamError(err));
    up.on('close', () => this.closeAll());
  }

  // ---- upstream → client: responses, in request order with the proxy's own answers

  private onUpstreamData(d: Buffer): void {
    if (this.raw && !this.resBody) return this.toClient(d);
    this.resBuf = this.resBuf.length ? Buffer.concat([this.resBuf, d]) : d;
    try {
      this.driveResponses();
    } catch {
      this.destroy();
    }
  }

  private driveResponses(): void {
    while (!this.done) {
      if (this.resBody) {
        const n = this.resBuf.length ? this.resBody.take(this.resBuf, 0) : 0;
        if (n > 0) {
          if (!this.resDiscard) this.toClient(this.resBuf.subarray(0, n));
          this.resBuf = this.resBuf.subarray(n);
        }
        if (!this.resBody.done) break;
        this.resBody = undefined;
        this.finishSlot();
        continue;
      }
      if (!this.resBuf.length) break;
      if (this.raw) {
        this.toClient(this.resBuf);
        this.resBuf = EMPTY;
        break;
      }
      const slot = this.slots[0];
      if (!slot || slot.type !== 'upstream') throw new Error('response without a request');
      const end = headEnd(this.resBuf);
      if (end < 0) {
        if (this.resBuf.length > MAX_HEAD) throw new Error('response head too large');
        break;
      }
      const head = parseHead(this.resBuf.subarray(0, end), 'response');
      this.resBuf = this.resBuf.subarray(end);
      this.resStarted = true;
      if (head.status === 101 || (slot.method === 'CONNECT' && head.status >= 200 && head.status < 300)) {
        // Switched protocols: from here on both directions are plain bytes.
        this.toClient(head.raw);
        this.slots.shift();
        this.raw = true;
        continue;
      }
      if (head.status < 200) {
        this.toClient(head.raw); // 100 Continue and friends: the final answer follows for the same request
        continue;
      }
      const framing = responseFraming(head, slot.method);
      if (slot.replace) {
        this.toClient(replacedHead(head, slot.replace));
        if (slot.replace.body !== undefined && slot.method !== 'HEAD') this.toClient(Buffer.from(slot.replace.body));
      } else {
        this.toClient(head.raw);
      }
      this.resDiscard = slot.replace?.body !== undefined;
      this.resBody = new BodyReader(framing);
    }
  }

  private finishSlot(): void {
    this.slots.shift();
    this.resStarted = false;
    this.resDiscard = false;
    this.flushAnswers();
    this.maybeFinish();
  }

  private queueAnswer(bytes: Buffer, close: boolean): void {
    this.slots.push({ type: 'answer', bytes, close });
    this.flushAnswers();
  }

  /** Writes the proxy's own answers that are next in line. */
  private flushAnswers(): void {
    while (this.slots[0]?.type === 'answer') {
      const a = this.slots.shift() as Extract<Slot, { type: 'answer' }>;
      this.toClient(a.bytes);
      if (a.close) return this.endBoth();
    }
  }

  private toClient(bytes: Buffer): void {
    if (this.client.destroyed) return;
    if (!this.client.write(bytes) && this.upstream && !this.upstream.isPaused()) {
      const up = this.upstream;
      up.pause();
      this.client.once('drain', () => up.resume());
    }
  }

  private onUpstreamEnd(): void {
    if (this.resBody?.untilClose) {
      this.resBody = undefined;
      this.finishSlot();
    }
    if (this.raw) return void this.client.end();
    // Requests still waiting for the upstream will get no answer on this connection.
    this.flushAnswers();
    this.endBoth();
  }

  private onUpstreamError(err: NodeJS.ErrnoException): void {
    if (this.slots[0]?.type === 'upstream' && !this.resStarted && !this.raw) {
      this.slots = [];
      this.toClient(answer(502, `upstream ${this.target?.host}:${this.target?.port}: ${err.code ?? err.message}\n`, { close: true }));
      return this.endBoth();
    }
    this.fail(err, this.client);
  }

  // ---- lifecycle

  private idle(): boolean {
    return this.slots.length === 0 && !this.reqBody && this.reqBuf.length === 0 && !this.delayed && !this.raw;
  }

  private maybeFinish(): void {
    if (!this.done && this.idle() && (this.clientEnded || this.draining)) this.endBoth();
  }

  /** Drain: idle keep-alive connections close now, busy ones after their current exchange. */
  drain(): void {
    this.draining = true;
    this.maybeFinish();
  }

  private endBoth(): void {
    if (this.done) return;
    this.done = true;
    for (const s of [this.client, this.upstream]) {
      if (!s) continue;
      s.end();
      setTimeout(() => s.destroy(), 2000).unref();
    }
  }

  private fail(err: NodeJS.ErrnoException, other: net.Socket | undefined): void {
    this.done = true;
    if (err.code === 'ECONNRESET' && other && !other.destroyed) other.resetAndDestroy();
    this.destroy();
  }

  private closeAll(): void {
    if (this.client.destroyed && (!this.upstream || this.upstream.destroyed)) return;
    this.done = true;
    for (const s of [this.client, this.upstream]) if (s && !s.destroyed) setTimeout(() => s.destroy(), 2000).unref();
    if (this.client.destroyed) this.upstream?.end();
    else if (this.upstream?.destroyed) this.client.end();
  }

  destroy(): void {
    this.done = true;
    this.client.destroy();
    this.upstream?.destroy();
  }
}

export function createHttpProxy(rules: HttpRules, upstreamFor: UpstreamResolver): RunningProxy {
  const compiled: CompiledRules = {
    matches: compileMatcher(rules.match),
    delay: rules.delay && { latency: parseDuration(rules.delay.latency), jitter: parseDuration(rules.delay.jitter ?? '0ms'), percent: rules.delay.percent ?? 100 },
    abort: rules.abort,
    replace: rules.replace,
  };
  const open = new Set<HttpConnection>();
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    const c = new HttpConnection(client, compiled, upstreamFor);
    open.add(c);
    client.once('close', () => open.delete(c));
  });
  return {
    server,
    drain: async (graceMs) => {
      for (const c of open) c.drain();
      await drainServer(server, open, graceMs);
    },
  };
}
