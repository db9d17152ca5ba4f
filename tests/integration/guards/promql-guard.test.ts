import Database from 'better-sqlite3';
import { Safety, type SafetyEngine, type SafetyExperiment } from '../../../exporter/safety';
import { describeWithTools } from '../../helpers/require-tool';
import { MetricSource, pollUntil, PromStack } from '../../helpers/prom-stack';

// PromQL guards against a real Prometheus (1 s scrape) and a metric this test flips: the guard
// aborts only after its `for`, pre-flight refuses a start while the expression is true, and a
// Prometheus that goes away aborts after N failed evaluations with the reason in the event.

describeWithTools(['prometheus'], 'PromQL guards (real Prometheus)', () => {
  jest.setTimeout(120_000);
  const stack = new PromStack();
  const metrics = new MetricSource();
  const exps = new Map<string, SafetyExperiment & { abortedAt?: number; reason?: string; actor?: string }>();
  let safety: Safety;
  let db: Database.Database;

  const engine: SafetyEngine = {
    activeExperiments: () => [...exps.values()].filter((e) => e.phase !== 'Aborted'),
    abort: async (ref, reason, actor) => {
      const e = exps.get(`${ref.namespace}/${ref.name}`)!;
      Object.assign(e, { phase: 'Aborted', abortedAt: Date.now(), reason, actor });
    },
    stopAll: async () => undefined,
    emit: () => undefined,
  };

  beforeAll(async () => {
    await metrics.start();
    metrics.set('demo_latency_seconds', 0.1);
    await stack.start({ targets: [metrics.port] });
    await stack.waitForQuery('demo_latency_seconds', (v) => v === 0.1);
    db = new Database(':memory:');
    safety = new Safety({ db, engine, prometheusUrl: stack.prometheusUrl, promqlMaxFailures: 3 });
  });

  afterAll(async () => {
    safety?.close();
    await stack.stop();
    await metrics.stop();
    db?.close();
  });

  it('aborts only once the expression has held for `for`, quoting the series', async () => {
    const guards = { promql: [{ expr: 'demo_latency_seconds > 0.5', for: '3s', interval: '250ms' }] };
    const e = { namespace: 'shop', name: `latency-${process.pid}`, phase: 'Running', spec: { duration: '10m', guards } };
    await expect(safety.beforeStart(e)).resolves.toBeUndefined(); // pre-flight: false now
    exps.set(`shop/${e.name}`, e);
    safety.syncPromql(await engine.activeExperiments());
    expect(safety.promql.watching).toBe(1);

    const flippedAt = Date.now();
    metrics.set('demo_latency_seconds', 2);
    await pollUntil('aborted', () => exps.get(`shop/${e.name}`)!.phase === 'Aborted', 60_000);
    const x = exps.get(`shop/${e.name}`)!;
    // Not before the breach has held for `for` (an ordering fact, not a speed assertion).
    expect(x.abortedAt! - flippedAt).toBeGreaterThanOrEqual(3000);
    expect(x.reason).toContain('PromQL guard "demo_latency_seconds > 0.5": true for 3s');
    expect(x.reason).toContain('demo_latency_seconds');
    expect(x.actor).toBe('promql-guard');
    expect(safety.promql.watching).toBe(0);
  });

  it('pre-flight refuses a start while the expression is already true', async () => {
    const e = { namespace: 'shop', name: 'blocked', spec: { duration: '1m', guards: { promql: [{ expr: 'demo_latency_seconds > 0.5', for: '0s', interval: '1s' }] } } };
    await expect(safety.beforeStart(e)).rejects.toMatchObject({ status: 409, message: expect.stringContaining('is already true') });
    metrics.set('demo_latency_seconds', 0.1);
    await stack.waitForQuery('demo_latency_seconds', (v) => v === 0.1);
    await expect(safety.beforeStart(e)).resolves.toBeUndefined();
  });

  it('keeps running while Prometheus answers, and aborts after N failed evaluations once it is gone', async () => {
    const e = { namespace: 'shop', name: `blind-${process.pid}`, phase: 'Running', spec: { duration: '10m', guards: { promql: [{ expr: 'demo_latency_seconds > 0.5', for: '0s', interval: '200ms' }] } } };
    exps.set(`shop/${e.name}`, e);
    safety.syncPromql(await engine.activeExperiments());
    await new Promise((r) => setTimeout(r, 1000));
    expect(exps.get(`shop/${e.name}`)!.phase).toBe('Running');
    await stack.stopPrometheus();
    await pollUntil('aborted after failures', () => exps.get(`shop/${e.name}`)!.phase === 'Aborted', 60_000);
    expect(exps.get(`shop/${e.name}`)!.reason).toMatch(/could not be evaluated 3 times in a row \(Prometheus at .* unreachable/);
  });
});
