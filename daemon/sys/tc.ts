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
