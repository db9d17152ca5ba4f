import { rmSync } from 'node:fs';
import pino from 'pino';
import { parseTokens } from '../../../exporter/auth/tokens';
import { startExporter, type RunningExporter } from '../../../exporter/index';
import { killAll, pauseExperiment, procState, startTestDaemon, tempDir, sleepers } from '../exporter-helpers';
import { describeWithTools } from '../../helpers/require-tool';
import { freePort, request } from '../../helpers/http';
import { MetricSource, pollUntil, PromStack } from '../../helpers/prom-stack';

// The whole safety path with real parts: a real daemon pausing real `sleep`s, the real exporter
// with tokens, a real Prometheus (1 s scrape/eval) + Alertmanager (group_wait 0s) whose webhook
// (bearer auth, role alerting) aborts guarded experiments; PromQL guards; stop-all; access control;
// the emergency freeze across an exporter restart.

const T = {
  viewer: `viewer-${process.pid}-0123456789`,
  operator: `operator-${process.pid}-0123456789`,
  admin: `admin-${process.pid}-0123456789`,
  alerting: `alerting-${process.pid}-0123456789`,
};
const TOKENS = parseTokens(
  JSON.stringify([
    { name: 'dashboards', token: T.viewer, role: 'viewer' },
    { name: 'ci', token: T.operator, role: 'operator' },
    { name: 'oncall', token: T.admin, role: 'admin' },
    { name: 'alertmanager', token: T.alerting, role: 'alerting' },
  ]),
);

