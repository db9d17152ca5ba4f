import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { ApiError } from '../../api/errors';
import { parseStat, type ProcStat } from './proc';

// A Kubernetes pod's status names each container by id (`containerd://<64 hex>`). The daemon turns that
// id into the container's processes by reading /proc/<pid>/cgroup — every runtime puts the id into the
// container's cgroup path — so no CRI socket, runtime client or extra privilege is needed. Path styles:
//   cgroup v1, cgroupfs driver:   /kubepods/besteffort/pod<uid>/<id>
//   cgroup v1/v2, systemd driver: /kubepods.slice/kubepods-besteffort.slice/…/cri-containerd-<id>.scope
//                                 …/docker-<id>.scope, …/crio-<id>.scope, …/libpod-<id>.scope
//   plain docker:                 /docker/<id>
// crio-conmon-<id>.scope holds CRI-O's monitor process, not the container: it is never a match.

/** Strips the runtime prefix (`containerd://`) and checks the id is 12–64 lowercase hex digits. */
export function normalizeContainerId(ref: string): string {
  const id = ref.replace(/^[a-z0-9-]{1,32}:\/\//, '');
  if (!/^[0-9a-f]{12,64}$/.test(id)) throw new Error(`"${ref}" is not a container id (12–64 hex digits, optionally runtime://)`);
  return id;
}

const SCOPE = /^(?:docker|cri-containerd|crio|libpod|containerd)-([0-9a-f]{64})\.scope$/;
const BARE = /^[0-9a-f]{64}$/;

/** The container id a cgroup path belongs to (the innermost segment that names one), or undefined. */
export function containerIdOfCgroupPath(path: string): string | undefined {
  const parts = path.split('/');
  for (let i = parts.length - 1; i >= 0; i--) {
    const seg = parts[i];
    const m = SCOPE.exec(seg);
    if (m) return m[1];
    if (BARE.test(seg)) return seg;
  }
  return undefined;
}

/** Whether the id (full, or a prefix of at least 12 digits) names the container of this cgroup path. */
function pathMatches(path: string, id: string): boolean {
  const found = containerIdOfCgroupPath(path);
  return found !== undefined && found.startsWith(id);
}

/** Parses /proc/<pid>/cgroup text: controller → path ('' = unified v2; named hierarchies as "name=systemd"). */
export function parseCgroupFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^[0-9]+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    for (const ctrl of m[1].split(',')) out.set(ctrl, m[2]);
  }
  return out;
}

export interface ContainerProcess extends ProcStat {
  /** controller → cgroup path of the process. */
  cgroups: Map<string, string>;
}

export interface ResolvedContainer {
  /** The full 64-digit id found in the cgroup paths. */
  id: string;
  /** The container's main process: the one whose parent is outside the container (the runtime shim's child). */
  main: ContainerProcess;
  /** Every process in the container, the main one first. */
  processes: ContainerProcess[];
  /** The container's cgroup path (relative to the hierarchy root) in the hierarchy the daemon should use. */
  cgroup: string;
  /** The main process's network namespace (the pod's, shared by its containers). */
  netnsPath: string;
}

const SCAN_BATCH = 64;

// Which controller's path to report: the v1 controllers the daemon's kinds use, then the unified tree.
const CGROUP_PREFERENCE = ['cpu', 'memory', 'pids', ''];

/**
 * Finds a container's processes by scanning `<procRoot>/*\/cgroup`. Throws ApiError 422 naming
 * `/target/containerId` when no process has the id (container gone, or another node's), or when a
 * short id matches two containers.
 */
export async function resolveContainer(ref: string, procRoot = '/proc'): Promise<ResolvedContainer> {
  const field = '/target/containerId';
  let id: string;
  try {
    id = normalizeContainerId(ref);
  } catch (err) {
    throw ApiError.invalid(`invalid request: ${field} ${(err as Error).message}`, [{ field, reason: (err as Error).message }]);
  }
  const procs: ContainerProcess[] = [];
  const fullIds = new Set<string>();
  const names = (await readdir(procRoot)).filter((n) => /^[0-9]+$/.test(n));
  // procfs reads are small and never block on disk: read in synchronous batches (several times faster
  // than one awaited read per process on a busy host) and yield to the event loop between batches.
  for (let i = 0; i < names.length; i++) {
    if (i > 0 && i % SCAN_BATCH === 0) await new Promise((r) => setImmediate(r));
    const name = names[i];
    let cgText: string;
    let statText: string;
    try {
      cgText = readFileSync(`${procRoot}/${name}/cgroup`, 'utf8');
      if (!cgText.includes(id)) continue; // cheap test first: most processes are not in the container
      statText = readFileSync(`${procRoot}/${name}/stat`, 'utf8');
    } catch {
      continue; // the process ended while we looked
    }
    const cgroups = parseCgroupFile(cgText);
    const hit = [...cgroups.values()].find((p) => pathMatches(p, id));
    const st = parseStat(statText);
    if (!hit || !st || st.state === 'Z') continue;
    fullIds.add(containerIdOfCgroupPath(hit) as string);
    procs.push({ ...st, cgroups });
  }
  if (fullIds.size > 1) {
    const reason = `the short id ${id} matches ${fullIds.size} containers; give more digits`;
    throw new ApiError(422, 'unprocessable', `${field} ${reason}`, [{ field, reason }]);
  }
  if (procs.length === 0) {
    const reason = `no process on this node is in container ${id}`;
    throw new ApiError(422, 'unprocessable', `${field} ${reason}`, [{ field, reason }]);
  }
  const pids = new Set(procs.map((p) => p.pid));
  const roots = procs.filter((p) => !pids.has(p.ppid)).sort((a, b) => a.startTime - b.startTime || a.pid - b.pid);
  const main = roots[0] ?? procs[0];
  const fullId = [...fullIds][0];
  const controller = CGROUP_PREFERENCE.find((c) => pathMatches(main.cgroups.get(c) ?? '', fullId));
  const cgroup = controller !== undefined ? (main.cgroups.get(controller) as string) : ([...main.cgroups.values()].find((p) => pathMatches(p, fullId)) as string);
  return {
    id: fullId,
    main,
    processes: [main, ...procs.filter((p) => p !== main)],
    cgroup,
    netnsPath: `${procRoot}/${main.pid}/ns/net`,
  };
}
