import net from 'node:net';
import { formatEndpoint, parseEndpoint, type Endpoint } from './endpoint';
import { answer, replacedHead } from './http-answers';
import {
  BodyReader,
  MAX_HEAD,
  RESPONSE_FRAMING_HEADERS,
  headEnd,
  isUpgrade,
  keepsAlive,
  parseHead,
  requestFraming,
  responseFraming,
  scanHead,
  type Framing,
  type HeadInfo,
} from './http-parse';
import { relayPrefilter } from './http-match';
import { compileRules, delayMs, hit, type CompiledRules, type HttpReplaceRule, type HttpRules } from './http-rules';
import { nativeHttpRelay, type Handoff, type NativeHttpRelay } from './native-relay';
import { writeNow } from './direct-write';
import { readGrowing } from './growing-reader';
import { drainServer, type RunningProxy } from './tcp-proxy';
import type { UpstreamResolver } from './upstream';

// The HTTP/1.1 proxy. Each client connection gets one upstream connection of its own; requests and
// responses are forwarded as the bytes they are, message by message (keep-alive, pipelining, chunked
// bodies, 1xx), and an upgraded connection (101, CONNECT) becomes a plain byte pipe. Only the
// requests a rule matches are held back (delay), answered by the proxy (abort) or get a rewritten
// response (replace); answers always leave in request order.
//
// Per request the proxy costs about as much CPU as client or server (bench/proxy.ts), so the common
// path is kept lean: each socket reads into a buffer of its own (growing-reader.ts), heads are read in
// place for their framing headers and the headers a rule matches on (scanHead), and the bytes of
// one read that go on unchanged leave in one write (a response head and its body together).

/**
 * A connection the relay thread (native-relay.ts) served up to a request it leaves to JavaScript:
 * the upstream it was relayed to (connected), and the request bytes from that request on; or what
 * ended it there: a request body's framing error (400), or the upstream's error (502).
 */
interface TakenOver {
  target: Endpoint;
  upstream?: net.Socket;
  bytes?: Buffer;
  why?: string;
  upstreamError?: string;
}

type Slot = { type: 'upstream'; method: string; replace?: HttpReplaceRule } | { type: 'answer'; bytes: Buffer; close: boolean };

const EMPTY = Buffer.alloc(0);
/** Unhandled request bytes held (behind a delayed request), and answers queued for a client that does not read, before reading stops. */
const HIGH_WATER = 1024 * 1024;
/** Read buffers, one per socket (growing-reader.ts): small to start with (an idle keep-alive connection holds two). */
const READ_SIZES = { first: 16 * 1024, max: 256 * 1024 };

/**
 * Reads `socket` into a buffer of its own when this Node allows (growing-reader.ts), else through
 * 'data' events. `deliver` gets each read; `reused` says the buffer is read into again once it
 * returns, so whatever must outlive the call is copied or written out by then. `deliver` returns
 * false to stop reading; `socket.resume()` restarts it (in both modes).
 */
function readFrom(socket: net.Socket, deliver: (chunk: Buffer, reused: boolean) => boolean): void {
  if (readGrowing(socket, READ_SIZES, (chunk) => deliver(chunk, true))) return;
  socket.on('data', (d: Buffer) => {
    if (!deliver(d, false)) socket.pause();
  });
  // Adding a 'data' listener starts the flow: like the other mode, reading waits for resume().
  socket.pause();
}

/**
 * Bytes on their way on, as a range of a read's buffer: adjacent ranges of the same read (a head and
 * its body, pipelined requests) join, and leave in one write once the read has been handled.
 */
class PendingRange {
  private buf?: Buffer;
  private from = 0;
  private to = 0;

  /** Joins buf[from, to) when it continues the held range; false when it does not (take what is held first). */
  extend(buf: Buffer, from: number, to: number): boolean {
    if (buf !== this.buf || from !== this.to) return false;
    this.to = to;
    return true;
  }

  hold(buf: Buffer, from: number, to: number): void {
    this.buf = buf;
    this.from = from;
    this.to = to;
  }

  /** The held bytes (the whole buffer without a copy when the range covers it), and nothing held after. */
  take(): Buffer | undefined {
    const buf = this.buf;
    if (!buf) return undefined;
    this.buf = undefined;
    return this.from === 0 && this.to === buf.length ? buf : buf.subarray(this.from, this.to);
  }
}

