import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Experiment, Phase } from '../../api/experiment';
import { ExporterMetrics } from '../../exporter/exporter-metrics';
import { openDatabase } from '../../exporter/store/db';
import { ExperimentStore } from '../../exporter/store/experiments';
import { MIGRATIONS } from '../../exporter/store/migrations';

// The store-backed gauges: a database written by an older exporter (before the covering index for
// faultline_experiment_running) migrates with every count intact, and /metrics reports the same
// series from the index alone.

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), `fl-store-metrics-${process.pid}-`));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function exp(i: number, phase: Phase): Experiment {
  return {
    apiVersion: 'faultline.dev/v1alpha1',
    kind: 'Experiment',
    metadata: { name: `e-${i}`, namespace: `ns-${i % 3}`, uid: `uid-${i}`, creationTimestamp: new Date(1_900_000_000_000 + i).toISOString() },
    spec: { fault: { kind: ['process-pause', 'network-delay'][i % 2], params: {} }, duration: '1m' },
    status: { phase, targets: [], conditions: [] },
  };
}

const PHASES: Phase[] = ['Running', 'Finished', 'Paused', 'Running', 'Aborted', 'Pending'];

/** The gauges' lines of a scrape, without the process/nodejs defaults (they vary between scrapes);
 * series order in the exposition format carries no meaning. */
async function storeSeries(m: ExporterMetrics): Promise<string[]> {
  return (await m.metrics()).split('\n').filter((l) => /^faultline_(experiments|experiment_running)\{/.test(l));
}

describe('store-backed metrics', () => {
  it('an old database migrates with its counts intact, and the running gauge reads the index alone', async () => {
    // the schema as the previous version left it, filled by that version's store
    const old = new Database(path.join(dir, 'faultline.db'));
    old.pragma('journal_mode = WAL');
    for (let v = 0; v < 2; v++) old.exec(MIGRATIONS[v]);
    old.pragma('user_version = 2');
    const before = new ExperimentStore(old);
    for (let i = 0; i < 60; i++) expect(before.insert(exp(i, PHASES[i % PHASES.length]))).toBe(true);
    const counts = before.countByPhase();
    const running = before.running();
    const active = before.listActive().map((e) => e.metadata.name);
    const series = await storeSeries(new ExporterMetrics(before, { upStates: () => [] }));
    old.close();

    const db = openDatabase(dir);
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      const s = new ExperimentStore(db);
      expect(s.countByPhase()).toEqual(counts);
      // the covering index returns them by namespace and name, no longer by insertion: same set
      const byName = (a: { namespace: string; name: string }, b: { namespace: string; name: string }) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name);
      expect([...s.running()].sort(byName)).toEqual([...running].sort(byName));
      expect(running).toHaveLength(20);
      expect(s.listActive().map((e) => e.metadata.name)).toEqual(active);
      const plan = db.prepare("EXPLAIN QUERY PLAN SELECT namespace, name, kind FROM experiments WHERE phase = 'Running'").all() as { detail: string }[];
      expect(plan.map((p) => p.detail).join('; ')).toMatch(/COVERING INDEX/);

      const m = new ExporterMetrics(s, { upStates: () => [] });
      expect((await storeSeries(m)).sort()).toEqual([...series].sort());
      expect(series).toContain('faultline_experiment_running{namespace="ns-0",name="e-0",kind="process-pause"} 1');
      expect(series).toContain(`faultline_experiments{namespace="ns-0",kind="process-pause",phase="Running"} ${counts.find((c) => c.namespace === 'ns-0' && c.kind === 'process-pause' && c.phase === 'Running')!.n}`);

      // an experiment that leaves Running leaves the gauge at the next scrape; counts follow
      const e0 = s.get('ns-0', 'e-0')!;
      e0.status.phase = 'Finished';
      s.update(e0);
      const after = await storeSeries(m);
      expect(after.filter((l) => l.startsWith('faultline_experiment_running{'))).toHaveLength(19);
      expect(after.some((l) => l.includes('name="e-0"'))).toBe(false);
    } finally {
      db.close();
    }
  });

  it('writes the store gauges exactly as the registry would, in the registry\'s order', async () => {
    const db = openDatabase(dir);
    try {
      const s = new ExperimentStore(db);
      for (let i = 0; i < 40; i++) expect(s.insert(exp(i, PHASES[i % PHASES.length]))).toBe(true);
      // label values the text format must escape (the store holds whatever it was given)
      const odd = exp(100, 'Running');
      odd.metadata = { ...odd.metadata, name: 'quote"back\\slash\nnewline', namespace: 'ns "x"', uid: 'uid-odd' };
      expect(s.insert(odd)).toBe(true);
      const m = new ExporterMetrics(s, { upStates: () => [{ name: 'd1', up: true }] });
      m.events.inc({ type: 'created' });
      const blocks = (text: string) => text.split('\n\n');
      const ours = blocks(await m.metrics());
      const registry = blocks(await m.registry.metrics());
      // same metrics in the same order (values of process/nodejs ones move between two scrapes)
      expect(ours.map((b) => b.split('\n', 1)[0])).toEqual(registry.map((b) => b.split('\n', 1)[0]));
      const faultline = (bs: string[]) => bs.filter((b) => b.startsWith('# HELP faultline_'));
      expect(faultline(ours)).toEqual(faultline(registry));
      expect(faultline(ours).join('\n')).toContain('faultline_experiment_running{namespace="ns \\"x\\"",name="quote\\"back\\\\slash\\nnewline",kind="process-pause"} 1');
      expect((await m.metrics()).endsWith('\n')).toBe(true);
    } finally {
      db.close();
    }
  });
});
