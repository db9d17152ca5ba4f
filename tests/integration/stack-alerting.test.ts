import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { request } from '../helpers/http';
import { describeWithTools } from '../helpers/require-tool';
import {
  PROVISIONING,
  freePort,
  readYaml,
  removeDir,
  rewriteAlertmanagerConfig,
  rewritePrometheusConfig,
  startAlertmanager,
  startDemoProcess,
  startExporterProcess,
  startPrometheus,
  tempDir,
  waitFor,
  type Proc,
} from '../helpers/stack';

// The alerting path of the stack without Docker, every part real and configured from
// provisioning/: the demo service under load, `faultline start` (exporter + embedded daemon),
// Prometheus with prometheus.yml + rules.yml, Alertmanager with alertmanager.yml (ports and token
// files rewritten, 1 s intervals). A guarded experiment pauses the demo's backend process; the
// demo's checkouts time out; DemoHighErrorRate fires; Alertmanager posts to the exporter with the
// alerting token; the experiment ends Aborted and the backend runs again. An experiment guarded
// by another alert keeps running. While the alert fires (the demo failing on purpose through its
// admin endpoint), a new guarded experiment is refused.

const ALERTING = `alerting-token-${process.pid}-abcdef`;
const OPERATOR = `operator-token-${process.pid}-abcdef`;
const VIEWER = `viewer-token-${process.pid}-abcdefg`;
const NS = 'default';

/** The scheduler state of a process: 'T' when stopped (SIGSTOP), 'S'/'R' when running. */
function procState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

