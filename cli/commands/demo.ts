import { Option, type Command } from 'commander';
import pino from 'pino';
import { ApiError } from '../../api/errors';
import { parseDemoConfig } from '../../demo/config';
import { startDemo } from '../../demo/index';

// `faultline demo`: a small HTTP service with Prometheus metrics and its own steady load, to see
// Faultline's faults on a dashboard (see provisioning/ and the README's "Try it").

const FLAGS: Record<string, string> = {
  listen: '--listen',
  backend: '--backend',
  backendListen: '--backend-listen',
  backendTimeout: '--backend-timeout',
  load: '--load',
  concurrency: '--concurrency',
  work: '--work',
  errorRatio: '--error-ratio',
  latency: '--latency',
};

/** Plain words for the schema's pattern failures. */
const HINTS: Record<string, string> = {
  listen: 'must be HOST:PORT, e.g. 127.0.0.1:9480 or 0.0.0.0:9480',
  backendListen: 'must be HOST:PORT, e.g. 127.0.0.1:9481',
  backend: 'must be an http:// or https:// URL',
  backendTimeout: 'must be a duration such as 500ms, 2s, 1m',
  latency: 'must be a duration such as 0s, 200ms, 2s',
};

/** Numbers from the command line; anything else stays a string so the schema names the flag. */
const numberish = (v: string): number | string => (/^-?[0-9]+(\.[0-9]+)?$/.test(v.trim()) ? Number(v) : v);

export function registerDemo(program: Command): void {
  const opt = (flags: string, description: string, env: string) => new Option(flags, description).env(env);
  program
    .command('demo')
    .description('run the demo service: HTTP API with Prometheus metrics, a backend over TCP and a built-in load generator')
    .addOption(opt('--listen <host:port>', 'where the demo service listens (default 127.0.0.1:9480)', 'FAULTLINE_DEMO_LISTEN'))
    .addOption(opt('--backend <url>', 'an external backend for /api/checkout (default: a built-in one)', 'FAULTLINE_DEMO_BACKEND'))
    .addOption(opt('--backend-listen <host:port>', 'where the built-in backend listens (default 127.0.0.1:9481)', 'FAULTLINE_DEMO_BACKEND_LISTEN'))
    .addOption(opt('--backend-timeout <duration>', 'how long /api/checkout waits for the backend (default 1s)', 'FAULTLINE_DEMO_BACKEND_TIMEOUT'))
    .addOption(opt('--load <rps>', 'requests per second of the built-in load generator, 0 = off (default 20)', 'FAULTLINE_DEMO_LOAD'))
    .addOption(opt('--concurrency <n>', 'at most this many load requests in flight (default 16)', 'FAULTLINE_DEMO_CONCURRENCY'))
    .addOption(opt('--work <rounds>', 'SHA-256 rounds of CPU work per /api/work request (default 2000)', 'FAULTLINE_DEMO_WORK'))
    .addOption(opt('--error-ratio <0..1>', 'share of API requests failed on purpose (default 0; also PUT /admin/settings)', 'FAULTLINE_DEMO_ERROR_RATIO'))
    .addOption(opt('--latency <duration>', 'extra latency per API request (default 0s; also PUT /admin/settings)', 'FAULTLINE_DEMO_LATENCY'))
    .action(async (opts: Record<string, string | undefined>) => {
      const input: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(opts)) {
        if (value === undefined) continue;
        input[key] = ['load', 'concurrency', 'work', 'errorRatio'].includes(key) ? numberish(value) : value;
      }
      let config;
      try {
        config = parseDemoConfig(input);
      } catch (err) {
        if (err instanceof ApiError && err.details?.length) {
          // Name the flag, not the JSON pointer: "--load: must be <= 1000".
          const lines = new Set<string>();
          for (const d of err.details) {
            const key = d.field.replace(/^\//, '').split('/')[0];
            const reason = /^must (match|be a valid)/.test(d.reason) && HINTS[key] ? HINTS[key] : d.reason;
            lines.add(`${FLAGS[key] ?? d.field}: ${reason}`);
          }
          throw new Error(`invalid demo options:\n  ${[...lines].join('\n  ')}`);
        }
        throw err;
      }
      const log = pino({ name: 'faultline-demo' });
      const demo = await startDemo(config, log);
      log.info({ url: demo.url, backendUrl: demo.backendUrl, load: config.load }, 'demo listening');
      const stop = async (signal: string) => {
        log.info({ signal }, 'demo stopping');
        await demo.close();
        process.exit(0);
      };
      process.once('SIGTERM', () => void stop('SIGTERM'));
      process.once('SIGINT', () => void stop('SIGINT'));
    });
}
