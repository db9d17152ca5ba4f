import net from 'node:net';
import type { Static } from '@sinclair/typebox';
import type { Toxic } from '../../api/proxy';
import { KernelLink } from './kernel-link';
import { Link } from './link';
import { kernelRelay } from './splice';
import { TOXICS, type ToxicStage } from './toxics';
import type { UpstreamResolver } from './upstream';

// The TCP proxy: every accepted connection goes to the upstream; each toxic decides once per
// connection (its toxicity) whether it applies, and then acts on its direction only. A connection
// with toxics is a Link (user space, link.ts); one without is a KernelLink (splice, kernel-link.ts)
// where the native relay is built, else a Link too.

export interface TcpProxyOptions {
  toxics: Static<typeof Toxic>[];
  upstreamFor: UpstreamResolver;
}

export interface RunningProxy {
  server: net.Server;
  /** Stops accepting, waits up to `graceMs` for open connections, then cuts the rest. */
  drain(graceMs: number): Promise<void>;
}

export function createTcpProxy(opts: TcpProxyOptions): RunningProxy {
  const built = opts.toxics.map((t) => ({ params: t, stage: TOXICS[t.type].create(t) }));
  const links = new Set<{ destroy(): void }>();
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    void (async () => {
      const target = await opts.upstreamFor(client);
      if (!target || client.destroyed) return void client.destroy();
      const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
      const up: ToxicStage[] = [];
      const down: ToxicStage[] = [];
      for (const t of built) {
        if (t.params.toxicity >= 1 || Math.random() < t.params.toxicity) (t.params.direction === 'upstream' ? up : down).push(t.stage);
      }
      const inUserSpace = () => {
        const link = new Link(client, upstream, { upstreamStages: up, downstreamStages: down, onClose: () => links.delete(link) });
        links.add(link);
        link.start();
      };
      if (up.length > 0 || down.length > 0 || !kernelRelay().available) {
        upstream.once('connect', () => client.resume());
        return inUserSpace();
      }
      // Nothing to do to this connection's bytes: the kernel relays them (splice.ts). Neither
      // socket may read before the hand-over, so the upstream is paused before it connects.
      upstream.pause();
      const kernel = new KernelLink(client, upstream, () => links.delete(kernel));
      links.add(kernel);
      upstream.once('connect', () => {
        if (kernel.handOver()) return;
        links.delete(kernel);
        inUserSpace();
        upstream.resume();
        client.resume();
      });
    })().catch(() => client.destroy());
  });
  return {
    server,
    drain: (graceMs) => drainServer(server, links, graceMs),
  };
}

export async function drainServer(server: net.Server, open: Set<{ destroy(): void }>, graceMs: number): Promise<void> {
  server.close();
  const deadline = Date.now() + graceMs;
  while (open.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  for (const l of open) l.destroy();
}
