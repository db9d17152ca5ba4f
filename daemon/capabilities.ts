import { run, ToolError } from './sys/exec';
import { layout } from './sys/cgroup';
import { nftBackend } from './sys/nft';
import { tcBackend } from './sys/tc';
import { relayBackend } from './proxy/native-relay';

// What this host can do, probed once at start and shown in /v1/info. Kernel features are probed by
// really creating the object in a scratch network namespace (`unshare --net`), which vanishes with
// the probe, so nothing on the host is touched and a missing module (sch_netem) is found for sure.

export type Capabilities = Record<string, { available: boolean; detail?: string }>;

async function probe(cmd: string, args: string[], input?: string): Promise<{ available: boolean; detail?: string }> {
  try {
    await run(cmd, args, { input, timeoutMs: 10_000 });
    return { available: true };
  } catch (err) {
    const detail = err instanceof ToolError ? (err.code === 'ENOENT' ? `${cmd} is not installed` : err.stderr.trim().split('\n')[0] || String(err.code)) : String(err);
    return { available: false, detail };
  }
}

const NFT_PROBE = 'table inet faultline-probe {\n chain c {\n  type filter hook output priority -300; policy accept;\n  oifname != "lo" numgen random mod 100 < 1 drop\n }\n}\n';

export async function probeCapabilities(): Promise<Capabilities> {
  const root = process.getuid?.() === 0;
  const caps: Capabilities = { root: root ? { available: true } : { available: false, detail: 'not running as root' } };
  const [nsenter, nft, tc, tbf, netem, cg] = await Promise.all([
    probe('nsenter', ['--version']),
    root ? probe('unshare', ['--net', 'nft', '-f', '-'], NFT_PROBE) : probe('nft', ['--version']),
    probe('tc', ['-V']),
    root ? probe('unshare', ['--net', 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'tbf', 'rate', '1mbit', 'burst', '32kb', 'limit', '64kb']) : Promise.resolve({ available: false, detail: 'needs root to probe' }),
    root ? probe('unshare', ['--net', 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']) : Promise.resolve({ available: false, detail: 'needs root to probe' }),
    layout(),
  ]);
  caps.nsenter = nsenter;
  caps.nft = nft.available ? { available: true, detail: nftBackend().detail } : nft;
  caps.tc = tc.available ? { available: true, detail: tcBackend().detail } : tc;
  caps.tbf = tbf.available ? tbf : { available: false, detail: `tc tbf qdisc unavailable: ${tbf.detail}` };
  caps.netem = netem.available
    ? netem
    : { available: false, detail: /unknown/i.test(netem.detail ?? '') ? `the kernel has no sch_netem (tc: ${netem.detail})` : `tc netem unavailable: ${netem.detail}` };
  caps.cgroup = cg.mode === 'none' ? { available: false, detail: 'no cgroup hierarchy mounted' } : { available: true, detail: `${cg.mode}: ${[...cg.roots.values()].join(', ')}` };
  caps.k8s = { available: false, detail: 'not a Kubernetes node agent' };
  // not required by any kind: tcp-fault relays in JavaScript without it, a little slower
  const relay = relayBackend();
  caps.proxyRelay = { available: relay.native, detail: relay.detail };
  return caps;
}