class HttpConnection {
  private upstream?: net.Socket;
  private target?: Endpoint;
  /** Request bytes from reqPos on are not handled yet (a head still arriving, bytes behind a delayed request). */
  private reqBuf: Buffer = EMPTY;
  private reqPos = 0;
  private reqBody?: BodyReader;
  private reqForward = false;
  private upgradeAfterBody = false;
  private resBuf: Buffer = EMPTY;
  private resPos = 0;
  private resBody?: BodyReader;
  private resDiscard = false;
  private resStarted = false;
  private slots: Slot[] = [];
  private raw = false;
  private delayed = false;
  private clientEnded = false;
  private draining = false;
  private done = false;
  // Bytes of the current read on their way on, one range per direction (see PendingRange).
  private readonly upOut = new PendingRange();
  private readonly clientOut = new PendingRange();
  // Writes the kernel did not take whole (direct-write.ts), which a read buffer's bytes may still be
  // in: the socket they were read from stops reading until they are done (its buffer is read into
  // again after that), which is also the backpressure. For the client also their size at most,
  // for answers of the proxy's own piling up in front of a client that does not read.
  private upPending = 0;
  private clientPending = 0;
  private clientPendingBytes = 0;
  private clientStopped = true;
  private upStopped = false;
  /** The client's reading waits for the upstream's writes / for the client to drain its answers. */
  private clientWaitsUp = false;
  private clientWaitsDrain = false;
  /** The upstream's reading waits for the client's writes. */
  private upWaitsClient = false;

  private readonly upWritten = (): void => {
    if (--this.upPending === 0 && this.clientWaitsUp) {
      this.clientWaitsUp = false;
      this.resumeClient();
    }
  };

  private readonly clientWritten = (): void => {
    if (--this.clientPending > 0) return;
    this.clientPendingBytes = 0;
    if (this.upWaitsClient) {
      this.upWaitsClient = false;
      if (this.upStopped && this.upstream && !this.upstream.destroyed) {
        this.upStopped = false;
        this.upstream.resume();
      }
    }
    if (this.clientWaitsDrain) {
      this.clientWaitsDrain = false;
      this.resumeClient();
    }
  };

  constructor(
    private readonly client: net.Socket,
    private readonly rules: CompiledRules,
    from: UpstreamResolver | TakenOver,
  ) {
    client.setNoDelay(true);
    client.on('error', (err: NodeJS.ErrnoException) => this.fail(err, this.upstream));
    // Accepted paused: nothing is read before the upstream is known.
    readFrom(client, (chunk, reused) => this.onClientBytes(chunk, reused));
    client.on('end', () => this.onClientEnd());
    client.on('close', () => this.closeAll());
    if (typeof from !== 'function') {
      this.takeOver(from);
      return;
    }
    void from(client).then(
      (t) => {
        if (!t) return this.destroy();
        this.target = t;
        this.resumeClient();
      },
      () => this.destroy(),
    );
  }

  /** Serves a connection from where the relay thread left it (see TakenOver). */
  private takeOver(from: TakenOver): void {
    this.target = from.target;
    if (from.upstreamError) return this.upstreamFailed(from.upstreamError);
    if (from.upstream) this.attachUpstream(from.upstream);
    if (from.why) return this.badRequest(new Error(from.why));
    if (from.bytes && !this.onClientBytes(from.bytes, false)) return;
    this.clientStopped = true;
    this.resumeClient();
  }

  // ---- client → upstream: requests

  private onClientBytes(chunk: Buffer, reused: boolean): boolean {
    if (this.reqPos < this.reqBuf.length) {
      this.reqBuf = Buffer.concat([this.reqBuf.subarray(this.reqPos), chunk]);
      reused = false;
    } else this.reqBuf = chunk;
    this.reqPos = 0;
    this.driveRequests();
    if (reused && this.reqBuf === chunk) {
      // What is left is kept: copied out of a buffer that is about to be read into again.
      this.reqBuf = Buffer.from(chunk.subarray(this.reqPos));
      this.reqPos = 0;
    }
    if (this.upPending > 0 && this.upstream && !this.upstream.destroyed) this.clientWaitsUp = true;
    // Answers of the proxy's own (abort) pile up for a client that sends but does not read.
    if (this.clientPendingBytes > HIGH_WATER && !this.client.destroyed) this.clientWaitsDrain = true;
    this.clientStopped = this.clientWaitsUp || this.clientWaitsDrain || this.reqBuf.length > HIGH_WATER;
    return !this.clientStopped;
  }

