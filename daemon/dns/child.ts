import { run } from '../sys/exec';
import { leaseAbandoned } from '../proxy/deadman';
import type { ProxyChildReply } from '../proxy/config';
import { startDnsResponder, type DnsRules } from './responder';

// Entry of a dns-fault's responder process, started like the fault proxy (daemon/proxy/supervisor.ts:
// own session, nsenter into the target's network namespace, the proxy gid, journal-first) and speaking
// its protocol: config as JSON on stdin, one JSON line on stdout once it serves. Then it serves until
// SIGTERM, or until its dead-man switch finds the fault abandoned: it removes its redirect and ends.

export interface DnsChildConfig {
  rules: DnsRules;
  /** The fault's journal file: gone, or its lease long expired = nobody will recover the fault. */
  journalFile?: string;
  /** The redirect table in this namespace, removed when the responder ends itself. */
  table?: string;
}

function reply(r: ProxyChildReply): void {
  process.stdout.write(JSON.stringify(r) + '\n');
}

for (const s of [process.stdout, process.stderr]) s.on('error', () => undefined);
// One odd packet must not take the responder down (the redirect would point at nothing): carry on.
process.on('uncaughtException', () => undefined);
process.on('unhandledRejection', () => undefined);

async function main(): Promise<void> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  const cfg = JSON.parse(text) as DnsChildConfig;
  const responder = await startDnsResponder(cfg.rules);
  reply({ ready: true, port: responder.port });
  let ending = false;
  const stop = () => {
    if (ending) return;
    ending = true;
    void responder.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  const { journalFile, table } = cfg;
  if (journalFile) {
    setInterval(() => {
      if (ending || !leaseAbandoned(journalFile)) return;
      // Take the redirect away first: queries then go straight to their resolvers again.
      const removal = table ? run('nft', ['delete', 'table', 'inet', table]).catch(() => undefined) : Promise.resolve();
      void removal.finally(stop);
    }, 1000).unref();
  }
}

main().catch((err: Error) => {
  reply({ ready: false, code: (err as NodeJS.ErrnoException).code ?? 'START_FAILED', message: err.message });
  process.exit(1);
});
