import { run, ToolError } from './exec';

// Traffic control through the `tc` binary. A fault adds one root qdisc with a handle derived from
// its id, and recovery removes the root qdisc only while it is still that handle, so it never
// deletes a qdisc someone else put there.

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
  try {
    await run('tc', ['qdisc', 'del', 'dev', dev, 'root', 'handle', handle], { netnsPath });
  } catch (err) {
    if (err instanceof ToolError && /Cannot find device|No such file|Invalid handle|handle of zero|No such device/i.test(err.stderr)) return;
    throw err;
  }
}

/** A tc major handle ("1a2b:") derived from a fault id: stable across restarts, never 0 or ffff. */
export function handleFor(id: string): string {
  let h = 2166136261;
  for (const ch of id) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  const major = (h % 0xfffd) + 1;
  return `${major.toString(16)}:`;
}
