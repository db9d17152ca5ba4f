import dgram from 'node:dgram';
import net from 'node:net';
import { conntrackOriginal, type Endpoint } from '../proxy/endpoint';
import { errorAnswer, parseQuery, randomAnswer, RCODE, servfail } from './message';
import { compilePatterns } from './patterns';

// The DNS responder of one dns-fault, inside the target's network namespace. nft redirects every DNS
// query leaving the namespace here (UDP and TCP, same port, on 127.0.0.1 and ::1 where the redirect
// lands). A query whose name matches is answered here with the fault (for `percent` of them); any
// other is forwarded unchanged to the resolver it was sent to (conntrack's original destination) and
// its answer relayed unchanged. The responder's own sockets carry the proxy gid, which the redirect
// skips, so forwarding does not loop back here.

export interface DnsRules {
  action: 'error' | 'random';
  patterns: string[];
  rcode?: 'NXDOMAIN' | 'SERVFAIL';
  percent?: number;
}

/** How long a resolver may take to answer a forwarded query before the client is left to retry. */
const FORWARD_TIMEOUT_MS = 5000;
/** Open TCP client connections at most (each is a resolver client; more wait in the kernel backlog). */
const MAX_TCP_CLIENTS = 256;
const TCP_IDLE_MS = 30_000;
/** UDP queries being forwarded at once at most; beyond, new ones are dropped (the client retries) instead of piling up sockets. */
const MAX_UDP_IN_FLIGHT = 1024;

export interface DnsResponder {
  port: number;
  /** IPv6 loopback served too (false in a namespace without IPv6). */
  v6: boolean;
  close(): Promise<void>;
  stats: { faulted: number; forwarded: number; failed: number };
}

/** Decides one query: the fault's answer, or undefined = forward it. */
export function decider(rules: DnsRules, random = Math.random): (msg: Buffer) => Buffer | undefined {
  const matches = compilePatterns(rules.patterns);
  const percent = rules.percent ?? 100;
  return (msg) => {
    const q = parseQuery(msg);
    if (!q || !matches(q.name) || !(random() * 100 < percent)) return undefined;
    return rules.action === 'random' ? randomAnswer(msg, q) : errorAnswer(msg, q, RCODE[rules.rcode ?? 'NXDOMAIN']);
  };
}

function forwardUdp(msg: Buffer, to: Endpoint): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(net.isIPv6(to.host) ? 'udp6' : 'udp4');
    const done = (answer?: Buffer) => {
      clearTimeout(timer);
      sock.close();
      resolve(answer);
    };
    const timer = setTimeout(() => done(), FORWARD_TIMEOUT_MS);
    sock.on('error', () => done());
    // connect() makes the kernel drop datagrams from anyone but that resolver.
    sock.connect(to.port, to.host, () => sock.send(msg));
    sock.on('message', (answer) => {
      if (answer.length >= 2 && answer.readUInt16BE(0) === msg.readUInt16BE(0)) done(answer);
    });
  });
}

/** Reads 2-byte length-prefixed DNS messages (RFC 1035 §4.2.2) off a stream. */
function frames(onMessage: (m: Buffer) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const len = buf.readUInt16BE(0);
      onMessage(buf.subarray(2, 2 + len));
      buf = buf.subarray(2 + len);
    }
  };
}

const framed = (m: Buffer) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]);

function forwardTcp(msg: Buffer, to: Endpoint): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: to.host, port: to.port });
    const done = (answer?: Buffer) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(), FORWARD_TIMEOUT_MS);
    sock.on('error', () => done());
    sock.on('connect', () => sock.write(framed(msg)));
    sock.on('data', frames((answer) => done(answer)));
    sock.on('close', () => done());
  });
}