describeWithTools(['prometheus', 'prometheus-alertmanager'], 'exporter safety with real Prometheus, Alertmanager, daemon and processes', () => {
  jest.setTimeout(180_000);
  const { procs, spawn: sleeper } = sleepers(600);
  const metrics = new MetricSource();
  const stack = new PromStack();
  const dataDir = tempDir('guards');
  let daemon: Awaited<ReturnType<typeof startTestDaemon>>;
  let ex: RunningExporter;
  let promPort: number;


  const call = (method: string, p: string, token: string | null = T.operator, body?: unknown, headers: Record<string, string> = {}) => request(ex.url, method, p, body, { token, headers });
  const phase = async (name: string, ns = 'default') => (await call('GET', `/api/v1/experiments/${ns}/${name}`, T.viewer)).body?.status?.phase;
  const events = async (name: string) => (await call('GET', `/api/v1/events?experiment=${name}`, T.viewer)).body.items as any[];
  const start = async (name: string, pid: number, extra: Record<string, unknown> = {}, ns?: string) => {
    const body: any = pauseExperiment(name, [pid], '10m', extra);
    if (ns) body.metadata.namespace = ns;
    const r = await call('POST', '/api/v1/experiments', T.operator, body);
    return r;
  };
  const running = async (name: string, pid: number, extra: Record<string, unknown> = {}, ns?: string) => {
    const r = await start(name, pid, extra, ns);
    expect(r.status).toBe(201);
    await pollUntil(`${name} Running`, async () => (await phase(name, ns)) === 'Running');
    expect(procState(pid)).toBe('T');
  };

  async function boot(): Promise<RunningExporter> {
    return startExporter({
      listen: '127.0.0.1:0',
      dataDir,
      daemons: [{ url: daemon.url, name: 'local' }],
      logger: pino({ level: 'silent' }),
      retry: { attempts: 3, baseMs: 50, maxMs: 200 },
      tokens: TOKENS,
      prometheusUrl: `http://127.0.0.1:${promPort}`,
      promqlMaxFailures: 3,
    });
  }

  beforeAll(async () => {
    await metrics.start();
    metrics.set('demo_error_ratio', 0);
    metrics.set('demo_latency_seconds', 0.1);
    daemon = await startTestDaemon();
    promPort = await freePort();
    ex = await boot();
    await stack.start({
      promPort,
      targets: [metrics.port],
      rules: [{ alert: 'HighErrorRate', expr: 'demo_error_ratio > 0.5', labels: { service: 'api', severity: 'critical' } }],
      receiver: { url: `${ex.url}/api/v1/alerts/alertmanager`, bearer: T.alerting },
    });
    await stack.waitForQuery('demo_error_ratio', (v) => v === 0);
  });

  afterAll(async () => {
    await ex?.close({ recover: true }).catch(() => undefined);
    await daemon?.destroy().catch(() => undefined); // recovers, stops and removes its state dir (was left in /tmp as fl-d-*)
    killAll(procs);
    await stack.stop();
    await metrics.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('access control: 401 without a token, 403 per role naming the role needed', async () => {
    expect((await call('GET', '/api/v1/experiments', null)).status).toBe(401);
    expect((await call('GET', '/api/v1/experiments', 'not-a-token-at-all')).status).toBe(401);
    expect((await call('GET', '/api/v1/experiments', T.viewer)).status).toBe(200);
    const denied = await call('POST', '/api/v1/freeze', T.viewer, { reason: 'x' });
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toContain('needs role operator');
    expect((await call('DELETE', '/api/v1/freeze', T.viewer)).status).toBe(403);
    expect((await call('POST', '/api/v1/stop-all', T.viewer)).status).toBe(403);
    expect((await call('POST', '/api/v1/experiments', T.viewer, pauseExperiment('nope', [1]))).status).toBe(403);
    expect((await call('GET', '/api/v1/experiments', T.alerting)).status).toBe(403);
    expect((await call('DELETE', '/api/v1/freeze', T.operator)).status).toBe(403);
    expect((await call('GET', '/api/v1/freeze', T.viewer)).body).toEqual({ frozen: false });
    const doc = (await call('GET', '/api/v1/openapi.json', T.viewer)).body;
    // the safety routes' operations carry the roles this test just exercised
    const roleOf = (p: string, m: string) => doc.paths[p]?.[m]?.['x-faultline-role'];
    expect([roleOf('/api/v1/alerts/alertmanager', 'post'), roleOf('/api/v1/alerts/grafana', 'post')]).toEqual(['webhook', 'webhook']);
    expect([roleOf('/api/v1/freeze', 'get'), roleOf('/api/v1/freeze', 'post'), roleOf('/api/v1/freeze', 'delete'), roleOf('/api/v1/policy', 'get')]).toEqual(['viewer', 'operator', 'admin', 'viewer']);
    expect(doc.paths['/api/v1/alerts/alertmanager'].post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/AlertmanagerWebhook' });
    expect(doc.components.schemas.AlertmanagerWebhook.required).toContain('alerts');
  });

  it('a firing alert aborts the guarded experiment (real Alertmanager), not the unrelated one; start while firing is 409', async () => {
    const guarded = `am-guarded-${process.pid}`;
    const other = `am-other-${process.pid}`;
    const g = sleeper();
    const o = sleeper();
    await running(guarded, g, { guards: { alerts: ['{alertname="HighErrorRate", service=~"api|web"}'] } });
    await running(other, o, { guards: { alerts: ['alertname="DiskFull"'] } });

    metrics.set('demo_error_ratio', 0.9);
    await pollUntil(`guarded Aborted\n${stack.logs.slice(-2000)}`, async () => (await phase(guarded)) === 'Aborted', 90_000);
    await pollUntil('sleep resumed', () => procState(g) !== 'T', 10_000);
    const ev = await events(guarded);
    const aborted = ev.find((e) => e.type === 'aborted');
    // the message names the alert and its labels; the generatorURL is a field of status.abortedBy
    expect(aborted.message).toMatch(/aborted by alert HighErrorRate\{[^}]*\} \(matched guard /);
    expect(aborted.message).toContain('service="api"');
    expect(aborted.message).not.toMatch(/http:|fingerprint/);
    expect(aborted.actor).toBe('alertmanager');
    const exp = (await call('GET', `/api/v1/experiments/default/${guarded}`, T.viewer)).body;
    expect(exp.status.reason).toBe('alert');
    expect(exp.status.abortedBy).toMatchObject({ alert: 'HighErrorRate', labels: { service: 'api', severity: 'critical' }, source: 'alertmanager', generatorURL: expect.stringMatching(/^http:\/\/.*\/graph/) });
    expect(exp.status.targets[0].phase).toBe('Recovered');
    expect(await phase(other)).toBe('Running');
    expect(procState(o)).toBe('T');

    const refused = await start(`am-again-${process.pid}`, sleeper(), { guards: { alerts: ['alertname="HighErrorRate"'] } });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/alert HighErrorRate\{[^}]*service="api"[^}]*\} is firing/);
    expect((await call('GET', '/api/v1/health', T.viewer)).body.guards.firingAlerts).toBeGreaterThanOrEqual(1);
    const m = (await call('GET', '/metrics', T.viewer)).body as string;
    expect(m).toMatch(/faultline_aborts_total\{reason="alert"\} [1-9]/);
    expect(m).toMatch(/faultline_guard_alerts_firing [1-9]/);

    // What Alertmanager sent, sent again (and a malformed one): nothing more happens.
    const firing = (await call('GET', '/api/v1/alerts', T.viewer)).body.items[0];
    const payload = {
      version: '4', groupKey: '{}:{}', status: 'firing', receiver: 'faultline', groupLabels: {}, commonLabels: firing.labels,
      commonAnnotations: {}, externalURL: stack.alertmanagerUrl,
      alerts: [{ status: 'firing', labels: firing.labels, annotations: {}, startsAt: firing.startsAt, endsAt: '0001-01-01T00:00:00Z', generatorURL: firing.generatorURL, fingerprint: firing.fingerprint }],
    };
    const before = (await events(guarded)).length;
    const again = await call('POST', '/api/v1/alerts/alertmanager', T.alerting, payload);
    expect(again.status).toBe(200);
    expect(again.body.aborted).toEqual([]);
    expect((await events(guarded)).length).toBe(before);
    const bad = await call('POST', '/api/v1/alerts/alertmanager', T.alerting, { ...payload, alerts: [{ ...payload.alerts[0], labels: { faultline_stop: 'all' }, status: 'burning' }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: any) => d.field)).toContain('/alerts/0/status');
    expect((await call('POST', '/api/v1/alerts/alertmanager', T.alerting, '{"version": "4", ')).status).toBe(400);
    expect(await phase(other)).toBe('Running');

    metrics.set('demo_error_ratio', 0);
    await pollUntil('alert resolved', async () => (await call('GET', '/api/v1/alerts', T.viewer)).body.items.length === 0, 90_000);
    const ok = await start(`am-after-${process.pid}`, sleeper(), { guards: { alerts: ['alertname="HighErrorRate"'] } });
    expect(ok.status).toBe(201);
    await call('POST', `/api/v1/experiments/default/am-after-${process.pid}/stop`);
    await call('POST', `/api/v1/experiments/default/${other}/stop`);
  });

  it('faultline_stop_namespace (Grafana payload) and faultline_stop="all" (Alertmanager payload)', async () => {
    const a = sleeper();
    const b = sleeper();
    await running(`ns-a-${process.pid}`, a, {}, 'shop');
    await running(`ns-b-${process.pid}`, b, {}, 'billing');
    const grafana = {
      receiver: 'faultline', status: 'firing', orgId: 1, title: '[FIRING:1] ShopDown', state: 'alerting', message: 'x', futureField: 1,
      alerts: [{ status: 'firing', labels: { alertname: 'ShopDown', faultline_stop_namespace: 'shop' }, annotations: {}, fingerprint: 'f00d', values: { A: 1 } }],
    };
    const r = await call('POST', '/api/v1/alerts/grafana', T.alerting, grafana);
    expect(r.status).toBe(200);
    expect(r.body.aborted).toEqual([{ namespace: 'shop', name: `ns-a-${process.pid}`, alert: 'ShopDown', rule: 'faultline_stop_namespace="shop"' }]);
    await pollUntil('shop recovered', () => procState(a) !== 'T');
    expect(await phase(`ns-b-${process.pid}`, 'billing')).toBe('Running');

    const all = {
      version: '4', groupKey: 'k', status: 'firing', receiver: 'faultline', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: '',
      alerts: [{ status: 'firing', labels: { alertname: 'StopChaos', faultline_stop: 'all' }, annotations: {}, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: 'beef' }],
    };
    const r2 = await call('POST', '/api/v1/alerts/alertmanager', T.alerting, all);
    expect(r2.body.aborted.map((x: any) => x.name)).toEqual([`ns-b-${process.pid}`]);
    await pollUntil('billing recovered', () => procState(b) !== 'T');
    // resolve it, so later tests may start experiments again
    const resolved = { ...all, status: 'resolved', alerts: [{ ...all.alerts[0], status: 'resolved', endsAt: new Date().toISOString() }] };
    expect((await call('POST', '/api/v1/alerts/grafana', T.alerting, { ...grafana, status: 'resolved', alerts: [{ ...grafana.alerts[0], status: 'resolved' }] })).body.firing).toBe(1);
    const res = await call('POST', '/api/v1/alerts/alertmanager', T.alerting, resolved);
    expect(res.body).toMatchObject({ firing: 0, aborted: [] });
  });

  it('a PromQL guard aborts once its expression held for `for`', async () => {
    const name = `promql-${process.pid}`;
    const pid = sleeper();
    const flipped = { at: 0 };
    await running(name, pid, { guards: { promql: [{ expr: 'demo_latency_seconds > 0.5', for: '2s', interval: '250ms' }] } });
    await pollUntil('guard watching', async () => (await call('GET', '/api/v1/health', T.viewer)).body.guards.promqlGuards === 1);
    flipped.at = Date.now();
    metrics.set('demo_latency_seconds', 3);
    await pollUntil('Aborted by PromQL', async () => (await phase(name)) === 'Aborted', 60_000);
    expect(procState(pid)).not.toBe('T');
    const ab = (await events(name)).find((e) => e.type === 'aborted');
    expect(ab.message).toContain('PromQL guard "demo_latency_seconds > 0.5": true for 2s');
    expect(ab.actor).toBe('promql-guard');
    expect(Date.parse(ab.time) - flipped.at).toBeGreaterThanOrEqual(2000);
    // pre-flight: already true → 409
    const pre = await start(`promql-pre-${process.pid}`, sleeper(), { guards: { promql: [{ expr: 'demo_latency_seconds > 0.5' }] } });
    expect(pre.status).toBe(409);
    expect(pre.body.error.message).toContain('already true');
    metrics.set('demo_latency_seconds', 0.1);
    await stack.waitForQuery('demo_latency_seconds', (v) => v === 0.1);
  });

  it('stop-all recovers everything and lists what it stopped (operator may)', async () => {
    const a = sleeper();
    const b = sleeper();
    await running(`sa-a-${process.pid}`, a);
    await running(`sa-b-${process.pid}`, b);
    const r = await call('POST', '/api/v1/stop-all', T.operator);
    expect(r.status).toBe(200);
    expect(r.body.stopped.map((x: any) => x.name).sort()).toEqual([`sa-a-${process.pid}`, `sa-b-${process.pid}`]);
    expect(procState(a)).not.toBe('T');
    expect(procState(b)).not.toBe('T');
    expect((await events(`sa-a-${process.pid}`)).find((e) => e.type === 'aborted').actor).toBe('ci');
  });

  it('freeze: recovers all, suspends schedules, refuses creates and resumes, survives a restart, unfreeze by admin', async () => {
    const a = sleeper();
    await running(`fz-a-${process.pid}`, a);
    const sched = `fz-sched-${process.pid}`.slice(0, 40);
    const sc = await call('POST', '/api/v1/experiments', T.operator, {
      metadata: { name: sched },
      spec: { fault: { kind: 'process-pause', params: {} }, targets: { selector: { pids: [sleeper()], daemons: ['local'] }, mode: 'all' }, duration: '500ms', schedule: '*/2 * * * * *' },
    });
    expect(sc.status).toBe(201);

    const f = await call('POST', '/api/v1/freeze', T.operator, { reason: 'INC-42 checkout down' }, { 'x-grafana-user': 'alice' });
    expect(f.status).toBe(200);
    expect(f.body).toMatchObject({ frozen: true, reason: 'INC-42 checkout down', actor: 'alice (ci)' });
    expect(await phase(`fz-a-${process.pid}`)).toBe('Aborted');
    expect(procState(a)).not.toBe('T');
    // bad bodies change nothing
    expect((await call('POST', '/api/v1/freeze', T.operator, { reason: '' })).status).toBe(400);
    expect((await call('POST', '/api/v1/freeze', T.operator, { reason: 'x', until: 'soon' })).status).toBe(400);
    expect((await call('POST', '/api/v1/freeze', T.operator, { reason: 'x', extra: 1 })).status).toBe(400);

    const refused = await start(`fz-new-${process.pid}`, sleeper());
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/chaos is frozen since .* by alice \(ci\): INC-42 checkout down/);
    // the freeze suspends schedules (as stop-all does), and none can be resumed while it holds
    expect(await phase(sched)).toBe('Paused');
    const resumeSched = await call('POST', `/api/v1/experiments/default/${sched}/resume`, T.operator);
    expect(resumeSched.status).toBe(409);
    expect(resumeSched.body.error.message).toMatch(/chaos is frozen/);
    const health = (await call('GET', '/api/v1/health', T.viewer)).body;
    expect(health.freeze).toMatchObject({ frozen: true, actor: 'alice (ci)' });
    expect((await call('GET', '/metrics', T.viewer)).body).toMatch(/faultline_frozen 1/);
    const frozenEv = (await call('GET', '/api/v1/events?type=frozen', T.viewer)).body.items;
    expect(frozenEv.at(-1)).toMatchObject({ type: 'frozen', actor: 'alice (ci)' });

    await ex.close({ recover: true });
    ex = await boot();
    expect((await call('GET', '/api/v1/health', T.viewer)).body.freeze).toMatchObject({ frozen: true, reason: 'INC-42 checkout down' });
    expect((await start(`fz-after-restart-${process.pid}`, sleeper())).status).toBe(409);
    expect((await call('DELETE', '/api/v1/freeze', T.operator)).status).toBe(403);

    const lift = await call('DELETE', '/api/v1/freeze', T.admin);
    expect(lift.status).toBe(200);
    expect(lift.body).toMatchObject({ frozen: false, lifted: { reason: 'INC-42 checkout down' } });
    expect((await call('GET', '/metrics', T.viewer)).body).toMatch(/faultline_frozen 0/);
    const pid = sleeper();
    await running(`fz-works-${process.pid}`, pid);
    await call('POST', `/api/v1/experiments/default/fz-works-${process.pid}/stop`);
    await call('DELETE', `/api/v1/experiments/default/${sched}`);
  });

  it('an alert with faultline_freeze="true" freezes', async () => {
    const pid = sleeper();
    await running(`afz-${process.pid}`, pid);
    const r = await call('POST', '/api/v1/alerts/grafana', T.alerting, {
      status: 'firing', alerts: [{ status: 'firing', labels: { alertname: 'MajorIncident', faultline_freeze: 'true' }, fingerprint: 'inc1' }],
    });
    expect(r.body.frozen).toBe(true);
    expect(procState(pid)).not.toBe('T');
    expect((await call('GET', '/api/v1/freeze', T.viewer)).body).toMatchObject({ frozen: true, actor: 'alertmanager' });
    await call('POST', '/api/v1/alerts/grafana', T.alerting, {
      status: 'resolved', alerts: [{ status: 'resolved', labels: { alertname: 'MajorIncident', faultline_freeze: 'true' }, fingerprint: 'inc1' }],
    });
    expect((await call('GET', '/api/v1/freeze', T.viewer)).body.frozen).toBe(true); // resolution lifts nothing
    expect((await call('DELETE', '/api/v1/freeze', T.admin)).status).toBe(200);
  });

  it('takes a notification larger than the 1 MB general body limit (a big alert group)', async () => {
    const alerts = Array.from({ length: 4000 }, (_, i) => ({
      status: 'resolved', labels: { alertname: 'Noisy', instance: `host-${i}` }, annotations: { description: 'x'.repeat(400) },
      startsAt: new Date().toISOString(), endsAt: new Date().toISOString(), generatorURL: '', fingerprint: `n${i}`,
    }));
    const body = { version: '4', groupKey: 'big', status: 'resolved', receiver: 'faultline', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: '', alerts };
    expect(JSON.stringify(body).length).toBeGreaterThan(1_500_000);
    const r = await call('POST', '/api/v1/alerts/alertmanager', T.alerting, body);
    expect(r.status).toBe(200);
    expect(r.body.received).toBe(4000);
  });

  it('Prometheus going away aborts a PromQL-guarded experiment after N failed evaluations', async () => {
    const name = `blind-${process.pid}`;
    const pid = sleeper();
    await running(name, pid, { guards: { promql: [{ expr: 'demo_latency_seconds > 0.5', interval: '200ms' }] } });
    await stack.stopPrometheus();
    await pollUntil('Aborted (Prometheus unreachable)', async () => (await phase(name)) === 'Aborted', 60_000);
    expect(procState(pid)).not.toBe('T');
    const ab = (await events(name)).find((e) => e.type === 'aborted');
    expect(ab.message).toMatch(/could not be evaluated 3 times in a row \(Prometheus at .* unreachable/);
  });
});