describeWithTools(['prometheus', 'prometheus-alertmanager'], 'stack alerting path', () => {
  describe('a guard alert from the provisioned Prometheus + Alertmanager stops the experiment', () => {
    const procs: Proc[] = [];
    const victims: ChildProcess[] = [];
    let dir: string;
    let exporterUrl: string;
    let demoUrl: string;
    let amUrl: string;

    const api = (method: string, p: string, body?: unknown) => request(exporterUrl, method, `/api/v1${p}`, body, { token: OPERATOR });
    const phase = async (name: string) => (await api('GET', `/experiments/${NS}/${name}`)).body?.status?.phase as string | undefined;

    function victim(): number {
      const child = spawn('sleep', ['600'], { stdio: 'ignore' });
      victims.push(child);
      return child.pid!;
    }

    const experiment = (name: string, pid: number, guard: string) => ({
      apiVersion: 'faultline.dev/v1alpha1',
      kind: 'Experiment',
      metadata: { name, namespace: NS },
      spec: {
        fault: { kind: 'process-pause', params: {} },
        targets: { selector: { pids: [pid] }, mode: 'all' },
        duration: '5m',
        guards: { alerts: [guard] },
      },
    });

    beforeAll(async () => {
      dir = tempDir('faultline-stack-alerting');
      const demo = await startDemoProcess(['--load', '40']);
      procs.push(demo.proc);
      demoUrl = demo.url;
      const exporter = await startExporterProcess(
        path.join(dir, 'exporter'),
        `alertmanager:alerting:${ALERTING},test:operator:${OPERATOR},prometheus:viewer:${VIEWER}`,
        VIEWER,
      );
      procs.push(exporter.proc);
      exporterUrl = exporter.url;

      const amPort = await freePort();
      const am = await startAlertmanager(path.join(dir, 'am'), rewriteAlertmanagerConfig(exporterUrl, ALERTING, dir), amPort);
      procs.push(am.proc);
      amUrl = am.url;

      const promPort = await freePort();
      const promConfig = rewritePrometheusConfig({
        dir,
        targets: { prometheus: `127.0.0.1:${promPort}`, demo: new URL(demoUrl).host, 'faultline-exporter': new URL(exporterUrl).host },
        alertmanager: `127.0.0.1:${amPort}`,
        credentials: { 'exporter-token': VIEWER },
      });
      const prom = await startPrometheus(path.join(dir, 'prom'), promConfig, promPort);
      procs.push(prom.proc);
    }, 180_000);

    afterAll(async () => {
      await fetch(`${demoUrl}/admin/settings`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"errorRatio":0}' }).catch(() => undefined);
      if (exporterUrl) await api('POST', '/stop-all').catch(() => undefined);
      await Promise.all(procs.map((p) => p.stop()));
      for (const v of victims) {
        // A paused victim must be continued to die of SIGTERM; SIGKILL works either way.
        v.kill('SIGKILL');
      }
      removeDir(dir);
    }, 60_000);

    it('runs the exporter with tokens: the webhook needs one, and the alerting token cannot start chaos', async () => {
      const anonymous = await fetch(`${exporterUrl}/api/v1/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(anonymous.status).toBe(401);
      const asAlerting = await fetch(`${exporterUrl}/api/v1/experiments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ALERTING}`, 'content-type': 'application/json' },
        body: JSON.stringify(experiment(`not-allowed-${process.pid}`, process.pid, 'alertname="X"')),
      });
      expect(asAlerting.status).toBe(403);
    });

    it('aborts the experiment whose fault breaks the demo, resumes its target, and leaves another guard alone', async () => {
      // The fault is the cause: pausing the demo's backend process turns /api/checkout into 504s.
      const backend = (await (await fetch(`${demoUrl}/admin/backend`)).json()) as { pid: number };
      const otherPid = victim();
      const guarded = `pause-backend-${process.pid}`;
      const other = `other-guard-${process.pid}`;
      const created = await api('POST', '/experiments', experiment(other, otherPid, 'alertname="SomeOtherAlert"'));
      expect({ status: created.status, body: created.body }).toEqual({ status: 201, body: expect.anything() });
      await waitFor('other experiment Running', async () => (await phase(other)) === 'Running', 60_000);

      const started = Date.now();
      const g = await api('POST', '/experiments', experiment(guarded, backend.pid, 'alertname="DemoHighErrorRate"'));
      expect({ status: g.status, body: g.body }).toEqual({ status: 201, body: expect.anything() });
      await waitFor('backend paused', () => procState(backend.pid) === 'T', 30_000, 100);
      const paused = Date.now();
      expect((await fetch(`${demoUrl}/api/checkout`)).status).toBe(504);

      await waitFor('guarded experiment Aborted', async () => (await phase(guarded)) === 'Aborted', 90_000, 250);
      const aborted = Date.now();
      // Numbers for the report: scrape (1 s) + 30 s rate window crossing 20% + rule (1 s) + Alertmanager + exporter.
      console.log(
        `stack alerting: experiment created → backend paused ${((paused - started) / 1000).toFixed(1)} s; ` +
          `paused → Aborted by DemoHighErrorRate ${((aborted - paused) / 1000).toFixed(1)} s`,
      );

      await waitFor('backend resumed', () => procState(backend.pid) !== 'T', 30_000, 100);
      await waitFor('checkout answers again', async () => (await fetch(`${demoUrl}/api/checkout`)).status === 200, 30_000);
      const got = await api('GET', `/experiments/${NS}/${guarded}`);
      expect(JSON.stringify(got.body.status)).toContain('DemoHighErrorRate');

      // Alertmanager really holds the alert (it came through it, not around it).
      const alerts = (await (await fetch(`${amUrl}/api/v2/alerts`)).json()) as { labels: Record<string, string> }[];
      expect(alerts.map((a) => a.labels.alertname)).toContain('DemoHighErrorRate');

      // The experiment guarded by another alert runs on, its target still paused.
      expect(await phase(other)).toBe('Running');
      expect(procState(otherPid)).toBe('T');
      const stopped = await api('POST', `/experiments/${NS}/${other}/stop`);
      expect(stopped.status).toBeLessThan(300);
      await waitFor('other target resumed', () => procState(otherPid) !== 'T', 30_000);
    }, 150_000);

    it("aborts a guarded experiment on Grafana's webhook, sent as the provisioned contact point sends it", async () => {
      // Grafana itself cannot run here: this posts what its webhook contact point posts, to the
      // URL path, with the auth scheme and the token variable of provisioning/grafana/alerting.
      const cp = readYaml(path.join(PROVISIONING, 'grafana', 'alerting', 'contact-points.yaml')).contactPoints[0].receivers[0].settings;
      expect(cp.authorization_credentials).toBe('$FAULTLINE_ALERT_TOKEN');
      const folder = String(readYaml(path.join(PROVISIONING, 'grafana', 'alerting', 'rules.yaml')).groups[0].folder);
      const pid = victim();
      const name = `grafana-guarded-${process.pid}`;
      // Guarded by the Grafana-managed twin only (grafana_folder is a label Grafana adds): the
      // Prometheus alert of the same name may still be firing from the tests above.
      const created = await api('POST', '/experiments', experiment(name, pid, `alertname="DemoHighErrorRate", grafana_folder="${folder}"`));
      expect(created.status).toBe(201);
      await waitFor('grafana-guarded Running', async () => (await phase(name)) === 'Running', 60_000);
      const now = new Date().toISOString();
      const labels = { alertname: 'DemoHighErrorRate', grafana_folder: folder, severity: 'critical', service: 'demo' };
      const payload = {
        receiver: 'faultline',
        status: 'firing',
        orgId: 1,
        alerts: [
          {
            status: 'firing',
            labels,
            annotations: { summary: 'More than 20% of the demo API requests fail' },
            startsAt: now,
            endsAt: '0001-01-01T00:00:00Z',
            generatorURL: 'http://grafana:3000/alerting/grafana/demo-high-error-rate/view',
            fingerprint: `f${process.pid.toString(16)}`,
            silenceURL: 'http://grafana:3000/alerting/silence/new',
            dashboardURL: '',
            panelURL: '',
            values: { A: 0.5, B: 1 },
            valueString: "[ var='A' value=0.5 ], [ var='B' value=1 ]",
          },
        ],
        groupLabels: { alertname: 'DemoHighErrorRate', service: 'demo' },
        commonLabels: labels,
        commonAnnotations: {},
        externalURL: 'http://grafana:3000/',
        version: '1',
        groupKey: '{}/{}:{alertname="DemoHighErrorRate", service="demo"}',
        truncatedAlerts: 0,
        title: '[FIRING:1] DemoHighErrorRate',
        state: 'alerting',
        message: 'DemoHighErrorRate is firing',
      };
      const r = await fetch(exporterUrl + new URL(cp.url).pathname, {
        method: cp.httpMethod,
        headers: { authorization: `${cp.authorization_scheme} ${ALERTING}`, 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
      expect(r.status).toBe(200);
      await waitFor('grafana-guarded Aborted', async () => (await phase(name)) === 'Aborted', 30_000, 100);
      await waitFor('its target resumed', () => procState(pid) !== 'T', 30_000, 100);
    }, 120_000);

    it('refuses to start an experiment while its guard alert is firing (demo failing via its admin endpoint)', async () => {
      const set = (ratio: number) =>
        fetch(`${demoUrl}/admin/settings`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errorRatio: ratio }) });
      expect((await set(1)).status).toBe(200);
      try {
        await waitFor('exporter sees DemoHighErrorRate firing', async () => {
          const r = await api('GET', '/alerts');
          return JSON.stringify(r.body).includes('DemoHighErrorRate');
        }, 90_000, 500);
        const pid = victim();
        const r = await api('POST', '/experiments', experiment(`late-${process.pid}`, pid, 'alertname="DemoHighErrorRate"'));
        expect(r.status).toBe(409);
        expect(JSON.stringify(r.body)).toContain('DemoHighErrorRate');
        expect(procState(pid)).not.toBe('T');
      } finally {
        await set(0);
      }
    }, 120_000);
  });
});
