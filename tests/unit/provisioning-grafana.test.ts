import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PROVISIONING, REPO, readJson, readYaml } from '../helpers/stack';

// provisioning/grafana: data sources, dashboards and alerting must fit together and fit the
// compose stack. Grafana itself cannot run here, so every cross-reference Grafana would resolve
// is resolved by this test: data source uids and types, plugin ids, env variables, the
// exporter's webhook route and the token roles behind them.

const GRAFANA = path.join(PROVISIONING, 'grafana');
// The dashboards ship in the app (src/dashboards/); provisioning/grafana/dashboards holds the provider.
const DASH_DIR = path.join(REPO, 'src', 'dashboards');
const dashboards = readdirSync(DASH_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, json: readJson(path.join(DASH_DIR, f)) }));
const datasources = readYaml(path.join(GRAFANA, 'datasources', 'datasources.yaml')).datasources as any[];
const dsByUid = new Map(datasources.map((d) => [d.uid as string, d]));
const compose = readYaml(path.join(REPO, 'docker-compose.yaml'));

/** Plugin ids from the plugins' own manifests (the data source's may be at the top or under src/datasource). */
function pluginId(candidates: string[], fallback: string): string {
  for (const c of candidates) {
    const f = path.join(REPO, c);
    if (existsSync(f)) return readJson(f).id;
  }
  return fallback;
}
const DATASOURCE_ID = pluginId(['src/datasource/plugin.json'], 'faultline-chaos-datasource');
const PANEL_ID = pluginId(['src/panel/plugin.json'], 'faultline-chaos-panel');

/** Every data source reference in a dashboard, with where it is. */
function datasourceRefs(d: any): { where: string; ref: any }[] {
  const refs: { where: string; ref: any }[] = [];
  for (const p of d.panels ?? []) {
    if (p.datasource) refs.push({ where: `panel "${p.title}"`, ref: p.datasource });
    for (const t of p.targets ?? []) if (t.datasource) refs.push({ where: `panel "${p.title}" target ${t.refId}`, ref: t.datasource });
  }
  for (const a of d.annotations?.list ?? []) if (!a.builtIn) refs.push({ where: `annotation "${a.name}"`, ref: a.datasource });
  for (const v of d.templating?.list ?? []) if (v.datasource) refs.push({ where: `variable $${v.name}`, ref: v.datasource });
  return refs;
}

/** FAULTLINE_TOKENS of the exporter service: name:role:secret,... → env variable name → role. */
function exporterTokenRoles(): Map<string, string> {
  const spec = String(compose.services.exporter.environment.FAULTLINE_TOKENS);
  const roles = new Map<string, string>();
  for (const part of spec.split(',')) {
    const m = /^[^:]+:([a-z]+):\$\{([A-Z_]+)(:-[^}]*)?\}$/.exec(part.trim());
    if (!m) throw new Error(`FAULTLINE_TOKENS entry not of the form name:role:\${VAR:-default}: ${part}`);
    roles.set(m[2], m[1]);
  }
  return roles;
}

describe('provisioning/grafana data sources', () => {
  it('have unique fixed uids and point at compose services', () => {
    expect(new Set(datasources.map((d) => d.uid)).size).toBe(datasources.length);
    expect([...dsByUid.keys()].sort()).toEqual(['alertmanager', 'faultline', 'prometheus']);
    for (const d of datasources) {
      const u = new URL(d.url);
      expect(compose.services[u.hostname]).toBeDefined();
    }
    expect(dsByUid.get('prometheus')).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090', isDefault: true });
  });

  it('configure Faultline as the plugin expects: type = plugin id, exporter URL, token from the environment', () => {
    const fl = dsByUid.get('faultline');
    expect(fl.type).toBe(DATASOURCE_ID);
    expect(fl.url).toBe('http://exporter:9470');
    expect(fl.jsonData).toEqual({ defaultNamespace: 'default' });
    expect(fl.secureJsonData).toEqual({ apiToken: '$FAULTLINE_GRAFANA_TOKEN' });
    // Grafana gets the variable, and the exporter knows that token with a role that may launch and stop.
    expect(compose.services.grafana.environment.FAULTLINE_GRAFANA_TOKEN).toBeDefined();
    expect(exporterTokenRoles().get('FAULTLINE_GRAFANA_TOKEN')).toBe('operator');
  });
});

describe.each(dashboards)('dashboard $file', ({ json: d }) => {
  it('has the fields Grafana needs and unique panel ids', () => {
    expect(d.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(typeof d.title).toBe('string');
    expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
    const ids = d.panels.map((p: any) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of d.panels) {
      expect(['timeseries', 'stat', 'table', PANEL_ID]).toContain(p.type);
      for (const t of p.targets ?? []) expect(t.refId).toBeTruthy();
    }
  });

  it('references only provisioned data sources, with matching types', () => {
    const refs = datasourceRefs(d);
    expect(refs.length).toBeGreaterThan(0);
    for (const { where, ref } of refs) {
      const ds = dsByUid.get(ref?.uid);
      if (!ds) throw new Error(`${where}: data source uid ${JSON.stringify(ref?.uid)} is not provisioned`);
      expect({ where, type: ref.type }).toEqual({ where, type: ds.type });
    }
  });

  it('lays panels out on the 24-column grid without overlaps', () => {
    const boxes = d.panels.map((p: any) => ({ title: p.title, ...p.gridPos }));
    for (const b of boxes) {
      expect(b.x).toBeGreaterThanOrEqual(0);
      expect(b.x + b.w).toBeLessThanOrEqual(24);
      expect(b.h).toBeGreaterThan(0);
    }
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i];
        const b = boxes[j];
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        if (overlap) throw new Error(`panels "${a.title}" and "${b.title}" overlap`);
      }
    }
  });

  it('shows Faultline experiments as annotation regions and has the experiments panel', () => {
    const anno = d.annotations.list.find((a: any) => a.datasource?.uid === 'faultline');
    expect(anno).toMatchObject({ enable: true });
    const panel = d.panels.find((p: any) => p.type === PANEL_ID);
    expect(panel.options.datasource).toBe('faultline');
  });
});

