import path from 'node:path';
import { Option, type Command } from 'commander';
import pino from 'pino';
import { anonymousWarning, safetyConfig } from '../safety-flags';
import { VERSION } from '../version';
import { exporterOptions, leaseSeconds, retentionOptions, stopOnSignals, type CommonExporterFlags } from './exporter';

// `faultline start` (what `npm start` runs): the exporter with an embedded node daemon on a free
// loopback port. The exporter still reaches the daemon over HTTP, like any other; the daemon
// protects this process (the exporter) from being a target.
export function registerStart(program: Command): void {
  exporterOptions(program.command('start').description('run the exporter with an embedded local daemon (data under --data-dir)'))
    .addOption(
      new Option('--daemon-listen <host:port>', "address of the embedded daemon's API and /metrics (e.g. 127.0.0.1:9471 for Prometheus to scrape; default: any free loopback port)")
        .env('FAULTLINE_EMBEDDED_DAEMON_LISTEN')
        .default('127.0.0.1:0'),
    )
    .action(async (o: CommonExporterFlags & { daemonListen: string }) => {
    const log = pino({ name: 'faultline', level: o.logLevel });
    const safety = safetyConfig(o); // before anything starts: a bad flag starts nothing
    const retention = retentionOptions(o);
    const warn = anonymousWarning(o.listen, safety);
    if (warn) log.warn(warn);
    // Loaded here, not at the top: every other command starts faster without the servers' modules.
    // The daemon's capability probes (nft/tc in scratch namespaces: child processes) start first, so
    // they run while this process loads the daemon's and the exporter's modules, not after.
    const { probeCapabilities } = await import('../../daemon/capabilities');
    const capabilities = probeCapabilities();
    capabilities.catch(() => undefined); // awaited by startDaemon
    const [{ startDaemon }, { startExporter }] = await Promise.all([import('../../daemon/index'), import('../../exporter/index')]);
    const daemon = await startDaemon({
      listen: o.daemonListen,
      stateDir: path.join(o.dataDir, 'embedded-daemon'),
      protect: [String(process.pid)],
      logger: log.child({ component: 'daemon' }),
      capabilities,
    });
    // An exporter that does not start (a taken port, a data dir that takes no writes) stops the daemon
    // it came with: otherwise the daemon's watchdog would see it die with the process and run its
    // crash recovery over the state dir after the command has already said it failed.
    const ex = await startExporter({
      listen: o.listen,
      dataDir: o.dataDir,
      daemons: [{ url: daemon.url }],
      logger: log.child({ component: 'exporter' }),
      version: VERSION,
      leaseSeconds: leaseSeconds(o.lease),
      ...safety,
      ...retention,
    }).catch(async (err: unknown) => {
      await daemon.shutdown({ recover: true }).catch((e: unknown) => log.error({ err: String(e) }, 'the embedded daemon did not stop cleanly'));
      throw err;
    });
    process.stdout.write(`faultline exporter listening on ${ex.url} (embedded daemon ${daemon.url}, data in ${path.resolve(o.dataDir)})\n`);
    // The embedded daemon always reverts its faults when it stops (nobody would renew their leases);
    // with --on-shutdown leave the experiments stay Running in the store and are injected again on the next start.
    stopOnSignals(ex, o.onShutdown === 'recover', log, () => daemon.shutdown({ recover: true }));
  });
}
