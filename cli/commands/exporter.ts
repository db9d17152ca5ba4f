import { Command, Option } from 'commander';
import pino from 'pino';
import { parseDuration } from '../../api/units';
import type { DaemonConfig } from '../../exporter/daemons';
import type { RunningExporter } from '../../exporter/index';
import { anonymousWarning, safetyConfig, safetyOptions, type SafetyFlags } from '../safety-flags';
import { VERSION } from '../version';
import { addKubernetesOptions, kubernetesConfigFrom } from '../../exporter/targets/kubernetes/config';

// `faultline exporter`: the exporter driving remote daemons (`--daemon [NAME=]URL[,TOKEN]`, repeatable).

/** "[name=]url[,token]" → DaemonConfig. */
export function parseDaemonFlag(text: string): DaemonConfig {
  const m = /^(?:([A-Za-z0-9_.@-]{1,253})=)?(https?:\/\/[^,\s]+)(?:,(.+))?$/.exec(text.trim());
  if (!m) throw new Error(`--daemon "${text}" is not [NAME=]URL[,TOKEN] (e.g. http://10.0.0.5:9471,s3cret)`);
  return { url: m[2], ...(m[3] ? { token: m[3] } : {}), ...(m[1] ? { name: m[1] } : {}) };
}

export interface CommonExporterFlags extends SafetyFlags {
  listen: string;
  dataDir: string;
  lease: string;
  onShutdown: 'recover' | 'leave';
  logLevel: string;
  retention: string;
  maxEvents: string;
  maxEndedRuns: string;
}

/** --retention, --max-events, --max-ended-runs → the exporter's retention options (exporter/store/retention.ts). */
export function retentionOptions(o: CommonExporterFlags): { retention: string; maxEvents: number; maxEndedRuns: number } {
  if (o.retention !== '0') {
    try {
      parseDuration(o.retention);
    } catch (err) {
      throw new Error(`--retention: ${(err as Error).message}`);
    }
  }
  const count = (flag: string, v: string) => {
    if (!/^[0-9]{1,10}$/.test(v)) throw new Error(`${flag} must be a whole number (0: no limit)`);
    return Number(v);
  };
  return { retention: o.retention, maxEvents: count('--max-events', o.maxEvents), maxEndedRuns: count('--max-ended-runs', o.maxEndedRuns) };
}

/** Flags shared by `exporter` and `start`. */
export function exporterOptions(cmd: Command): Command {
  return safetyOptions(cmd)
    .addOption(new Option('--listen <host:port>', 'address of the API, /metrics and the event stream').env('FAULTLINE_LISTEN').default('127.0.0.1:9470'))
    .addOption(new Option('--data-dir <dir>', 'SQLite database and state').env('FAULTLINE_DATA_DIR').default('./data'))
    .addOption(new Option('--lease <duration>', 'lease given to the daemons for each fault (renewed every third of it)').env('FAULTLINE_LEASE').default('30s'))
    .addOption(
      new Option('--on-shutdown <what>', 'on SIGTERM/SIGINT: recover running experiments, or leave them to their leases and the next start')
        .choices(['recover', 'leave'])
        .env('FAULTLINE_ON_SHUTDOWN')
        .default('recover'),
    )
    .addOption(new Option('--log-level <level>', 'pino log level').env('FAULTLINE_LOG_LEVEL').default('info'))
    .addOption(new Option('--retention <duration>', 'events and ended experiments older than this are deleted ("0": no age limit)').env('FAULTLINE_RETENTION').default('336h'))
    .addOption(new Option('--max-events <n>', 'most events kept, the oldest go first (0: no limit)').env('FAULTLINE_MAX_EVENTS').default('500000'))
    .addOption(new Option('--max-ended-runs <n>', 'most ended experiments kept, the oldest go first (0: no limit)').env('FAULTLINE_MAX_ENDED_RUNS').default('10000'));
}

export function leaseSeconds(text: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw new Error(`--lease: ${(err as Error).message}`);
  }
  if (ms < 1000 || ms > 86_400_000) throw new Error('--lease must be between 1s and 24h');
  return Math.round(ms / 1000);
}

/** SIGTERM/SIGINT: graceful stop, then `after` (e.g. the embedded daemon), then exit. */
export function stopOnSignals(ex: RunningExporter, recover: boolean, log: pino.Logger, after?: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, recover }, 'stopping the exporter');
    ex.close({ recover })
      .then(() => after?.())
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        log.error({ err: String(err) }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

export function registerExporter(program: Command): void {
  addKubernetesOptions(exporterOptions(
    program
      .command('exporter')
      .description('run the exporter (API, schedules, metrics, events) driving the given node daemons')
      .addOption(
        new Option('--daemon <[name=]url[,token]>', 'a node daemon to drive (repeatable); FAULTLINE_DAEMONS takes several separated by spaces')
          .env('FAULTLINE_DAEMONS')
          .argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), ...v.split(/\s+/).filter(Boolean)]),
      ),
  )).action(async (o: CommonExporterFlags & { daemon?: string[] }) => {
    const log = pino({ name: 'faultline-exporter', level: o.logLevel });
    const { startExporter } = await import('../../exporter/index'); // loaded lazily: client commands start faster
    const daemons = (o.daemon ?? []).map(parseDaemonFlag);
    // Kubernetes mode (--kubernetes): pods as targets, the DaemonSet's daemons, the pod daemon for pod kinds.
    const k8sConfig = kubernetesConfigFrom(o as unknown as Record<string, unknown>);
    const k8s = k8sConfig.enabled
      ? await (await import('../../exporter/targets/kubernetes/setup')).startKubernetes(k8sConfig, { log, daemonToken: process.env.FAULTLINE_DAEMON_TOKEN })
      : undefined;
    if (k8s) daemons.push(...k8s.daemons);
    if (daemons.length === 0) log.warn('no --daemon given: experiments cannot target anything');
    const safety = safetyConfig(o);
    const warn = anonymousWarning(o.listen, safety);
    if (warn) log.warn(warn);
    const ex = await startExporter({
      listen: o.listen, dataDir: o.dataDir, daemons, logger: log, version: VERSION, leaseSeconds: leaseSeconds(o.lease), ...safety, ...retentionOptions(o),
      ...(k8s ? { targets: () => k8s.resolver } : {}),
    });
    process.stdout.write(`faultline exporter listening on ${ex.url}\n`);
    k8s?.watchDaemons(ex.daemons); // nodes that join later get their daemon registered
    stopOnSignals(ex, o.onShutdown === 'recover', log, k8s ? () => k8s.close() : undefined);
  });
}
