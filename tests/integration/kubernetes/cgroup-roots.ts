import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import path from 'node:path';

// Where the Kubernetes tests make kubelet-style cgroups, and whether they may: a container's process is
// put in a cgroup named as the kubelet names it, which needs a writable hierarchy.

export const V1_ROOT = '/sys/fs/cgroup/pids';
export const V2_ROOT = existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';

/** Whether a directory can be made (and removed) under `root`. */
export function canWrite(root: string): boolean {
  const probe = path.join(root, `faultline-probe-${process.pid}`);
  try {
    mkdirSync(probe);
    rmdirSync(probe);
    return true;
  } catch {
    return false;
  }
}

/** A hierarchy this test process can make cgroups in. */
export const writable = (root: string) => existsSync(path.join(root, 'cgroup.procs')) && canWrite(root);
