import type { Workflow } from '../../api/workflow';
import type { DB } from '../store/db';

// Workflows live in their own table of the exporter's database (one JSON document per row), so
// they add nothing to the experiments' hot paths.

export class WorkflowStore {
  constructor(private readonly db: DB) {
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
    const r = this.db
      .prepare('INSERT OR IGNORE INTO workflows (uid, namespace, name, phase, doc) VALUES (?, ?, ?, ?, ?)')
      .run(w.metadata.uid, w.metadata.namespace, w.metadata.name, w.status.phase, JSON.stringify(w));
    return r.changes === 1;
  }

  save(w: Workflow): void {
    this.db.prepare('UPDATE workflows SET phase = ?, doc = ? WHERE uid = ?').run(w.status.phase, JSON.stringify(w), w.metadata.uid);
  }

  get(namespace: string, name: string): Workflow | undefined {
    const row = this.db.prepare('SELECT doc FROM workflows WHERE namespace = ? AND name = ?').get(namespace, name) as { doc: string } | undefined;
    return row ? (JSON.parse(row.doc) as Workflow) : undefined;
  }

  list(f: { namespace?: string; phase?: string } = {}): Workflow[] {
    const rows = this.db
      .prepare('SELECT doc FROM workflows WHERE (? IS NULL OR namespace = ?) AND (? IS NULL OR phase = ?) ORDER BY namespace, name')
      .all(f.namespace ?? null, f.namespace ?? null, f.phase ?? null, f.phase ?? null) as { doc: string }[];
    return rows.map((r) => JSON.parse(r.doc) as Workflow);
  }

  remove(uid: string): void {
    this.db.prepare('DELETE FROM workflows WHERE uid = ?').run(uid);
  }
}
