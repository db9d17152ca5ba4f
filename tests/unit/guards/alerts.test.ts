import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AlertmanagerWebhook, GrafanaWebhook } from '../../../api/alerts';
import { validate } from '../../../api/validate';
import { ApiError } from '../../../api/errors';
import type { AbortedBy } from '../../../api/experiment';
import { AlertGuard, FiringAlerts, alertWithLabels, fromAlertmanager, fromGrafana, planStops, type GuardedExperiment } from '../../../exporter/guards/alerts';

// Shaped exactly as Alertmanager 0.25 posts it (webhook_config, version 4).
function amPayload(status: 'firing' | 'resolved', alerts: { labels: Record<string, string>; fingerprint: string; status?: 'firing' | 'resolved' }[]) {
  return {
    receiver: 'faultline',
    status,
    alerts: alerts.map((a) => ({
      status: a.status ?? status,
      labels: a.labels,
      annotations: { summary: 'error rate above 5%' },
      startsAt: '2026-11-25T06:30:00.123Z',
      endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2026-11-25T06:35:00Z',
      generatorURL: 'http://127.0.0.1:9090/graph?g0.expr=rate%28errors%5B1m%5D%29+%3E+0.05&g0.tab=1',
      fingerprint: a.fingerprint,
    })),
    groupLabels: { alertname: alerts[0]?.labels.alertname ?? '' },
    commonLabels: alerts[0]?.labels ?? {},
    commonAnnotations: { summary: 'error rate above 5%' },
    externalURL: 'http://127.0.0.1:9093',
    version: '4',
    groupKey: '{}:{alertname="HighErrorRate"}',
    truncatedAlerts: 0,
  };
}

// Grafana 10/11 webhook contact point payload (fields trimmed to the common ones plus extras).
const grafanaPayload = {
  receiver: 'faultline',
  status: 'firing',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'LatencyHigh', grafana_folder: 'SRE', service: 'web' },
      annotations: {},
      startsAt: '2026-11-25T06:30:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://grafana/alerting/grafana/abc/view',
      fingerprint: 'c6eadffa33fcdf37',
      silenceURL: 'http://grafana/alerting/silence/new',
      dashboardURL: '',
      panelURL: '',
      values: { A: 812.5, C: 1 },
      valueString: "[ var='A' labels={} value=812.5 ]",
      orgId: 1,
    },
  ],
  groupLabels: { alertname: 'LatencyHigh' },
  commonLabels: { alertname: 'LatencyHigh' },
  commonAnnotations: {},
  externalURL: 'http://grafana/',
  version: '1',
  groupKey: '{}/{alertname="LatencyHigh"}:{alertname="LatencyHigh"}',
  truncatedAlerts: 0,
  orgId: 1,
  title: '[FIRING:1] LatencyHigh SRE (web)',
  state: 'alerting',
  message: '**Firing**\n\nValue: A=812.5',
  someFutureField: { added: 'in grafana 13' },
};

const exps: GuardedExperiment[] = [
  { namespace: 'shop', name: 'pause-api', phase: 'Running', guards: { alerts: ['alertname="HighErrorRate"'] } },
  { namespace: 'shop', name: 'pause-web', phase: 'Paused', guards: { alerts: ['{alertname="LatencyHigh", service=~"web|api"}'] } },
  { namespace: 'billing', name: 'cpu', phase: 'Running' },
  { namespace: 'billing', name: 'old', phase: 'Finished', guards: { alerts: ['alertname="HighErrorRate"'] } },
];

