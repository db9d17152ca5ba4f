import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { DaemonFault, DaemonTarget } from '../api/daemon';
import type { ResolvedTarget } from './faults/types';

// Journal first: every fault is one JSON file in <state-dir>/faults/, written to a temp file, fsynced,
// renamed over the old one and the directory fsynced, so after a crash (kill -9, power loss) each file
// is either the old or the new version, never half of one. The daemon writes a fault here before it
// touches the system and reverts whatever it finds here when it starts.

export interface JournalEntry {
  id: string;
  kind: string;
  params: Record<string, unknown>;
  target?: DaemonTarget;
  /** The target as resolved when the fault was created: what recover acts on, even after a restart. */
  resolved: ResolvedTarget;
  phase: DaemonFault['phase'];
  createdAt: string;
  injectedAt?: string;
  leaseSeconds: number;
  leaseExpiresAt: string;
  /** Whatever the kind saved to undo itself (table name, child pids, files). */
  state: Record<string, unknown>;
  error?: string;
}

async function fsyncPath(p: string, flags = 'r'): Promise<void> {
  const fh = await open(p, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class Journal {
  readonly dir: string;
  private seq = 0;
  /** Writes and removes of one id run in order, so a late write can never resurrect a removed entry. */
  private readonly chains = new Map<string, Promise<void>>();
  /** The directory fsync in flight, and the one queued behind it (group commit, see syncDir). */
  private dirSync?: Promise<void>;
  private nextDirSync?: Promise<void>;

  constructor(stateDir: string) {
    this.dir = path.join(stateDir, 'faults');
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  fileOf(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }

  private enqueue(id: string, op: () => Promise<void>): Promise<void> {
    const prev = this.chains.get(id) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(op);
    this.chains.set(id, next);
    const clear = () => {
      if (this.chains.get(id) === next) this.chains.delete(id);
    };
    next.then(clear, clear);
    return next;
  }

  /** Durably replaces the entry for `entry.id` (a snapshot of it as it is now). */
  write(entry: JournalEntry): Promise<void> {
    const text = JSON.stringify(entry, null, 2);
    return this.enqueue(entry.id, () => this.writeNow(entry.id, text));
  }

  private async writeNow(id: string, text: string): Promise<void> {
    const file = this.fileOf(id);
    const tmp = `${file}.${process.pid}.${++this.seq}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    await this.syncDir();
  }

  /**
   * Makes every rename/unlink done before the call durable. Concurrent callers share syncs (group
   * commit): one that arrives while a sync runs may not be covered by it, so it waits for the next one,
   * which every such caller shares. Reverting a hundred faults costs two directory fsyncs, not a hundred.
   */
  private syncDir(): Promise<void> {
    if (!this.dirSync) {
      const run = fsyncPath(this.dir).finally(() => {
        if (this.dirSync === run) this.dirSync = undefined;
      });
      this.dirSync = run;
      return run;
    }
    this.nextDirSync ??= this.dirSync
      .catch(() => undefined)
      .then(() => {
        this.nextDirSync = undefined;
        return this.syncDir();
      });
    return this.nextDirSync;
  }

  /** Durably removes the entry (absent = done), after any write of it still in flight. */
  remove(id: string): Promise<void> {
    return this.enqueue(id, async () => {
      try {
        await unlink(this.fileOf(id));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      await this.syncDir();
    });
  }

  /** Every entry on disk; unreadable files are reported, leftover temp files removed. */
  async loadAll(): Promise<{ entries: JournalEntry[]; broken: string[] }> {
    const entries: JournalEntry[] = [];
    const broken: string[] = [];
    for (const name of await readdir(this.dir)) {
      const file = path.join(this.dir, name);
      if (name.endsWith('.tmp')) {
        await unlink(file).catch(() => undefined);
        continue;
      }
      if (!name.endsWith('.json')) continue;
      try {
        entries.push(JSON.parse(await readFile(file, 'utf8')) as JournalEntry);
      } catch {
        broken.push(file);
      }
    }
    return { entries, broken };
  }
}
