import type { ProcStat } from '../sys/proc';

// Processes the daemon never acts on: pid 1, itself, its parent, its watchdog, and whatever --protect names
// (a number is a pid, anything else a process name compared with comm exactly).

export class Protection {
  readonly pids: Set<number>;
  readonly names: Set<string>;

  constructor(protect: readonly string[] = []) {
    this.pids = new Set([1, process.pid, process.ppid]);
    this.names = new Set();
    for (const p of protect) {
      const t = p.trim();
      if (!t) continue;
      if (/^[0-9]+$/.test(t)) this.pids.add(Number(t));
      else this.names.add(t);
    }
  }

  private watchdog?: number;

  /** The daemon's watchdog (daemon/watchdog/) must outlive it: never a target either. */
  protectWatchdog(pid: number): void {
    this.watchdog = pid;
  }

  /** The daemon's own processes: itself, its parent (the embedding exporter, a service manager) and its watchdog. */
  selfPids(): { pid: number; what: string }[] {
    const out = [
      { pid: process.pid, what: 'the daemon' },
      { pid: process.ppid, what: "the daemon's parent" },
    ];
    if (this.watchdog !== undefined) out.push({ pid: this.watchdog, what: "the daemon's watchdog" });
    return out.filter((p) => p.pid > 1);
  }

  /** Why `st` must not be touched, or undefined when it may be. */
  reasonFor(st: Pick<ProcStat, 'pid' | 'comm'>): string | undefined {
    if (st.pid === 1) return 'pid 1 (init) is never a target';
    if (st.pid === process.pid) return 'the daemon itself is never a target';
    if (st.pid === process.ppid) return "the daemon's parent is never a target";
    if (st.pid === this.watchdog) return "the daemon's watchdog is never a target";
    if (this.pids.has(st.pid)) return `pid ${st.pid} is protected (--protect)`;
    if (this.names.has(st.comm)) return `process name ${st.comm} is protected (--protect)`;
    return undefined;
  }
}
