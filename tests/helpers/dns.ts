import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { pollFor } from './wait';

// A real DNS server for tests: Debian's dnsmasq in a namespace the test made, answering fixed records
// and nothing else (no upstream, no /etc/hosts), and a resolv.conf for the client namespace that points
// at it (`ip netns exec` mounts /etc/netns/<ns>/resolv.conf over /etc/resolv.conf). `dig` and `getent`
// run inside the client namespace, so they see exactly what an application there would.

const run = promisify(execFile);

export interface DnsServer {
  stop(): Promise<void>;
}

/** dnsmasq on `addr`:53 inside `ns`, answering each `records` name (and its subdomains) with its address. */
export async function startDnsmasq(ns: string, addr: string, records: Record<string, string>, dir: string): Promise<DnsServer> {
  const args = ['netns', 'exec', ns, 'dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--bind-interfaces'];
  args.push(`--listen-address=${addr}`, `--pid-file=${path.join(dir, 'dnsmasq.pid')}`, '--user=root', '--cache-size=0');
  for (const [name, ip] of Object.entries(records)) args.push(`--address=/${name}/${ip}`);
  const child: ChildProcess = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const first = Object.keys(records)[0];
  await pollFor(
    'dnsmasq answering',
    async () => {
      if (child.exitCode !== null) throw new Error(`dnsmasq exited ${child.exitCode}: ${stderr}`);
      return (await dig(ns, first, { server: addr })).addresses.length > 0;
    },
    20_000,
    200,
  );
  return {
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** Makes `ns` resolve through `nameserver` (one try, short timeout: a failure shows fast). Returns the undo. */
export function useResolver(ns: string, nameserver: string): () => void {
  const dir = `/etc/netns/${ns}`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'resolv.conf'), `nameserver ${nameserver}\noptions timeout:3 attempts:1\n`);
  return () => rmSync(dir, { recursive: true, force: true });
}

export interface DigResult {
  /** NOERROR, NXDOMAIN, SERVFAIL...; 'TIMEOUT' when no answer came. */
  status: string;
  addresses: string[];
}

/** `dig` inside `ns`: through its resolv.conf, or at `server`; over TCP with `tcp`. */
export async function dig(ns: string, name: string, opts: { server?: string; tcp?: boolean; type?: 'A' | 'AAAA' | 'MX' } = {}): Promise<DigResult> {
  const args = ['netns', 'exec', ns, 'dig', '+tries=1', '+time=3', '+noall', '+comments', '+answer'];
  if (opts.tcp) args.push('+tcp');
  if (opts.server) args.push(`@${opts.server}`);
  args.push(name, opts.type ?? 'A');
  let out: string;
  try {
    out = (await run('ip', args, { timeout: 20_000 })).stdout;
  } catch (err) {
    out = String((err as { stdout?: string }).stdout ?? '');
  }
  const status = /status: ([A-Z]+)/.exec(out)?.[1] ?? 'TIMEOUT';
  const addresses = [...out.matchAll(/^\S+\s+\d+\s+IN\s+(?:A|AAAA)\s+(\S+)$/gm)].map((m) => m[1]);
  return { status, addresses };
}

/** `getent ahostsv4` inside `ns` (glibc's resolver, as applications use it): the addresses, or [] when it fails. */
export async function getent(ns: string, name: string): Promise<string[]> {
  try {
    const { stdout } = await run('ip', ['netns', 'exec', ns, 'getent', 'ahostsv4', name], { timeout: 20_000 });
    return [...new Set(stdout.split('\n').map((l) => l.split(/\s+/)[0]).filter(Boolean))];
  } catch {
    return [];
  }
}
