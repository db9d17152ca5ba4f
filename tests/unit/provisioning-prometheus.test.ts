import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { describeWithTools } from '../helpers/require-tool';
import { PROVISIONING, REPO, readYaml, removeDir, tempDir } from '../helpers/stack';

// provisioning/prometheus and provisioning/alertmanager checked by the real tools (promtool,
// amtool from Debian's prometheus and prometheus-alertmanager packages), including a
// `promtool test rules` run that proves DemoHighErrorRate fires on errors and only then.

const run = promisify(execFile);
// External tools on a loaded machine: generous, never a speed assertion.
jest.setTimeout(60_000);
const PROM_DIR = path.join(PROVISIONING, 'prometheus');
const AM_FILE = path.join(PROVISIONING, 'alertmanager', 'alertmanager.yml');
const RULES = path.join(PROM_DIR, 'rules.yml');

async function tool(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await run(cmd, args, { timeout: 60_000 });
    return { ok: true, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` };
  }
}

function alertRule(name: string): any {
  const rules = readYaml(RULES);
  for (const g of rules.groups) for (const r of g.rules) if (r.alert === name) return r;
  throw new Error(`no alert ${name} in rules.yml`);
}

describeWithTools(['promtool'], 'provisioning/prometheus', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('faultline-promtool');
  });
  afterAll(() => removeDir(dir));

  it('rules.yml passes promtool check rules', async () => {
    const r = await tool('promtool', ['check', 'rules', RULES]);
    expect(r.out).toContain('SUCCESS');
    expect(r.ok).toBe(true);
  });

  it('prometheus.yml passes promtool check config with the files compose mounts in place', async () => {
    // The container paths (/etc/prometheus, /prometheus/secrets) mapped to the repository and a temp dir.
    let text = readFileSync(path.join(PROM_DIR, 'prometheus.yml'), 'utf8');
    text = text.replaceAll('/etc/prometheus/', `${PROM_DIR}/`);
    for (const m of text.matchAll(/\/prometheus\/secrets\/([a-z-]+)/g)) writeFileSync(path.join(dir, m[1]), 'test-token-0123456789');
    text = text.replaceAll('/prometheus/secrets/', `${dir}/`);
    const file = path.join(dir, 'prometheus.yml');
    writeFileSync(file, text);
    const r = await tool('promtool', ['check', 'config', file]);
    expect(r.out).toContain('SUCCESS');
    expect(r.ok).toBe(true);
  });

  it('scrapes the exporter, the daemon and the demo under the compose service names, with tokens from files', () => {
    const cfg = readYaml(path.join(PROM_DIR, 'prometheus.yml'));
    const compose = readYaml(path.join(REPO, 'docker-compose.yaml'));
    const jobs = Object.fromEntries((cfg.scrape_configs as any[]).map((j) => [j.job_name, j]));
    for (const [job, service, port] of [['faultline-exporter', 'exporter', 9470], ['faultline-daemon', 'daemon', 9471], ['demo', 'demo', 9480]] as const) {
      expect(jobs[job]?.static_configs[0].targets).toEqual([`${service}:${port}`]);
      expect(compose.services[service]).toBeDefined();
    }
    expect(jobs['faultline-exporter'].authorization.credentials_file).toMatch(/^\/prometheus\/secrets\//);
    expect(cfg.alerting.alertmanagers[0].static_configs[0].targets).toEqual(['alertmanager:9093']);
    expect(cfg.rule_files).toEqual(['/etc/prometheus/rules.yml']);
  });

  it('DemoHighErrorRate fires at 50% API errors and stays quiet at 5% (promtool test rules)', async () => {
    const rule = alertRule('DemoHighErrorRate');
    expect(rule.labels).toMatchObject({ service: 'demo' });
    expect(rule.for ?? '0s').toBe('0s');
    const series = (route: string, code: string, perStep: number) => ({
      series: `demo_http_requests_total{route="${route}",code="${code}"}`,
      values: `0+${perStep}x40`,
    });
    const test = {
      rule_files: [RULES],
      evaluation_interval: '5s',
      tests: [
        {
          interval: '5s',
          input_series: [
            series('/api/work', '200', 10),
            series('/api/checkout', '502', 10),
            // Scrapes of /metrics are not API traffic and must not dilute the ratio.
            series('/metrics', '200', 1000),
          ],
          alert_rule_test: [
            {
              eval_time: '1m',
              alertname: 'DemoHighErrorRate',
              exp_alerts: [
                {
                  exp_labels: { severity: 'critical', service: 'demo' },
                  exp_annotations: { summary: 'Demo service: 50% of API requests fail', description: rule.annotations.description },
                },
              ],
            },
          ],
        },
        {
          interval: '5s',
          input_series: [series('/api/work', '200', 19), series('/api/work', '500', 1)],
          alert_rule_test: [{ eval_time: '1m', alertname: 'DemoHighErrorRate', exp_alerts: [] }],
        },
        {
          // No traffic at all is not an error ratio (no division by zero into an alert).
          interval: '5s',
          input_series: [series('/api/work', '200', 0), series('/api/work', '500', 0)],
          alert_rule_test: [{ eval_time: '1m', alertname: 'DemoHighErrorRate', exp_alerts: [] }],
        },
        {
          interval: '5s',
          input_series: [{ series: 'up{job="demo",instance="demo:9480",service="demo"}', values: '1 1 0 0 0 0 0 0 0' }],
          alert_rule_test: [
            { eval_time: '10s', alertname: 'DemoDown', exp_alerts: [] },
            {
              eval_time: '40s',
              alertname: 'DemoDown',
              exp_alerts: [
                {
                  exp_labels: { severity: 'critical', service: 'demo', job: 'demo', instance: 'demo:9480' },
                  exp_annotations: { summary: 'Demo service demo:9480 does not answer scrapes' },
                },
              ],
            },
          ],
        },
      ],
    };
    const file = path.join(dir, 'rules.test.yml');
    writeFileSync(file, YAML.stringify(test));
    const r = await tool('promtool', ['test', 'rules', file]);
    expect(r.out).toContain('SUCCESS');
    expect(r.ok).toBe(true);
  });
});

describeWithTools(['amtool'], 'provisioning/alertmanager', () => {
  it('alertmanager.yml passes amtool check-config', async () => {
    const r = await tool('amtool', ['check-config', AM_FILE]);
    expect(r.out).toContain('SUCCESS');
    expect(r.ok).toBe(true);
  });

  it('sends every alert at once to the exporter webhook, authenticated, resolved too', () => {
    const cfg = readYaml(AM_FILE);
    expect(cfg.route.group_wait).toBe('0s');
    const receiver = (cfg.receivers as any[]).find((r) => r.name === cfg.route.receiver);
    expect(receiver.webhook_configs).toHaveLength(1);
    const wh = receiver.webhook_configs[0];
    expect(wh.url).toBe('http://exporter:9470/api/v1/alerts/alertmanager');
    expect(wh.send_resolved).toBe(true);
    expect(wh.http_config.authorization.type).toBe('Bearer');
    expect(wh.http_config.authorization.credentials_file).toMatch(/^\/alertmanager\//);
    expect(cfg.route.routes ?? []).toEqual([]);
  });
});