  private resumeClient(): void {
    if (!this.clientStopped || !this.target || this.clientWaitsUp || this.clientWaitsDrain || this.reqBuf.length - this.reqPos > HIGH_WATER) return;
    if (this.client.destroyed) return;
    this.clientStopped = false;
    this.client.resume();
  }

  private driveRequests(): void {
    const buf = this.reqBuf;
    let pos = this.reqPos;
    try {
      while (true) {
        if (this.raw) {
          if (pos < buf.length) this.forwardUp(buf, pos, buf.length);
          pos = buf.length;
          break;
        }
        if (this.delayed || this.done) break;
        if (this.reqBody) {
          if (pos < buf.length) {
            const n = this.reqBody.take(buf, pos);
            if (n > 0 && this.reqForward) this.forwardUp(buf, pos, pos + n);
            pos += n;
          }
          if (!this.reqBody.done) break;
          this.reqBody = undefined;
          if (this.upgradeAfterBody) this.raw = true;
          continue;
        }
        if (pos >= buf.length) break;
        const end = headEnd(buf, pos);
        if (end < 0) {
          if (buf.length - pos > MAX_HEAD) throw new Error('request head too large');
          break;
        }
        const head = scanHead(buf, pos, end, 'request', this.rules.wanted);
        const start = pos;
        pos = end;
        this.onRequest(head, buf, start, end);
      }
      this.reqPos = pos;
    } catch (err) {
      this.reqPos = buf.length;
      this.badRequest(err as Error);
    }
    if (this.reqPos >= this.reqBuf.length) {
      this.reqBuf = EMPTY;
      this.reqPos = 0;
    }
    this.flushUp();
    this.maybeFinish();
  }

  private onRequest(head: HeadInfo, buf: Buffer, start: number, end: number): void {
    const r = this.rules;
    const matched = r.matches(head);
    const framing = requestFraming(head);
    if (matched && r.delay && hit(r.delay.percent)) {
      const ms = delayMs(r.delay);
      // The head waits as a copy of its own: the buffer it is in may be read into again meanwhile.
      const raw = Buffer.from(buf.subarray(start, end));
      this.delayed = true;
      setTimeout(() => {
        this.delayed = false;
        if (this.done) return;
        this.act(head, framing, matched, raw, 0, raw.length);
        this.driveRequests();
        this.resumeClient();
      }, ms);
      return;
    }
    this.act(head, framing, matched, buf, start, end);
  }

  private act(head: HeadInfo, framing: Framing, matched: boolean, buf: Buffer, start: number, end: number): void {
    const r = this.rules;
    if (matched && r.abort && hit(r.abort.percent ?? 100)) {
      this.reqBody = framing.kind === 'none' ? undefined : new BodyReader(framing);
      this.reqForward = false;
      this.upgradeAfterBody = false;
      const close = !keepsAlive(head) || isUpgrade(head);
      this.queueAnswer(answer(r.abort.status ?? 503, r.abort.body ?? '', { close, head: head.method === 'HEAD', version: head.version }), close);
      return;
    }
    const replace = matched && r.replace && hit(r.replace.percent ?? 100) ? r.replace : undefined;
    this.slots.push({ type: 'upstream', method: head.method, replace });
    this.forwardUp(buf, start, end);
    this.reqBody = framing.kind === 'none' ? undefined : new BodyReader(framing);
    this.reqForward = true;
    this.upgradeAfterBody = isUpgrade(head);
    if (!this.reqBody && this.upgradeAfterBody) this.raw = true;
  }

  private badRequest(err: Error): void {
    this.reqBuf = EMPTY;
    this.reqPos = 0;
    this.queueAnswer(answer(400, `bad request: ${err.message}\n`, { close: true }), true);
    this.clientStopped = true;
    this.client.pause();
  }

  private onClientEnd(): void {
    this.clientEnded = true;
    if (this.raw) {
      this.flushUp();
      this.upstream?.end();
    } else this.maybeFinish();
  }

  /** Sends buf[from, to) upstream with the rest of this read (see flushUp). */
  private forwardUp(buf: Buffer, from: number, to: number): void {
    if (this.upOut.extend(buf, from, to)) return;
    this.flushUp();
    this.upOut.hold(buf, from, to);
  }

  private flushUp(): void {
    const bytes = this.upOut.take();
    if (!bytes) return;
    if (!this.upstream) this.connectUpstream();
    if (!writeNow(this.upstream!, bytes, this.upWritten)) this.upPending++;
  }

