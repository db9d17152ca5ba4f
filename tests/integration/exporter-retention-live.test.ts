import { RETENTION_DEFAULTS } from '../../exporter/store/retention';
import { killAll, pauseExperiment, phaseOf, sleepers, startStack, waitFor, type Stack } from './exporter-helpers';

// Retention in a running exporter (the store-level rules are tests/unit/exporter-retention.test.ts):
// applied on its own, continuously, while experiments churn — ended runs and events stay within their
// limits, the metrics say what it deleted and how big the file is — and a pass over a large backlog
// yields to requests: the API answers while the pass is still deleting.

jest.setTimeout(120_000);

const { procs, spawn: sleeper } = sleepers();
let s: Stack;

const metric = async (name: string) => {
  const text = (await s.api('GET', '/metrics')).body as string;
  const m = new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

beforeAll(async () => {
  s = await startStack({ maxEvents: 20, maxEndedRuns: 3, everyMs: 300 });
});
afterAll(async () => {
  await s?.close();
  killAll(procs);
});

it('is on by default, with the documented limits', () => {
  expect(RETENTION_DEFAULTS).toEqual({ retention: '336h', maxEvents: 500_000, maxEndedRuns: 10_000 });
});

it('keeps ended runs and events within their limits while runs are created and stopped, on its own', async () => {
  const pid = sleeper();
  for (let i = 0; i < 8; i++) {
    const name = `ret-${i}`;
    const r = await s.api('POST', '/api/v1/experiments', pauseExperiment(name, [pid], '5m'));
    expect([r.status, r.body?.error]).toEqual([201, undefined]);
    await waitFor(`${name} Running`, async () => (await phaseOf(s.api, name)) === 'Running');
    expect((await s.api('POST', `/api/v1/experiments/default/${name}/stop`)).status).toBe(200);
  }
  // nobody calls run(): the exporter's own loop deletes the surplus
  await waitFor('at most 3 ended runs left', async () => (await s.api('GET', '/api/v1/experiments')).body.items.length <= 3, 30_000, 200);
  await waitFor('at most 20 events left', () => (s.ex.db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n <= 20, 30_000, 200);
  const names = (await s.api('GET', '/api/v1/experiments')).body.items.map((e: any) => e.metadata.name);
  expect(names.every((n: string) => ['ret-5', 'ret-6', 'ret-7'].includes(n))).toBe(true); // the newest stay
  expect(await metric('faultline_retention_deleted\\{table="experiments"\\}')).toBeGreaterThanOrEqual(5);
  expect(await metric('faultline_retention_deleted\\{table="events"\\}')).toBeGreaterThan(0);
  expect(await metric('faultline_store_bytes')).toBeGreaterThan(0);
});

it('a pass over a large backlog yields: the API answers while it is still deleting', async () => {
  // let a pass the loop started finish; from its end to the run() below nothing else runs (no await between)
  await s.ex.retention.run();
  const now = Date.now();
  s.ex.db
    .prepare(
      `INSERT INTO events (time_ms, type, message, time_hw, late)
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000)
       SELECT ?, 'created', 'backlog ' || i, ?, 0 FROM n`,
    )
    .run(now, now);
  let passDone = false;
  const pass = s.ex.retention.run().then((p) => {
    passDone = true;
    return p;
  });
  const health = await s.api('GET', '/api/v1/health');
  const answeredDuringPass = !passDone;
  expect(health.status).toBe(200);
  const done = await pass;
  expect(done.events).toBeGreaterThanOrEqual(60_000 - 20);
  expect(answeredDuringPass).toBe(true);
});
