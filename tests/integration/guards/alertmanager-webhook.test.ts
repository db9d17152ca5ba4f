import Database from 'better-sqlite3';
import pino from 'pino';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { authenticate } from '../../../exporter/auth/middleware';
import { parseTokens } from '../../../exporter/auth/tokens';
import { safetyRoutes } from '../../../exporter/routes/safety';
import { appOf } from '../../../exporter/routes/router';
import type { AbortedBy } from '../../../api/experiment';
import { Safety, type SafetyEngine, type SafetyExperiment } from '../../../exporter/safety';
import { describeWithTools } from '../../helpers/require-tool';
import { MetricSource, pollUntil, PromStack } from '../../helpers/prom-stack';

// The webhook contract with the real thing: Prometheus evaluates a rule on a metric this test
// flips, Alertmanager (group_wait 0s) posts its real v4 payload with basic auth, and the safety
// routes abort the guarded experiment. The "engine" here is the smallest one that acts on real
// processes: SIGSTOPped `sleep`s, resumed on abort (the exporter's own engine is covered by
// exporter-guards.test.ts).

function procState(pid: number): string {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0];
}

describeWithTools(['prometheus', 'prometheus-alertmanager'], 'Alertmanager webhook → abort (real Prometheus + Alertmanager)', () => {
  jest.setTimeout(120_000);
  const AM_SECRET = `am-secret-${process.pid}-abcdefgh`;
  const stack = new PromStack();
  const metrics = new MetricSource();
  const sleeps: ChildProcess[] = [];
  type TestExperiment = SafetyExperiment & { pid: number; abortedBy?: string; detail?: AbortedBy };
  const exps = new Map<string, TestExperiment>();
  const events: { type: string; message: string; actor?: string }[] = [];
  let server: Server;
  let safety: Safety;
  let db: Database.Database;

  const engine: SafetyEngine = {
    activeExperiments: () => [...exps.values()].filter((e) => !['Finished', 'Aborted', 'Failed'].includes(e.phase)),
    abort: async (ref, reason, actor, _code, detail) => {
      const e = exps.get(`${ref.namespace}/${ref.name}`)!;
      process.kill(e.pid, 'SIGCONT');
      e.phase = 'Aborted';
      e.abortedBy = reason;
      e.detail = detail;
      events.push({ type: 'aborted', message: reason, actor });
    },
    stopAll: async () => undefined,
    emit: (e) => events.push(e),
  };

  function pausedSleep(): number {
    const c = spawn('sleep', ['600'], { stdio: 'ignore' });
    sleeps.push(c);
    process.kill(c.pid!, 'SIGSTOP');
    return c.pid!;
  }

  beforeAll(async () => {
    await metrics.start();
    metrics.set('demo_error_ratio', 0);
    db = new Database(':memory:');
    safety = new Safety({ db, engine });
    const app = appOf({
      routes: safetyRoutes(safety),
      authenticate: authenticate({ tokens: parseTokens(JSON.stringify([{ name: 'alertmanager', token: AM_SECRET, role: 'alerting' }])) }),
      log: pino({ level: 'silent' }),
    });
    server = await new Promise<Server>((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    const port = (server.address() as AddressInfo).port;
    await stack.start({
      targets: [metrics.port],
      rules: [{ alert: 'HighErrorRate', expr: 'demo_error_ratio > 0.5', labels: { service: 'api', severity: 'critical' } }],
      receiver: { url: `http://127.0.0.1:${port}/api/v1/alerts/alertmanager`, basic: { username: 'alertmanager', password: AM_SECRET } },
    });
    await stack.waitForQuery('demo_error_ratio', (v) => v === 0);
  });

  afterAll(async () => {
    for (const c of sleeps) c.kill('SIGKILL');
    safety?.close();
    server?.close();
    await stack.stop();
    await metrics.stop();
    db?.close();
  });

  it('a firing rule aborts the guarded experiment, not the unrelated one; a new start is refused until resolved', async () => {
    const guarded: TestExperiment = { namespace: 'shop', name: `guarded-${process.pid}`, phase: 'Running', pid: pausedSleep(), spec: { duration: '10m', guards: { alerts: ['alertname="HighErrorRate", service=~"api|web"'] } } };
    const other: TestExperiment = { namespace: 'shop', name: `other-${process.pid}`, phase: 'Running', pid: pausedSleep(), spec: { duration: '10m', guards: { alerts: ['alertname="DiskFull"'] } } };
    exps.set(`shop/${guarded.name}`, guarded);
    exps.set(`shop/${other.name}`, other);
    expect(procState(guarded.pid)).toBe('T');

    metrics.set('demo_error_ratio', 0.9);
    await pollUntil(`guarded experiment aborted\n${stack.logs.slice(-3000)}`, () => guarded.phase === 'Aborted', 60_000);
    await pollUntil('process resumed', () => procState(guarded.pid) === 'S', 10_000);
    // the message names the alert and its labels; where it comes from is a field, not in the text
    expect(guarded.abortedBy).toMatch(/^aborted by alert HighErrorRate\{[^}]*\} \(matched guard /);
    expect(guarded.abortedBy).toContain('service="api"');
    expect(guarded.abortedBy).toContain('severity="critical"');
    expect(guarded.abortedBy).not.toMatch(/http:|fingerprint/);
    expect(guarded.detail).toMatchObject({ alert: 'HighErrorRate', labels: { service: 'api', severity: 'critical' }, source: 'alertmanager', generatorURL: expect.stringMatching(/^http:\/\/.*graph/) });
    expect(events.find((e) => e.type === 'aborted')?.actor).toBe('alertmanager');
    expect(events.some((e) => e.type === 'guard-fired' && e.message.includes(guarded.name))).toBe(true);
    expect(other.phase).toBe('Running');
    expect(procState(other.pid)).toBe('T');

    await expect(safety.beforeStart({ namespace: 'shop', name: 'again', spec: { duration: '1m', guards: { alerts: ['alertname="HighErrorRate"'] } } })).rejects.toThrow(
      /HighErrorRate.*is firing/,
    );

    metrics.set('demo_error_ratio', 0);
    await pollUntil('alert resolved', () => safety.alerts.firing.size === 0, 60_000);
    await expect(safety.beforeStart({ namespace: 'shop', name: 'again', spec: { duration: '1m', guards: { alerts: ['alertname="HighErrorRate"'] } } })).resolves.toBeUndefined();
    expect(other.phase).toBe('Running');
  });
});