  private connectUpstream(): void {
    this.attachUpstream(net.connect({ host: this.target!.host, port: this.target!.port, allowHalfOpen: true }));
  }

  private attachUpstream(up: net.Socket): void {
    this.upstream = up;
    up.setNoDelay(true);
    readFrom(up, (chunk, reused) => this.onUpstreamBytes(chunk, reused));
    // Flowing from the start (reading begins once connected), so that its 'end' is emitted.
    up.resume();
    up.on('end', () => this.onUpstreamEnd());
    up.on('error', (err: NodeJS.ErrnoException) => this.onUpstreamError(err));
    up.on('close', () => this.closeAll());
  }

  // ---- upstream → client: responses, in request order with the proxy's own answers

  private onUpstreamBytes(chunk: Buffer, reused: boolean): boolean {
    if (this.resPos < this.resBuf.length) {
      this.resBuf = Buffer.concat([this.resBuf.subarray(this.resPos), chunk]);
      reused = false;
    } else this.resBuf = chunk;
    this.resPos = 0;
    try {
      this.driveResponses();
    } catch {
      this.flushClient(); // the answers read whole before the one it cannot read still go out
      this.destroy();
      return false;
    }
    this.flushClient();
    // An answer that switched protocols: request bytes held as the start of a head go on as raw bytes now,
    // and a client that had already ended ends the upstream (as onClientEnd does once raw).
    if (this.raw && this.reqPos < this.reqBuf.length) this.driveRequests();
    if (this.raw && this.clientEnded && this.upstream && !this.upstream.writableEnded) {
      this.flushUp();
      this.upstream.end();
    }
    if (this.resPos >= this.resBuf.length) this.resBuf = EMPTY;
    else if (reused && this.resBuf === chunk) this.resBuf = Buffer.from(chunk.subarray(this.resPos));
    else this.resBuf = this.resBuf.subarray(this.resPos);
    this.resPos = 0;
    if (this.clientPending > 0 && !this.client.destroyed) {
      this.upWaitsClient = true;
      this.upStopped = true;
      return false;
    }
    return true;
  }

