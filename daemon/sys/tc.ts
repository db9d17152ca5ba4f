import { addonPath, loadAddon } from '../native/addon';
import { run, ToolError } from './exec';

// Traffic control. A fault adds one root qdisc with a handle derived from its id, and recovery removes
// the root qdisc only while it is still that handle, so it never deletes a qdisc someone else put there.
//
// Adding runs the `tc` binary (htb trees, u32 filters: tc's own encoding). Removing, the stop path, is one
// rtnetlink message, sent from inside the daemon (daemon/native/tc.c, built at install): ~1 ms where
// nsenter + tc cost ~15–20 ms of CPU. Without the addon (or with FAULTLINE_TC=binary) tc removes it too.

interface NativeTc {
  deleteRoot(dev: string, handle: number, netnsPath: string | null): Promise<void>;
}

export const NATIVE_TC_PATH = addonPath('faultline-tc.node');

const native = loadAddon<NativeTc>(NATIVE_TC_PATH, { env: 'FAULTLINE_TC', value: 'binary' });

/** How qdiscs are removed, for /v1/info (the tc capability's detail). */
export function tcBackend(): { native: boolean; detail: string } {
  return native.addon
    ? { native: true, detail: 'adds qdiscs with the tc binary, removes them through rtnetlink in the daemon' }
    : { native: false, detail: `tc binary (${native.why})` };
}

export interface Qdisc {
  kind: string;
  handle: string;
  root: boolean;
}

/** Adds a root qdisc (never replaces one: an existing non-default root qdisc is a conflict). */
export async function addRootQdisc(dev: string, handle: string, kindArgs: string[], netnsPath?: string): Promise<void> {
  await run('tc', ['qdisc', 'add', 'dev', dev, 'root', 'handle', handle, ...kindArgs], { netnsPath });
}

/** TCP leaving from `port` (on `host`, when it is one address) that a fault's qdisc must not hold up. */
export interface SparedPort {
  host?: string;
  port: number;
}

/**
 * The fault's qdisc (`kindArgs`) under an htb root with `handle`: class :2, the default, holds the fault's
 * qdisc; class :1 takes the `spared` TCP source ports past it (the daemon's answers to its exporter, see
 * daemon/faults/control-port.ts). One `tc -batch` that stops at its first error; an error after the root
 * was added removes the root again (everything else hangs below it), so nothing half-built stays.
 * Returns false, having added the plain root qdisc instead, when the kernel has no sch_htb.
 */
export async function addRootQdiscSparing(dev: string, handle: string, kindArgs: string[], spared: readonly SparedPort[], netnsPath?: string): Promise<boolean> {
  const major = handle.replace(/:$/, '');
  // rate far above any NIC: the classes only sort packets, the fault's own qdisc does the shaping
  const cls = 'htb rate 100gbit burst 1m cburst 1m quantum 60000';
  const lines = [
    `qdisc add dev ${dev} root handle ${major}: htb default 2`,
    `class add dev ${dev} parent ${major}: classid ${major}:2 ${cls}`,
    `qdisc add dev ${dev} parent ${major}:2 ${kindArgs.join(' ')}`,
    ...sparedClassLines(dev, major, spared),
  ];
  try {
    await run('tc', ['-batch', '-'], { input: lines.join('\n') + '\n', netnsPath });
    return true;
  } catch (err) {
    if (!(err instanceof ToolError)) throw err;
    const first = /Command failed -:1\b/.test(err.stderr);
    if (first && /unknown/i.test(err.stderr)) {
      await addRootQdisc(dev, handle, kindArgs, netnsPath); // no sch_htb: the fault without the spared class
      return false;
    }
    if (!first) await deleteRootQdisc(dev, handle, netnsPath);
    throw err;
  }
}

/**
 * `tc -batch` lines for class :1 under the htb root `major` (unshaped: its rate is far above any NIC)
 * and the u32 filters sending the `spared` ports there, at priorities 1 (IPv4) and 2 (IPv6), before
 * any other filter of the tree.
 */
export function sparedClassLines(dev: string, major: string, spared: readonly SparedPort[]): string[] {
  const lines = [`class add dev ${dev} parent ${major}: classid ${major}:1 htb rate 100gbit burst 1m cburst 1m quantum 60000`];
  for (const sp of spared) {
    const v6 = sp.host?.includes(':');
    const specific = sp.host && sp.host !== '0.0.0.0' && sp.host !== '::' && /^[0-9a-fA-F:.]+$/.test(sp.host);
    if (!specific || !v6) lines.push(`filter add dev ${dev} parent ${major}: protocol ip prio 1 u32 match ip sport ${sp.port} 0xffff${specific ? ` match ip src ${sp.host}/32` : ''} flowid ${major}:1`);
    if (!specific || v6) lines.push(`filter add dev ${dev} parent ${major}: protocol ipv6 prio 2 u32 match ip6 sport ${sp.port} 0xffff${specific ? ` match ip6 src ${sp.host}/128` : ''} flowid ${major}:1`);
  }
  return lines;
}

/** Root qdiscs of `dev` ([] when the device or the netns is gone). */
export async function listQdiscs(dev: string, netnsPath?: string): Promise<Qdisc[]> {
  let out: string;
  try {
    out = await run('tc', ['-j', 'qdisc', 'show', 'dev', dev], { netnsPath });
  } catch (err) {
    if (err instanceof ToolError) return [];
    throw err;
  }
  const rows = JSON.parse(out || '[]') as { kind: string; handle: string; root?: boolean }[];
  return rows.map((r) => ({ kind: r.kind, handle: r.handle, root: !!r.root }));
}

/**
 * Deletes the root qdisc of `dev` if it is still `handle`: the kernel itself refuses ("Invalid handle")
 * when the root qdisc has another handle, so one call is both the check and the delete.
 * A gone device, netns or qdisc counts as done.
 */
export async function deleteRootQdisc(dev: string, handle: string, netnsPath?: string): Promise<void> {
  const args = ['qdisc', 'del', 'dev', dev, 'root', 'handle', handle];
  if (native.addon) {
    try {
      await native.addon.deleteRoot(dev, majorOf(handle), netnsPath ?? null);
    } catch (err) {
      const e = err as Error & { code?: string };
      // ENODEV: no such device; ENOENT: no such netns, or no qdisc of ours ("handle of zero"); EINVAL with
      // "Invalid handle": the root qdisc is someone else's. The same cases the binary's texts say below.
      if (e.code === 'ENODEV' || e.code === 'ENOENT' || (e.code === 'EINVAL' && /Invalid handle/i.test(e.message))) return;
      throw new ToolError('tc', args, e.code ?? null, e.message);
    }
    return;
  }
  try {
    await run('tc', args, { netnsPath });
  } catch (err) {
    if (err instanceof ToolError && /Cannot find device|No such file|Invalid handle|handle of zero|No such device/i.test(err.stderr)) return;
    throw err;
  }
}

/** "1a2b:" → 0x1a2b0000, the handle as the kernel has it (major in the high 16 bits). */
function majorOf(handle: string): number {
  const m = /^([0-9a-f]{1,4}):$/i.exec(handle);
  if (!m) throw new Error(`not a tc major handle: ${handle}`);
  return parseInt(m[1], 16) * 0x10000;
}

/** A tc major handle ("1a2b:") derived from a fault id: stable across restarts, never 0 or ffff. */
export function handleFor(id: string): string {
  let h = 2166136261;
  for (const ch of id) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  const major = (h % 0xfffd) + 1;
  return `${major.toString(16)}:`;
}
