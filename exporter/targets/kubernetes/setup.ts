import type { Logger } from 'pino';
import { DaemonClient, type DaemonConfig, type DaemonRegistry } from '../../daemons';
import type { KubernetesConfig } from './config';
import { KubernetesMode } from './index';
import { startPodDaemon, type RunningPodDaemon } from './pod-daemon';
import { KubernetesTargets } from './resolver';

// Wiring Kubernetes mode into `faultline exporter --kubernetes` in one call: the target resolver for
// the engine, the daemons to register (every DaemonSet pod, named after its node, plus the in-process
// pod daemon for the pod kinds), leader election, and a refresh that picks up nodes added later.

export interface KubernetesSetup {
  mode: KubernetesMode;
  resolver: KubernetesTargets;
  /** Node daemons (from the DaemonSet) and the pod daemon, for the exporter's DaemonRegistry. */
  daemons: DaemonConfig[];
  podDaemon: RunningPodDaemon;
  /** Adds daemons of nodes that joined since start to `registry`; returns how many were added. */
  syncDaemons(registry: DaemonRegistry): Promise<number>;
  /** Runs syncDaemons every `everyMs` until close(). */
  watchDaemons(registry: DaemonRegistry, everyMs?: number): void;
  close(opts?: { recover?: boolean }): Promise<void>;
}

export async function startKubernetes(config: KubernetesConfig, opts: { log: Logger; daemonToken?: string; mode?: KubernetesMode }): Promise<KubernetesSetup> {
  const mode = opts.mode ?? KubernetesMode.fromConfig(config, { log: opts.log, ...(opts.daemonToken ? { daemonToken: opts.daemonToken } : {}) });
  const resolver = new KubernetesTargets(mode);
  const podDaemon = await startPodDaemon(mode, { log: opts.log });
  const podDaemonConfig: DaemonConfig = { url: podDaemon.url, name: 'kubernetes-api', token: podDaemon.token };
  const daemons = [...(await resolver.daemonConfigs(opts.daemonToken)), podDaemonConfig];
  opts.log.info({ daemons: daemons.map((d) => d.name), scope: config.scopeNamespaces ?? 'cluster' }, 'Kubernetes mode');
  if (mode.leader) {
    await mode.leader.tryAcquireOrRenew(); // know at once whether this replica leads
    mode.leader.start();
  }
  let watch: NodeJS.Timeout | undefined;
  const syncDaemons = async (registry: DaemonRegistry) => {
    let added = 0;
    for (const c of await resolver.daemonConfigs(opts.daemonToken)) {
      if (registry.byName(c.name as string)) continue;
      registry.clients.push(new DaemonClient(c));
      added++;
    }
    if (added) opts.log.info({ added }, 'daemons of new nodes registered');
    return added;
  };
  return {
    mode,
    resolver,
    daemons,
    podDaemon,
    syncDaemons,
    watchDaemons(registry, everyMs = 15_000) {
      if (watch) clearInterval(watch);
      watch = setInterval(() => {
        syncDaemons(registry).catch((err: unknown) => opts.log.warn({ err: (err as Error).message }, 'listing the daemon pods failed'));
      }, everyMs);
      watch.unref();
    },
    async close(o = {}) {
      if (watch) clearInterval(watch);
      await mode.leader?.stop();
      await podDaemon.close(o);
    },
  };
}