  private driveResponses(): void {
    const buf = this.resBuf;
    let pos = this.resPos;
    try {
      while (true) {
        if (this.resBody) {
          if (this.done) break;
          if (pos < buf.length) {
            const n = this.resBody.take(buf, pos);
            if (n > 0 && !this.resDiscard) this.forwardClient(buf, pos, pos + n);
            pos += n;
          }
          if (!this.resBody.done) break;
          this.resBody = undefined;
          this.finishSlot();
          continue;
        }
        if (pos >= buf.length) break;
        if (this.raw) {
          this.forwardClient(buf, pos, buf.length);
          pos = buf.length;
          break;
        }
        if (this.done) break;
        const slot = this.slots[0];
        if (!slot || slot.type !== 'upstream') throw new Error('response without a request');
        const end = headEnd(buf, pos);
        if (end < 0) {
          if (buf.length - pos > MAX_HEAD) throw new Error('response head too large');
          break;
        }
        const head = scanHead(buf, pos, end, 'response', RESPONSE_FRAMING_HEADERS);
        const start = pos;
        pos = end;
        this.resStarted = true;
        if (head.status === 101 || (slot.method === 'CONNECT' && head.status >= 200 && head.status < 300)) {
          // Switched protocols: from here on both directions are plain bytes.
          this.forwardClient(buf, start, end);
          this.slots.shift();
          this.raw = true;
          continue;
        }
        if (head.status < 200) {
          this.forwardClient(buf, start, end); // 100 Continue and friends: the final answer follows for the same request
          continue;
        }
        const framing = responseFraming(head, slot.method);
        if (slot.replace) {
          this.toClient(replacedHead(parseHead(buf.subarray(start, end), 'response'), slot.replace));
          if (slot.replace.body !== undefined && slot.method !== 'HEAD') this.toClient(Buffer.from(slot.replace.body));
        } else {
          this.forwardClient(buf, start, end);
        }
        this.resDiscard = slot.replace?.body !== undefined;
        if (framing.kind === 'none') this.finishSlot();
        else this.resBody = new BodyReader(framing);
      }
    } finally {
      this.resPos = pos;
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

  /** Sends buf[from, to) to the client with the rest of this read (see flushClient). */
  private forwardClient(buf: Buffer, from: number, to: number): void {
    if (this.clientOut.extend(buf, from, to)) return;
    this.flushClient();
    this.clientOut.hold(buf, from, to);
  }

  private flushClient(): void {
    const bytes = this.clientOut.take();
    if (bytes) this.writeClient(bytes);
  }

  /** Bytes of the proxy's own for the client, after what is already on its way. */
  private toClient(bytes: Buffer): void {
    this.flushClient();
    this.writeClient(bytes);
  }

  private writeClient(bytes: Buffer): void {
    if (this.client.destroyed || this.client.writableEnded) return;
    if (writeNow(this.client, bytes, this.clientWritten)) return;
    this.clientPending++;
    this.clientPendingBytes += bytes.length;
  }

  private onUpstreamEnd(): void {
    if (this.resBody?.untilClose) {
      this.resBody = undefined;
      this.finishSlot();
    }
    if (this.raw) {
      this.flushClient();
      return void this.client.end();
    }
    // Requests still waiting for the upstream will get no answer on this connection.
    this.flushAnswers();
    this.endBoth();
  }

  private onUpstreamError(err: NodeJS.ErrnoException): void {
    if (this.slots[0]?.type === 'upstream' && !this.resStarted && !this.raw) return this.upstreamFailed(err.code ?? err.message);
    this.fail(err, this.client);
  }

  /** The upstream failed before the oldest open request's answer began: 502, and the connection ends. */
  private upstreamFailed(why: string): void {
    this.slots = [];
    this.toClient(answer(502, `upstream ${this.target?.host}:${this.target?.port}: ${why}\n`, { close: true }));
    this.endBoth();
  }

  // ---- lifecycle

  private idle(): boolean {
    return this.slots.length === 0 && !this.reqBody && this.reqPos >= this.reqBuf.length && !this.delayed && !this.raw;
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
    // What this read still had on its way goes first.
    this.flushUp();
    this.flushClient();
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
  const compiled = compileRules(rules);
  const open = new Set<HttpConnection>();
  let draining = false;
  const serve = (client: net.Socket, from: UpstreamResolver | TakenOver) => {
    const c = new HttpConnection(client, compiled, from);
    open.add(c);
    client.once('close', () => open.delete(c));
    if (draining) c.drain(); // handed over by the relay thread during a drain
  };
  // Where the rule can rule requests out by method, path or a header it needs, the relay thread carries the requests it
  // rules out, and hands a connection over at the first it does not (native-relay.ts).
  const prefilter = relayPrefilter(rules.match);
  const relay = prefilter && nativeHttpRelay(prefilter, (h) => serve(...takenOver(h)));
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    if (!relay) return serve(client, upstreamFor);
    void relayed(client, upstreamFor, relay, serve).catch(() => client.destroy());
  });
  return {
    server,
    drain: async (graceMs) => {
      draining = true;
      relay?.drain();
      for (const c of open) c.drain();
      await drainServer(server, open, graceMs, relay);
    },
  };
}

/** Sockets for the fds a hand-off carries, paused as an accepted connection is. */
function takenOver(h: Handoff): [net.Socket, TakenOver] {
  const socket = (fd: number) => new net.Socket({ fd, allowHalfOpen: true, readable: true, writable: true, pauseOnCreate: true } as net.SocketConstructorOpts);
  const client = socket(h.client);
  return [client, { target: parseEndpoint(h.label), upstream: h.upstream >= 0 ? socket(h.upstream) : undefined, bytes: h.bytes, why: h.why, upstreamError: h.upstreamError }];
}

/**
 * Connects the upstream first and gives both to the relay thread. Where that cannot be (the
 * upstream refuses, no fd to spare), JavaScript serves the connection as it always has (a refused
 * upstream is then a 502 to the first request, as without the relay).
 */
async function relayed(client: net.Socket, upstreamFor: UpstreamResolver, relay: NativeHttpRelay, serve: (c: net.Socket, from: UpstreamResolver | TakenOver) => void): Promise<void> {
  const target = await upstreamFor(client);
  if (!target || client.destroyed) return void client.destroy();
  const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
  const onClientError = () => upstream.destroy();
  client.once('error', onClientError);
  upstream.once('error', () => {
    client.off('error', onClientError);
    if (!client.destroyed) serve(client, async () => target);
  });
  upstream.once('connect', () => {
    client.off('error', onClientError);
    upstream.removeAllListeners('error');
    if (client.destroyed) return void upstream.destroy();
    if (!relay.adoptHttp(client, upstream, formatEndpoint(target))) serve(client, { target, upstream });
  });
}
