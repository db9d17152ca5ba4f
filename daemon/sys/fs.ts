import { access } from 'node:fs/promises';

/** Whether `path` exists (for probes that only ask that: cgroup roots, named network namespaces). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
