import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { createDemoApp } from './app';
import { startBackend, type Backend } from './backend';
import { durationMs, splitListen, type DemoConfig, type DemoSettings } from './config';
import { startLoad } from './load';
import { createDemoMetrics } from './demo-metrics';

// `faultline demo`: the demo service, its backend process (unless --backend names another) and
// the load generator, started together and stopped together.

export interface RunningDemo {
  url: string;
  backendUrl: string;
  /** The built-in backend process (undefined with --backend URL). */
  backend?: Backend;
  settings: DemoSettings;
  close(): Promise<void>;
}

export async function startDemo(config: DemoConfig, log: Logger = pino({ name: 'faultline-demo' })): Promise<RunningDemo> {
  const settings: DemoSettings = { errorRatio: config.errorRatio, latency: config.latency };
  let backend: Backend | undefined;
  if (!config.backend) {
    const b = splitListen(config.backendListen);
    backend = await startBackend(b.host, b.port, log);
  }
  const backendUrl = config.backend ?? backend!.url;

  let inFlight = () => 0;
  const metrics = createDemoMetrics(() => ({ errorRatio: settings.errorRatio, latencyMs: durationMs(settings.latency) }), () => inFlight(), backend);
  const app = createDemoApp({ metrics, settings, backendUrl, backend, backendTimeoutMs: durationMs(config.backendTimeout), work: config.work, log });

  const { host, port } = splitListen(config.listen);
  const server = http.createServer(app);
  server.keepAliveTimeout = 30_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  } catch (err) {
    await backend?.close();
    throw err;
  }
  const addr = server.address() as AddressInfo;
  // The load generator calls the service where it really listens; 0.0.0.0/:: are not addresses to call.
  const callHost = addr.address === '0.0.0.0' ? '127.0.0.1' : addr.address === '::' ? '[::1]' : addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${callHost}:${addr.port}`;
  const load = startLoad(url, config.load, config.concurrency, metrics);
  inFlight = load.inFlight;

  return {
    url,
    backendUrl,
    backend,
    settings,
    async close() {
      await load.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await backend?.close();
    },
  };
}