function bindUdp(type: 'udp4' | 'udp6', host: string, port: number, onMessage: (s: dgram.Socket, m: Buffer, r: dgram.RemoteInfo) => void): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
    s.once('error', reject);
    s.bind({ address: host, port, exclusive: true }, () => {
      s.off('error', reject);
      s.on('error', () => undefined);
      s.on('message', (m, r) => onMessage(s, m, r));
      resolve(s);
    });
  });
}

function listenTcp(host: string, port: number, onConn: (c: net.Socket) => void): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer(onConn);
    srv.maxConnections = MAX_TCP_CLIENTS;
    srv.once('error', reject);
    srv.listen({ host, port, ipv6Only: host === '::1', backlog: 512 }, () => {
      srv.off('error', reject);
      resolve(srv);
    });
  });
}

/**
 * Starts the responder: UDP and TCP on one free port, on 127.0.0.1 (and ::1 when the namespace has IPv6).
 * Bound to loopback only, never the wildcard: replies must leave from the address the redirect delivered
 * to (so conntrack maps them back to the resolver's address) and nothing outside may reach it directly.
 */
export async function startDnsResponder(rules: DnsRules): Promise<DnsResponder> {
  const decide = decider(rules);
  const stats = { faulted: 0, forwarded: 0, failed: 0 };

  async function answer(msg: Buffer, proto: 'udp' | 'tcp', client: string, clientPort: number, localPort: number): Promise<Buffer | undefined> {
    const faulted = decide(msg);
    if (faulted) {
      stats.faulted++;
      return faulted;
    }
    const to = await conntrackOriginal(proto, client, clientPort, localPort);
    // Without an entry someone sent here directly: there is no resolver to forward to.
    const forwarded = to ? await (proto === 'udp' ? forwardUdp(msg, to) : forwardTcp(msg, to)) : undefined;
    if (forwarded) stats.forwarded++;
    else stats.failed++;
    return forwarded ?? (to ? undefined : servfail(msg));
  }

  let inFlight = 0;
  const onUdp = (s: dgram.Socket, msg: Buffer, r: dgram.RemoteInfo) => {
    if (inFlight >= MAX_UDP_IN_FLIGHT) return void stats.failed++;
    inFlight++;
    void answer(msg, 'udp', r.address, r.port, s.address().port)
      .then((a) => a && s.send(a, r.port, r.address))
      .finally(() => inFlight--);
  };

  const onTcp = (c: net.Socket) => {
    c.setTimeout(TCP_IDLE_MS, () => c.destroy());
    c.on('error', () => undefined);
    // Answers go back in query order: each waits for the one before it.
    let queue = Promise.resolve();
    c.on(
      'data',
      frames((msg) => {
        const m = Buffer.from(msg);
        queue = queue.then(async () => {
          const a = await answer(m, 'tcp', c.remoteAddress ?? '', c.remotePort ?? 0, c.localPort ?? 0);
          if (a && !c.destroyed) c.write(framed(a));
          else if (!a) c.destroy(); // the resolver did not answer: close, as a resolver would, so the client retries
        });
      }),
    );
  };

  for (let attempt = 0; ; attempt++) {
    const opened: { close(): void }[] = [];
    try {
      const udp4 = await bindUdp('udp4', '127.0.0.1', 0, onUdp);
      opened.push(udp4);
      const port = udp4.address().port;
      opened.push(await listenTcp('127.0.0.1', port, onTcp));
      let v6 = true;
      try {
        opened.push(await bindUdp('udp6', '::1', port, onUdp));
        opened.push(await listenTcp('::1', port, onTcp));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EADDRNOTAVAIL' && code !== 'EAFNOSUPPORT') throw err;
        v6 = false; // no IPv6 in this namespace: its queries cannot be IPv6 either
      }
      const all = [...opened];
      return {
        port,
        v6,
        stats,
        close: async () => {
          for (const s of all) s.close();
        },
      };
    } catch (err) {
      for (const s of opened) s.close();
      // The UDP port was free but TCP (or ::1) has it: another free port will do.
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw err;
    }
  }
}
