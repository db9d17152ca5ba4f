import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { freePort } from './http';
import { Proc as BaseProc } from './proc';
import { waitUntil } from './wait';

export { freePort };

// Helpers for the stack tests: real processes (faultline demo / start, prometheus, alertmanager)
// on random loopback ports, and the provisioning files rewritten the way a user without Docker
// would (compose host names → 127.0.0.1 ports). Everything lives in temp dirs and is stopped by
// the caller in afterAll.

export const REPO = path.resolve(__dirname, '../..');
export const PROVISIONING = path.join(REPO, 'provisioning');

export { tempDir, removeDir } from './tmp';
export { startAlertmanager, startPrometheus } from './proc';

export function readYaml<T = any>(file: string): T {
  return YAML.parse(readFileSync(file, 'utf8'), { merge: true }) as T;
}

export function readJson<T = any>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}


export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until truthy (see ./wait); lives there so benchmarks can import it without this file's __dirname. */
export const waitFor = waitUntil;

/** A child process with its output kept (./proc.ts), started in the repository unless told otherwise. */
export class Proc extends BaseProc {
  constructor(name: string, cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
    super(name, cmd, args, { cwd: REPO, ...opts });
  }
}

export const FAULTLINE = path.join(REPO, 'bin', 'faultline.js');

/** `faultline demo` on random loopback ports; resolves once it says where it listens. */
export async function startDemoProcess(extra: string[] = []): Promise<{ proc: Proc; url: string; backendUrl: string }> {
  const proc = new Proc('faultline demo', process.execPath, [FAULTLINE, 'demo', '--listen', '127.0.0.1:0', '--backend-listen', '127.0.0.1:0', ...extra]);
  const m = await proc.waitForLine(/^(\{.*"msg":"demo listening".*\})$/m, 60_000);
  const line = JSON.parse(m[1]) as { url: string; backendUrl: string };
  return { proc, url: line.url, backendUrl: line.backendUrl };
}

export interface PrometheusRewrite {
  /** job name → "127.0.0.1:PORT"; jobs not listed are dropped (their service is not running). */
  targets: Record<string, string>;
  alertmanager?: string;
  /** credentials_file basename (e.g. exporter-token) → the secret to write into a temp file. */
  credentials?: Record<string, string>;
  dir: string;
  interval?: string;
}

/**
 * provisioning/prometheus/prometheus.yml as a user without Docker runs it: compose host names
 * replaced by loopback ports, the rules file by its path in the repository, token files written
 * to `dir`, and (for tests) shorter scrape and evaluation intervals.
 */
export function rewritePrometheusConfig(r: PrometheusRewrite): string {
  const cfg = readYaml(path.join(PROVISIONING, 'prometheus', 'prometheus.yml'));
  const interval = r.interval ?? '1s';
  cfg.global.scrape_interval = interval;
  cfg.global.evaluation_interval = interval;
  cfg.global.scrape_timeout = interval;
  cfg.rule_files = (cfg.rule_files as string[]).map((f) => path.join(PROVISIONING, 'prometheus', path.basename(f)));
  if (r.alertmanager) cfg.alerting.alertmanagers[0].static_configs[0].targets = [r.alertmanager];
  else delete cfg.alerting;
  cfg.scrape_configs = (cfg.scrape_configs as any[])
    .filter((job) => r.targets[job.job_name])
    .map((job) => {
      job.static_configs = job.static_configs.map((sc: any) => ({ ...sc, targets: [r.targets[job.job_name]] }));
      const cred = job.authorization?.credentials_file as string | undefined;
      if (cred) {
        const secret = r.credentials?.[path.basename(cred)];
        if (secret === undefined) delete job.authorization;
        else {
          const file = path.join(r.dir, path.basename(cred));
          writeFileSync(file, secret, { mode: 0o600 });
          job.authorization.credentials_file = file;
        }
      }
      return job;
    });
  return YAML.stringify(cfg);
}

/** provisioning/alertmanager/alertmanager.yml with the exporter's loopback URL and a temp token file. */
export function rewriteAlertmanagerConfig(exporterUrl: string, token: string, dir: string): string {
  const cfg = readYaml(path.join(PROVISIONING, 'alertmanager', 'alertmanager.yml'));
  const tokenFile = path.join(dir, 'faultline-token');
  writeFileSync(tokenFile, token, { mode: 0o600 });
  for (const receiver of cfg.receivers) {
    for (const wh of receiver.webhook_configs ?? []) {
      wh.url = exporterUrl + new URL(wh.url).pathname;
      if (wh.http_config?.authorization?.credentials_file) wh.http_config.authorization.credentials_file = tokenFile;
    }
  }
  return YAML.stringify(cfg);
}

export interface PromExpr {
  where: string;
  expr: string;
}

/** Grafana's template variables replaced by values Prometheus accepts, as Grafana would send them. */
export function substituteGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}/g, '20s')
    .replace(/\$__interval|\$\{__interval\}/g, '5s')
    .replace(/\$__range|\$\{__range\}/g, '5m')
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*(:[a-z]+)?\}?/g, '.*');
}

/** Every PromQL expression the stack ships: dashboard panels and annotations, Prometheus rules, Grafana alert rules. */
export function collectPromExpressions(): PromExpr[] {
  const out: PromExpr[] = [];
  const dashDir = path.join(REPO, 'src', 'dashboards'); // shipped in the app plugin
  for (const file of ['faultline-overview.json', 'demo-service.json']) {
    const d = readJson(path.join(dashDir, file));
    for (const p of d.panels ?? []) {
      for (const t of p.targets ?? []) if (typeof t.expr === 'string') out.push({ where: `${file} panel "${p.title}" ${t.refId}`, expr: t.expr });
    }
    for (const a of d.annotations?.list ?? []) if (typeof a.expr === 'string') out.push({ where: `${file} annotation "${a.name}"`, expr: a.expr });
  }
  const rules = readYaml(path.join(PROVISIONING, 'prometheus', 'rules.yml'));
  for (const g of rules.groups) for (const r of g.rules) out.push({ where: `rules.yml ${r.alert ?? r.record}`, expr: r.expr });
  const grafanaRules = readYaml(path.join(PROVISIONING, 'grafana', 'alerting', 'rules.yaml'));
  for (const g of grafanaRules.groups) {
    for (const r of g.rules) for (const d of r.data) if (d.datasourceUid === 'prometheus') out.push({ where: `grafana rule ${r.title} ${d.refId}`, expr: d.model.expr });
  }
  return out;
}

/**
 * `faultline start` (exporter with its embedded daemon) on a loopback port, data in `dataDir`,
 * with FAULTLINE_TOKENS set to `tokens` (name:role:secret,...). Ready when /api/v1/health answers
 * the `probeToken`.
 */
export async function startExporterProcess(dataDir: string, tokens: string, probeToken: string): Promise<{ proc: Proc; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = new Proc('faultline start', process.execPath, [FAULTLINE, 'start', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir], {
    env: { FAULTLINE_TOKENS: tokens },
  });
  await waitFor('exporter health', async () => {
    if (!proc.running) throw new Error(`faultline start exited:\n${proc.output().slice(-4000)}`);
    return (await fetch(`${url}/api/v1/health`, { headers: { authorization: `Bearer ${probeToken}` } })).ok;
  }, 90_000);
  return { proc, url };
}
