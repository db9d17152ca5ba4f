import net from 'node:net';
import type { Static } from '@sinclair/typebox';
import type { Toxic } from '../../api/proxy';
import { Link } from './link';
import { nativeRelay, type NativeRelay } from './native-relay';
import { TOXICS, type ToxicStage } from './toxics';
import type { UpstreamResolver } from './upstream';

// The TCP proxy: each toxic decides once per connection (its toxicity) whether it applies, and then
// acts on its direction only. A connection some toxic acts on becomes a Link to the upstream
// (link.ts); one no toxic acts on goes to the native relay thread once its upstream is connected
// (native-relay.ts), or where that is not built, to a Link's pass-through.

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
  const relay = nativeRelay();
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
      const startLink = () => {
        const link = new Link(client, upstream, { upstreamStages: up, downstreamStages: down, onClose: () => links.delete(link) });
        links.add(link);
        link.start();
      };
      if (relay && up.length === 0 && down.length === 0) {
        // No toxic acts on this connection: once the upstream is connected, the relay thread carries
        // both directions. Until then a failure on either side ends both, as a Link would.
        const fail = (other: net.Socket) => (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? other.resetAndDestroy() : other.destroy());
        const onClientError = fail(upstream);
        const onUpstreamError = fail(client);
        client.once('error', onClientError);
        upstream.once('error', onUpstreamError);
        upstream.once('connect', () => {
          client.off('error', onClientError);
          upstream.off('error', onUpstreamError);
          if (!relay.adopt(client, upstream)) {
            startLink();
            client.resume();
          }
        });
        return;
      }
      upstream.once('connect', () => client.resume());
      startLink();
    })().catch(() => client.destroy());
  });
  return {
    server,
    drain: (graceMs) => drainServer(server, links, graceMs, relay),
  };
}

/**
 * Stops accepting, waits up to `graceMs` for the open connections (JavaScript ones in `open`, and the
 * relay thread's) to end, then cuts the rest.
 */
export async function drainServer(server: net.Server, open: Set<{ destroy(): void }>, graceMs: number, relay?: NativeRelay): Promise<void> {
  server.close();
  const deadline = Date.now() + graceMs;
  while (open.size + (relay?.open() ?? 0) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  for (const l of open) l.destroy();
  relay?.cutAll();
}