describe('alert webhook payloads', () => {
  it('accepts a real Alertmanager v4 payload and a Grafana payload with extra fields', () => {
    const am = validate(AlertmanagerWebhook, amPayload('firing', [{ labels: { alertname: 'HighErrorRate' }, fingerprint: 'a1' }]));
    expect(fromAlertmanager(am)[0]).toMatchObject({ status: 'firing', fingerprint: 'a1', labels: { alertname: 'HighErrorRate' } });
    const g = validate(GrafanaWebhook, structuredClone(grafanaPayload));
    expect(fromGrafana(g)[0]).toMatchObject({ source: 'grafana', fingerprint: 'c6eadffa33fcdf37' });
  });

  it.each([
    ['version', (p: any) => { p.version = '3'; }, '/version'],
    ['alerts', (p: any) => { delete p.alerts; }, '/alerts'],
    ['status', (p: any) => { p.alerts[0].status = 'pending'; }, '/alerts/0/status'],
    ['labels', (p: any) => { p.alerts[0].labels = { alertname: 5 }; }, '/alerts/0/labels/alertname'],
    ['fingerprint', (p: any) => { delete p.alerts[0].fingerprint; }, '/alerts/0/fingerprint'],
  ])('rejects an Alertmanager payload with a bad %s, naming the field', (_n, mutate, field) => {
    const p = amPayload('firing', [{ labels: { alertname: 'X' }, fingerprint: 'f' }]);
    mutate(p);
    try {
      validate(AlertmanagerWebhook, p);
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(400);
      expect((err as ApiError).details!.map((d) => d.field)).toContain(field);
    }
  });

  it('rejects a Grafana payload without labels, and fingerprints it when the fingerprint is missing', () => {
    const bad = structuredClone(grafanaPayload) as any;
    delete bad.alerts[0].labels;
    expect(() => validate(GrafanaWebhook, bad)).toThrow('/alerts/0/labels');
    const nofp = structuredClone(grafanaPayload) as any;
    delete nofp.alerts[0].fingerprint;
    const a1 = fromGrafana(validate(GrafanaWebhook, nofp))[0];
    const a2 = fromGrafana(validate(GrafanaWebhook, structuredClone(nofp)))[0];
    expect(a1.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(a1.fingerprint).toBe(a2.fingerprint);
  });
});

describe('which experiments an alert stops', () => {
  const am = (labels: Record<string, string>, status: 'firing' | 'resolved' = 'firing') =>
    fromAlertmanager(validate(AlertmanagerWebhook, amPayload(status, [{ labels, fingerprint: 'fp' + JSON.stringify(labels).length }])));

  it('stops only the experiments whose guard matches, among the active ones', () => {
    const stops = planStops(am({ alertname: 'HighErrorRate', severity: 'critical' }), exps);
    expect(stops.map((s) => s.name)).toEqual(['pause-api']);
    expect(stops[0].rule).toBe('guard alertname="HighErrorRate"');
  });

  it('ANDs matchers inside one selector, ORs the entries', () => {
    expect(planStops(am({ alertname: 'LatencyHigh', service: 'web' }), exps).map((s) => s.name)).toEqual(['pause-web']);
    expect(planStops(am({ alertname: 'LatencyHigh', service: 'db' }), exps)).toEqual([]);
  });

  it('faultline_stop_namespace, faultline_stop="all" and faultline_freeze="true"', () => {
    expect(planStops(am({ alertname: 'X', faultline_stop_namespace: 'billing' }), exps).map((s) => s.name)).toEqual(['cpu']);
    expect(planStops(am({ alertname: 'X', faultline_stop: 'all' }), exps).map((s) => s.name)).toEqual(['pause-api', 'pause-web', 'cpu']);
    expect(planStops(am({ alertname: 'X', faultline_freeze: 'true' }), exps)).toHaveLength(3);
    expect(planStops(am({ alertname: 'X', faultline_stop: 'some' }), exps)).toEqual([]);
  });

  it('resolved alerts stop nothing', () => {
    expect(planStops(am({ alertname: 'HighErrorRate' }, 'resolved'), exps)).toEqual([]);
  });
});

describe('AlertGuard', () => {
  function setup() {
    const state = new Map(exps.map((e) => [`${e.namespace}/${e.name}`, { ...e }]));
    const aborted: { ref: string; reason: string; actor: string; detail?: AbortedBy }[] = [];
    const frozen: string[] = [];
    const guard = new AlertGuard({
      listExperiments: () => [...state.values()],
      abort: async (ref, reason, actor, detail) => {
        await new Promise((r) => setTimeout(r, 5));
        aborted.push({ ref: `${ref.namespace}/${ref.name}`, reason, actor, detail });
        state.get(`${ref.namespace}/${ref.name}`)!.phase = 'Aborted';
      },
      freeze: async (reason) => {
        frozen.push(reason);
      },
    });
    return { guard, aborted, frozen, state };
  }
  const notify = (labels: Record<string, string>, status: 'firing' | 'resolved' = 'firing', fingerprint = 'abc123') =>
    fromAlertmanager(validate(AlertmanagerWebhook, amPayload(status, [{ labels, fingerprint }])));

  it('aborts with a reason naming the alert and its labels; generatorURL and fingerprint are fields; repeats are idempotent', async () => {
    const { guard, aborted } = setup();
    const alerts = notify({ severity: 'page', alertname: 'HighErrorRate', service: 'checkout' });
    const [r1, r2] = await Promise.all([guard.handle(alerts, 'alertmanager'), guard.handle(alerts, 'alertmanager')]);
    expect(aborted).toHaveLength(1);
    expect(aborted[0]).toMatchObject({ ref: 'shop/pause-api', actor: 'alertmanager' });
    expect(aborted[0].reason).toBe('aborted by alert HighErrorRate{service="checkout",severity="page"} (matched guard alertname="HighErrorRate")');
    expect(aborted[0].reason).not.toContain('http://');
    expect(aborted[0].detail).toEqual({
      alert: 'HighErrorRate',
      labels: { alertname: 'HighErrorRate', service: 'checkout', severity: 'page' },
      fingerprint: 'abc123',
      source: 'alertmanager',
      rule: 'guard alertname="HighErrorRate"',
      generatorURL: 'http://127.0.0.1:9090/graph?g0.expr=rate%28errors%5B1m%5D%29+%3E+0.05&g0.tab=1',
      startsAt: '2026-11-25T06:30:00.123Z',
    });
    expect(r1.aborted.length + r2.aborted.length).toBeGreaterThanOrEqual(1);
    const r3 = await guard.handle(alerts, 'alertmanager');
    expect(r3.aborted).toEqual([]);
    expect(aborted).toHaveLength(1);
  });

  it('refuses to start while a guard alert fires, until it resolves', async () => {
    const { guard } = setup();
    await guard.handle(notify({ alertname: 'HighErrorRate' }), 'am');
    const exp = { namespace: 'shop', name: 'again', guards: { alerts: ['alertname=~"High.*"'] } };
    expect(() => guard.checkStart(exp)).toThrow(/HighErrorRate.*firing/);
    try {
      guard.checkStart(exp);
    } catch (err) {
      expect((err as ApiError).status).toBe(409);
    }
    expect(() => guard.checkStart({ namespace: 'shop', name: 'unguarded' })).not.toThrow();
    await guard.handle(notify({ alertname: 'HighErrorRate' }, 'resolved'), 'am');
    expect(() => guard.checkStart(exp)).not.toThrow();
  });

  it('freezes on faultline_freeze="true"', async () => {
    const { guard, frozen, aborted } = setup();
    const r = await guard.handle(notify({ alertname: 'Incident', faultline_freeze: 'true' }), 'grafana');
    expect(r.frozen).toBe(true);
    expect(frozen[0]).toContain('Incident');
    expect(aborted.map((a) => a.ref).sort()).toEqual(['billing/cpu', 'shop/pause-api', 'shop/pause-web']);
  });

  it('forgets firing alerts after the ttl (receivers without send_resolved)', () => {
    const reg = new FiringAlerts(1000);
    const a = notify({ alertname: 'A' });
    expect(reg.record(a, 0)).toHaveLength(1);
    expect(reg.record(a, 500)).toHaveLength(0);
    expect(reg.list(1400)).toHaveLength(1);
    expect(reg.list(1600)).toHaveLength(0);
  });
});

describe('firing alerts across a restart', () => {
  it('are kept in SQLite: still firing after reopening, gone once resolved or expired', () => {
    const dir = mkdtempSync(path.join(tmpdir(), `fl-firing-${process.pid}-`));
    try {
      const file = path.join(dir, 'f.db');
      const alert = (status: 'firing' | 'resolved', fp: string) =>
        fromAlertmanager(validate(AlertmanagerWebhook, amPayload(status, [{ labels: { alertname: `A${fp}` }, fingerprint: fp }])));
      let db = new Database(file);
      const reg = new FiringAlerts(60_000, db);
      reg.record([...alert('firing', 'one'), ...alert('firing', 'two')]);
      reg.record(alert('resolved', 'two'));
      db.close();

      db = new Database(file);
      const again = new FiringAlerts(60_000, db);
      expect(again.list().map((a) => a.fingerprint)).toEqual(['one']);
      const guard = new AlertGuard({ listExperiments: () => [], abort: async () => undefined, db });
      expect(() => guard.checkStart({ namespace: 'x', name: 'y', guards: { alerts: ['alertname="Aone"'] } })).toThrow('is firing');
      expect(again.list(Date.now() + 120_000)).toEqual([]);
      db.close();
      db = new Database(file);
      expect(new FiringAlerts(60_000, db).list()).toEqual([]);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('AlertGuard when an abort fails', () => {
  it('reports the failed one and still aborts the others', async () => {
    const done: string[] = [];
    const guard = new AlertGuard({
      listExperiments: () => exps.map((e) => ({ ...e })),
      abort: async (ref) => {
        if (ref.name === 'pause-api') throw new Error('experiment shop/pause-api not found');
        done.push(ref.name);
      },
    });
    const alerts = fromAlertmanager(validate(AlertmanagerWebhook, amPayload('firing', [{ labels: { alertname: 'X', faultline_stop: 'all' }, fingerprint: 'zz' }])));
    const r = await guard.handle(alerts, 'am');
    expect(done.sort()).toEqual(['cpu', 'pause-web']);
    expect(r.aborted.map((a) => a.name).sort()).toEqual(['cpu', 'pause-web']);
    expect(r.errors).toEqual([{ namespace: 'shop', name: 'pause-api', error: 'experiment shop/pause-api not found' }]);
  });
});

describe('alert descriptions', () => {
  const alert = (labels: Record<string, string>) => fromAlertmanager(validate(AlertmanagerWebhook, amPayload('firing', [{ labels, fingerprint: 'f1' }])))[0];
  it('name the alert and its labels as Prometheus writes a series, values quoted and long ones cut', () => {
    expect(alertWithLabels(alert({ alertname: 'HighErrorRate' }))).toBe('HighErrorRate');
    expect(alertWithLabels(alert({ alertname: 'A', b: 'x"y\\z' }))).toBe('A{b="x\\"y\\\\z"}');
    expect(alertWithLabels(alert({ alertname: 'A', long: 'v'.repeat(500) }))).toBe(`A{long="${'v'.repeat(120)}…"}`);
    expect(alertWithLabels(alert({ instance: 'x' }))).toBe('f1{instance="x"}');
  });
});
