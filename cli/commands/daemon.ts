import { Command, Option } from 'commander';
import pino from 'pino';
import { startDaemon } from '../../daemon/index';

// `faultline daemon`: the node daemon on its own (one per host). SIGTERM/SIGINT revert every fault
// before exiting; a crash leaves them in the journal and the next start reverts them.
export function registerDaemon(program: Command): void {
  program
    .command('daemon')
    .description('run the node daemon that injects and reverts faults on this host')
    .addOption(new Option('--listen <host:port>', 'address to serve the API on (port 0 = any free port)').env('FAULTLINE_DAEMON_LISTEN').default('127.0.0.1:9471'))
    .addOption(new Option('--state-dir <dir>', 'journal and lock directory').env('FAULTLINE_DAEMON_STATE_DIR').default('./data/daemon'))
    .addOption(new Option('--token <token>', 'bearer token required on every request but /healthz (needed for non-loopback --listen)').env('FAULTLINE_DAEMON_TOKEN'))
    .addOption(new Option('--tls-cert <file>', 'PEM certificate: serve HTTPS').env('FAULTLINE_DAEMON_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'PEM private key for --tls-cert').env('FAULTLINE_DAEMON_TLS_KEY'))
    .addOption(
      new Option('--protect <pids-or-names>', 'comma-separated pids or process names never to target (besides pid 1, the daemon and its parent)')
        .env('FAULTLINE_DAEMON_PROTECT')
        .default(''),
    )
    .addOption(new Option('--log-level <level>', 'pino log level').env('FAULTLINE_LOG_LEVEL').default('info'))
    .action(async (o: { listen: string; stateDir: string; token?: string; tlsCert?: string; tlsKey?: string; protect: string; logLevel: string }) => {
      const logger = pino({ name: 'faultline-daemon', level: o.logLevel });
      const daemon = await startDaemon({
        listen: o.listen,
        stateDir: o.stateDir,
        token: o.token || undefined,
        tlsCert: o.tlsCert,
        tlsKey: o.tlsKey,
        protect: o.protect.split(',').map((s) => s.trim()).filter(Boolean),
        logger,
      });
      // one plain line for scripts and tests (the URL is also in <state-dir>/daemon.url)
      process.stdout.write(`faultline daemon listening on ${daemon.url}\n`);
      let stopping = false;
      const stop = (sig: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal: sig }, 'stopping: reverting every fault');
        daemon
          .shutdown({ recover: true })
          .then(() => process.exit(0))
          .catch((err: unknown) => {
            logger.error({ err: String(err) }, 'shutdown failed');
            process.exit(1);
          });
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
