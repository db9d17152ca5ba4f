import net from 'node:net';
import type { Static } from '@sinclair/typebox';
import type { Toxic } from '../../api/proxy';
import { Link } from './link';
import { TOXICS, type ToxicStage } from './toxics';
import type { UpstreamResolver } from './upstream';

// The TCP proxy: every accepted connection becomes a Link to the upstream; each toxic decides once
// per connection (its toxicity) whether it applies, and then acts on its direction only.

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
  const links = new Set<Link>();
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
      const link = new Link(client, upstream, { upstreamStages: up, downstreamStages: down, onClose: () => links.delete(link) });
      links.add(link);
      upstream.once('connect', () => client.resume());
      link.start();
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
