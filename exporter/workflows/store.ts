import type { Workflow } from '../../api/workflow';
import type { DB } from '../store/db';
import { groupCommit } from '../store/group-commit';
import { storeHealth, type StoreHealth } from '../store/health';

// Workflows live in their own table of the exporter's database (one JSON document per row), so
// they add nothing to the experiments' hot paths. save() never throws: a document the file does not
// take waits in memory, reads see it, and the store's retry writes it (exporter/store/health.ts).

export class WorkflowStore {
  private readonly pending = new Map<string, Workflow>();
  private readonly health: StoreHealth;

  constructor(private readonly db: DB) {
    this.health = storeHealth(db);
    this.health.register(() => this.flush(), () => this.pending.size);
    db.exec(`CREATE TABLE IF NOT EXISTS workflows (
      uid TEXT PRIMARY KEY,
      namespace TEXT NOT NULL,
      name TEXT NOT NULL,
      phase TEXT NOT NULL,
      doc TEXT NOT NULL,
      UNIQUE (namespace, name)
    )`);
  }

  insert(w: Workflow): boolean {
    groupCommit(this.db).commit(); // workflow writes stand alone (store/group-commit.ts)
    const r = this.db
      .prepare('INSERT OR IGNORE INTO workflows (uid, namespace, name, phase, doc) VALUES (?, ?, ?, ?, ?)')
      .run(w.metadata.uid, w.metadata.namespace, w.metadata.name, w.status.phase, JSON.stringify(w));
    return r.changes === 1;
  }

  save(w: Workflow): void {
    try {
      this.write(w);
      this.pending.delete(w.metadata.uid);
    } catch (err) {
      this.pending.set(w.metadata.uid, structuredClone(w));
      this.health.failed(err, `recording workflow ${w.metadata.namespace}/${w.metadata.name}`);
    }
  }

  private write(w: Workflow): void {
    groupCommit(this.db).commit();
    this.db.prepare('UPDATE workflows SET phase = ?, doc = ? WHERE uid = ?').run(w.status.phase, JSON.stringify(w), w.metadata.uid);
  }

  private flush(): boolean {
    for (const [uid, w] of this.pending) {
      try {
        this.write(w);
      } catch (err) {
        this.health.failed(err, 'writing workflows kept in memory');
        return false;
      }
      this.pending.delete(uid);
    }
    return true;
  }

  get(namespace: string, name: string): Workflow | undefined {
    for (const w of this.pending.values()) if (w.metadata.namespace === namespace && w.metadata.name === name) return structuredClone(w);
    const row = this.db.prepare('SELECT doc FROM workflows WHERE namespace = ? AND name = ?').get(namespace, name) as { doc: string } | undefined;
    return row ? (JSON.parse(row.doc) as Workflow) : undefined;
  }

  list(f: { namespace?: string; phase?: string } = {}): Workflow[] {
    const rows = this.db
      .prepare('SELECT doc FROM workflows WHERE (? IS NULL OR namespace = ?) AND (? IS NULL OR phase = ?) ORDER BY namespace, name')
      .all(f.namespace ?? null, f.namespace ?? null, f.phase ?? null, f.phase ?? null) as { doc: string }[];
    if (this.pending.size === 0) return rows.map((r) => JSON.parse(r.doc) as Workflow);
    // while degraded: every row of the namespace with newer documents from memory over it, then the phase filter
    const all = this.db.prepare('SELECT doc FROM workflows WHERE (? IS NULL OR namespace = ?) ORDER BY namespace, name').all(f.namespace ?? null, f.namespace ?? null) as { doc: string }[];
    return all
      .map((r) => JSON.parse(r.doc) as Workflow)
      .map((w) => structuredClone(this.pending.get(w.metadata.uid) ?? w))
      .filter((w) => !f.phase || w.status.phase === f.phase);
  }

  remove(uid: string): void {
    this.pending.delete(uid);
    groupCommit(this.db).commit();
    try {
      this.db.prepare('DELETE FROM workflows WHERE uid = ?').run(uid);
    } catch (err) {
      this.health.failed(err, 'deleting a workflow');
    }
  }
}
