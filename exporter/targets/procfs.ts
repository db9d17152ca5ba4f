import { readFile, readdir, readlink, stat } from 'node:fs/promises';

// Process discovery on this host, for daemons that run here (the embedded one of `faultline
// start`, or a daemon on loopback) and do not list targets themselves. Read-only: the daemon
// still resolves and checks every target again before it acts.

export interface LocalProcess {
  pid: number;
  startTime: number;
  comm: string;
  ppid: number;
  cmdline: string;
  cgroup?: string;
  netns?: string;
}

function parseStat(text: string): { comm: string; state: string; ppid: number; startTime: number } | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < 0) return undefined;
  const rest = text.slice(close + 2).split(' ');
  return { comm: text.slice(open + 1, close), state: rest[0], ppid: Number(rest[1]), startTime: Number(rest[19]) };
}

export async function readProcess(pid: number, details = false): Promise<LocalProcess | undefined> {
  let st;
  try {
    st = parseStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
  // gone, zombie, or a kernel thread (child of kthreadd)
  if (!st || st.state === 'Z' || pid === 2 || st.ppid === 2) return undefined;
  let cmdline = '';
  try {
    cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean).join(' ');
  } catch {
    /* exited meanwhile */
  }
  const p: LocalProcess = { pid, startTime: st.startTime, comm: st.comm, ppid: st.ppid, cmdline };
  if (details) {
    try {
      const cg = await readFile(`/proc/${pid}/cgroup`, 'utf8');
      const line = cg.split('\n').find((l) => l.startsWith('0::')) ?? cg.split('\n')[0];
      if (line) p.cgroup = line.split(':').slice(2).join(':');
    } catch {
      /* exited */
    }
    try {
      p.netns = await readlink(`/proc/${pid}/ns/net`);
    } catch {
      /* no permission or exited */
    }
  }
  return p;
}

export async function listProcesses(details = false): Promise<LocalProcess[]> {
  const pids = (await readdir('/proc')).filter((n) => /^[0-9]+$/.test(n)).map(Number);
  const out = await Promise.all(pids.map((pid) => readProcess(pid, details)));
  return out.filter((p): p is LocalProcess => !!p);
}

export async function pathExists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
