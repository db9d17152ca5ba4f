import type { AddressInfo } from 'node:net';
import type { ProxyChildConfig, ProxyChildReply } from './config';
import { run } from '../sys/exec';
import { leaseAbandoned } from './deadman';
import { formatEndpoint } from './endpoint';
import { probeConnect } from './probe';
import { createTcpProxy, type RunningProxy } from './tcp-proxy';
import { fixedUpstream, transparentUpstream } from './upstream';

// Entry of the proxy child process (started by supervisor.ts, inside the target's network namespace
// through nsenter when there is one). Reads its config from stdin, listens, answers one JSON line on
// stdout, then serves until SIGTERM (drain) or SIGKILL. After the answer it writes nothing more: the
// daemon may be gone (its pipes closed) while the proxy keeps serving until recovery stops it.

function reply(r: ProxyChildReply): void {
  process.stdout.write(JSON.stringify(r) + '\n');
}

for (const s of [process.stdout, process.stderr]) s.on('error', () => undefined);
// One broken connection must not take the fault's proxy down with it (the redirect would then point
// at nothing until recovery): count and carry on.
let unexpected = 0;
process.on('uncaughtException', () => void unexpected++);
process.on('unhandledRejection', () => void unexpected++);

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text;
}

async function main(): Promise<void> {
  const cfg = JSON.parse(await readStdin()) as ProxyChildConfig;
  if (cfg.upstream && cfg.probeUpstream) {
    // Probed from inside the proxy's own network namespace: what the daemon sees may differ.
    const reason = await probeConnect(cfg.upstream);
    if (reason) {
      reply({ ready: false, code: 'UPSTREAM_UNREACHABLE', message: `upstream ${formatEndpoint(cfg.upstream)} is unreachable: ${reason}` });
      process.exit(1);
    }
  }
  const upstreamFor = cfg.upstream ? fixedUpstream(cfg.upstream) : transparentUpstream(cfg.targetPort ?? 0);
  // the HTTP proxy (and the schema library its matchers' errors use) is loaded only by an http-fault
  // child: a tcp-fault child starts faster without it
  const proxy: RunningProxy =
    cfg.proxy === 'http' ? (await import('./http-proxy')).createHttpProxy(cfg.http ?? {}, upstreamFor) : createTcpProxy({ toxics: cfg.toxics ?? [], upstreamFor });
  // Transparent mode listens on every address: nft redirects to the incoming interface's address
  // (prerouting) or to loopback (output). `::` also takes IPv4; a namespace without IPv6 gets 0.0.0.0.
  const listen = (host: string) => proxy.server.listen({ host, port: cfg.listen.port, ipv6Only: false, backlog: 1024 });
  proxy.server.on('error', (err: NodeJS.ErrnoException) => {
    if (cfg.listen.host === '::' && !proxy.server.listening && (err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL')) {
      cfg.listen.host = '0.0.0.0';
      return void listen('0.0.0.0');
    }
    if (proxy.server.listening) return;
    reply({ ready: false, code: err.code ?? 'ERROR', message: err.message });
    process.exit(1);
  });
  proxy.server.once('listening', () => reply({ ready: true, port: (proxy.server.address() as AddressInfo).port }));
  listen(cfg.listen.host);
  let draining = false;
  const stop = () => {
    if (draining) return;
    draining = true;
    void proxy.drain(cfg.drainMs).finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  if (cfg.journalFile) {
    const journalFile = cfg.journalFile;
    setInterval(() => {
      if (draining || !leaseAbandoned(journalFile)) return;
      // Nobody will recover this fault: take the redirect away first, then drain like a recover would.
      const removal = cfg.table ? run('nft', ['delete', 'table', 'inet', cfg.table]).catch(() => undefined) : Promise.resolve();
      void removal.finally(stop);
    }, 1000).unref();
  }
}

main().catch((err: Error) => {
  reply({ ready: false, code: 'START_FAILED', message: err.message });
  process.exit(1);
});
