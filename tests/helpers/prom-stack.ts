import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import YAML from 'yaml';
import { freePort } from './http';
import { startAlertmanager, startPrometheus, type Proc } from './proc';
import { removeDir, tempDir } from './tmp';
import { waitUntil } from './wait';

// Real Prometheus and Alertmanager (Debian packages) for guard tests: temp dirs, 127.0.0.1 on
// random ports, 1 s scrape/evaluation, group_wait 0s; plus a tiny /metrics server whose value
// the test sets. Everything is stopped by stop() (call it in afterAll / finally).


/** `waitUntil` from ./wait with this file's defaults (60 s deadline, 100 ms between polls). */
export function pollUntil<T>(what: string, fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  return waitUntil(what, fn, timeoutMs, everyMs);
}

/** A /metrics endpoint serving gauges the test sets. */
export class MetricSource {
  readonly values = new Map<string, number>();
  private server!: http.Server;
  port = 0;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      const lines = [...this.values].map(([k, v]) => `# TYPE ${k} gauge\n${k} ${v}`);
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(lines.join('\n') + '\n');
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  set(name: string, v: number): void {
    this.values.set(name, v);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
}

export interface WebhookReceiver {
  /** Full URL Alertmanager posts to. */
  url: string;
  /** Sent as `Authorization: Bearer` (http_config.authorization). */
  bearer?: string;
  /** Sent as basic auth (http_config.basic_auth). */
  basic?: { username: string; password: string };
}

export class PromStack {
  readonly dir = tempDir('promstack');
  promPort = 0;
  amPort = 0;
  private prom?: Proc;
  private am?: Proc;

  get prometheusUrl(): string {
    return `http://127.0.0.1:${this.promPort}`;
  }
  get alertmanagerUrl(): string {
    return `http://127.0.0.1:${this.amPort}`;
  }

  /** Starts Alertmanager (when a receiver is given) and Prometheus scraping `targets`. */
  async start(opts: { targets: number[]; rules?: AlertRule[]; receiver?: WebhookReceiver; promPort?: number }): Promise<void> {
    if (opts.receiver) {
      this.amPort = await freePort();
      const httpConfig = opts.receiver.bearer
        ? { authorization: { type: 'Bearer', credentials: opts.receiver.bearer } }
        : opts.receiver.basic
          ? { basic_auth: opts.receiver.basic }
          : undefined;
      const amConfig = {
        route: { receiver: 'faultline', group_by: ['...'], group_wait: '0s', group_interval: '1s', repeat_interval: '1h' },
        receivers: [{ name: 'faultline', webhook_configs: [{ url: opts.receiver.url, send_resolved: true, ...(httpConfig ? { http_config: httpConfig } : {}) }] }],
      };
      this.am = (await startAlertmanager(path.join(this.dir, 'am'), YAML.stringify(amConfig), this.amPort)).proc;
    }
    this.promPort = opts.promPort ?? (await freePort());
    writeFileSync(path.join(this.dir, 'rules.yml'), YAML.stringify({ groups: [{ name: 'faultline-test', interval: '1s', rules: opts.rules ?? [] }] }));
    const promConfig = {
      global: { scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '900ms' },
      rule_files: [path.join(this.dir, 'rules.yml')],
      ...(this.amPort ? { alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${this.amPort}`] }] }] } } : {}),
      scrape_configs: [{ job_name: 'target', static_configs: [{ targets: opts.targets.map((p) => `127.0.0.1:${p}`) }] }],
    };
    // alerts are sent again every second while they fire (the default minute outlasts a test)
    this.prom = (await startPrometheus(path.join(this.dir, 'prom'), YAML.stringify(promConfig), this.promPort, ['--rules.alert.resend-delay=1s'])).proc;
  }

  /** Resolves once Prometheus has scraped `expr` with a result (so rules see the value). */
  async waitForQuery(expr: string, pred: (v: number) => boolean = () => true, timeoutMs = 60_000): Promise<number> {
    return pollUntil(`prometheus query ${expr}`, async () => {
      const r = (await (await fetch(`${this.prometheusUrl}/api/v1/query?${new URLSearchParams({ query: expr })}`)).json()) as {
        data: { result: { value: [number, string] }[] };
      };
      const v = r.data.result[0] ? Number(r.data.result[0].value[1]) : undefined;
      return v !== undefined && pred(v) ? { v } : undefined;
    }, timeoutMs).then((x) => x.v);
  }

  async stopPrometheus(): Promise<void> {
    await this.prom?.stop();
  }

  async stop(): Promise<void> {
    await Promise.all([this.prom?.stop(), this.am?.stop()]);
    removeDir(this.dir);
  }

  get logs(): string {
    return `--- prometheus\n${this.prom?.output() ?? ''}\n--- alertmanager\n${this.am?.output() ?? ''}`;
  }
}