describe('the two dashboards', () => {
  const byUid = Object.fromEntries(dashboards.map(({ json }) => [json.uid, json]));
  const exprs = (d: any) => d.panels.flatMap((p: any) => (p.targets ?? []).map((t: any) => String(t.expr ?? '')));

  it('Faultline overview shows phases, injections, recoveries, aborts, daemons, events and the panel', () => {
    const d = byUid['faultline-overview'];
    expect(d.title).toBe('Faultline overview');
    const all = exprs(d).join('\n');
    for (const metric of ['faultline_experiments', 'faultline_injections_total', 'faultline_recoveries_total', 'faultline_aborts_total', 'faultline_daemon_up', 'faultline_experiment_running', 'faultline_events_total']) {
      expect(all).toContain(metric);
    }
    const events = d.panels.find((p: any) => p.type === 'table' && p.datasource.uid === 'faultline');
    expect(events.targets[0].queryType).toBe('events');
  });

  it('Demo service shows request rate, error ratio and p99 latency of the demo', () => {
    const d = byUid['faultline-demo'];
    expect(d.title).toBe('Demo service');
    const all = exprs(d).join('\n');
    expect(all).toContain('rate(demo_http_requests_total');
    expect(all).toMatch(/code=~"5\.\."/);
    expect(all).toContain('histogram_quantile(0.99, sum by (le, route) (rate(demo_http_request_duration_seconds_bucket');
  });

  it('ship in the app and are loaded by the provider from the installed plugin', () => {
    const provider = readYaml(path.join(GRAFANA, 'dashboards', 'provider.yaml'));
    const mountPath = provider.providers[0].options.path;
    const app = readJson(path.join(REPO, 'src', 'plugin.json'));
    // compose installs dist/ (the app) as <plugins>/<app id>/; the dashboards are in its dashboards/.
    expect(mountPath).toBe(`/var/lib/grafana/plugins/${app.id}/dashboards`);
    expect(compose.services.plugins.command.join(' ')).toContain(`cp -R /app/dist/. /plugins/${app.id}/`);
    const included = app.includes.filter((i: any) => i.type === 'dashboard').map((i: any) => i.path).sort();
    expect(included).toEqual(dashboards.map((d) => `dashboards/${d.file}`).sort());
    expect(compose.services.grafana.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(`${mountPath}/demo-service.json`);
  });

  it('come with the app enabled by provisioning', () => {
    const apps = readYaml(path.join(GRAFANA, 'plugins', 'faultline.yaml')).apps;
    expect(apps).toEqual([expect.objectContaining({ type: readJson(path.join(REPO, 'src', 'plugin.json')).id, disabled: false })]);
    expect(compose.services.grafana.volumes).toContain('./provisioning/grafana/plugins:/etc/grafana/provisioning/plugins:ro');
  });
});

describe('provisioning/grafana alerting', () => {
  const contact = readYaml(path.join(GRAFANA, 'alerting', 'contact-points.yaml'));
  const policies = readYaml(path.join(GRAFANA, 'alerting', 'policies.yaml'));
  const rules = readYaml(path.join(GRAFANA, 'alerting', 'rules.yaml'));

  it('posts to the exporter Grafana alert endpoint with a webhook-only token', () => {
    const cp = contact.contactPoints[0];
    const r = cp.receivers[0];
    expect(r.type).toBe('webhook');
    expect(r.settings).toMatchObject({
      url: 'http://exporter:9470/api/v1/alerts/grafana',
      httpMethod: 'POST',
      authorization_scheme: 'Bearer',
      authorization_credentials: '$FAULTLINE_ALERT_TOKEN',
    });
    expect(compose.services.grafana.environment.FAULTLINE_ALERT_TOKEN).toBeDefined();
    expect(exporterTokenRoles().get('FAULTLINE_ALERT_TOKEN')).toBe('alerting');
    expect(policies.policies[0]).toMatchObject({ receiver: cp.name, group_wait: '0s' });
  });

  it('has DemoHighErrorRate as a Grafana rule twin of the Prometheus rule, on provisioned data sources', () => {
    const promRules = readYaml(path.join(PROVISIONING, 'prometheus', 'rules.yml'));
    const promRule = promRules.groups.flatMap((g: any) => g.rules).find((r: any) => r.alert === 'DemoHighErrorRate');
    const rule = rules.groups[0].rules.find((r: any) => r.title === 'DemoHighErrorRate');
    expect(rule.labels).toEqual(promRule.labels);
    const refIds = rule.data.map((q: any) => q.refId);
    expect(refIds).toContain(rule.condition);
    for (const q of rule.data) expect(q.datasourceUid === '__expr__' || dsByUid.has(q.datasourceUid)).toBe(true);
    const query = rule.data.find((q: any) => q.datasourceUid === 'prometheus');
    const threshold = rule.data.find((q: any) => q.model.type === 'threshold');
    const norm = (s: string) => s.replace(/\s+/g, '');
    // Same PromQL and the same threshold as Prometheus' rule.
    expect(norm(`${query.model.expr}>${threshold.model.conditions[0].evaluator.params[0]}`)).toBe(norm(promRule.expr));
  });
});
