import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Journal, type JournalEntry } from '../../daemon/journal';

// The journal on a real file system: durable replace, remove, reload after a "crash" (leftover temp
// files, a corrupt entry).

const entry = (id: string, state: Record<string, unknown> = {}): JournalEntry => ({
  id,
  kind: 'process-pause',
  params: {},
  resolved: { processes: [{ pid: 42, startTime: 7, comm: 'sleep' }] },
  phase: 'active',
  createdAt: new Date().toISOString(),
  leaseSeconds: 60,
  leaseExpiresAt: new Date(Date.now() + 60_000).toISOString(),
  state,
});

describe('journal', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), `fl-journal-${process.pid}-`));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes, replaces and removes one file per fault', async () => {
    const j = new Journal(dir);
    await j.init();
    await j.write(entry('a', { step: 1 }));
    await j.write(entry('a', { step: 2 }));
    await j.write(entry('b'));
    expect(readdirSync(j.dir).sort()).toEqual(['a.json', 'b.json']);
    const { entries } = await j.loadAll();
    expect(entries.find((e) => e.id === 'a')?.state).toEqual({ step: 2 });
    await j.remove('a');
    await j.remove('a'); // idempotent
    expect(readdirSync(j.dir)).toEqual(['b.json']);
  });

  it('many concurrent writes and removes all land (directory syncs are shared, none is skipped)', async () => {
    const j = new Journal(dir);
    await j.init();
    const ids = Array.from({ length: 100 }, (_, i) => `f${i}`);
    await Promise.all(ids.map((id) => j.write(entry(id))));
    expect(readdirSync(j.dir).length).toBe(100);
    // removes of the first half race writes of the second half's new versions
    await Promise.all([...ids.slice(0, 50).map((id) => j.remove(id)), ...ids.slice(50).map((id) => j.write(entry(id, { v: 2 })))]);
    const { entries } = await j.loadAll();
    expect(entries.map((e) => e.id).sort()).toEqual(ids.slice(50).sort());
    expect(entries.every((e) => e.state.v === 2)).toBe(true);
  });

  it('after a crash: drops leftover temp files and reports a corrupt entry without failing', async () => {
    const j = new Journal(dir);
    await j.init();
    await j.write(entry('ok'));
    writeFileSync(path.join(j.dir, 'ok.json.123.1.tmp'), '{"half');
    writeFileSync(path.join(j.dir, 'bad.json'), '{not json');
    const { entries, broken } = await j.loadAll();
    expect(entries.map((e) => e.id)).toEqual(['ok']);
    expect(broken).toEqual([path.join(j.dir, 'bad.json')]);
    expect(readdirSync(j.dir).sort()).toEqual(['bad.json', 'ok.json']);
  });
});
