import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createExporter, type Exporter, type ExporterOptions } from './app';
import { Gauge } from 'prom-client';
import { lockDataDir } from './store/lock';
import { groupCommit } from './store/group-commit';
import { Retention, type RetentionOptions } from './store/retention';

// The exporter as a library: `faultline exporter` and `faultline start` call startExporter.

export interface StartOptions extends ExporterOptions, RetentionOptions {
  /** "host:port"; port 0 picks a free one. */
  listen: string;
}

export interface RunningExporter extends Exporter {
  url: string;
  /**
   * Graceful stop: stop accepting requests, then either recover every running experiment
   * (`recover: true`, the default) or leave them to their leases and the next start, then close the DB.
   */
  close(opts?: { recover?: boolean }): Promise<void>;
  /** The retention loop (store/retention.ts); run() does a pass now. */
  retention: Retention;
}

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):([0-9]{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`--listen "${text}" is not HOST:PORT (e.g. 127.0.0.1:9470)`);
  return { host: m[1] ?? m[2], port };
}

export async function startExporter(o: StartOptions): Promise<RunningExporter> {
  const addr = parseListen(o.listen);
  const lock = lockDataDir(o.dataDir); // before the database is opened: a second exporter changes nothing
  let ex: Exporter;
  const server = http.createServer();
  try {
    ex = createExporter(o);
    server.on('request', ex.app);
    await ex.daemons.init();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(addr.port, addr.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    lock.release();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const url = `http://${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${port}`;
  const retention = new Retention(ex.db, o, ex.log);
  new Gauge({
    name: 'faultline_retention_deleted',
    help: 'Rows deleted by retention since start (--retention, --max-events, --max-ended-runs), by table',
    labelNames: ['table'],
    registers: [ex.metrics.registry],
    collect() {
      for (const [table, n] of Object.entries(retention.deleted)) this.set({ table }, n);
    },
  });
  const rec = await ex.engine.reconcile();
  const workflowsAborted = await ex.workflows.reconcile();
  ex.log.info({ url, dataDir: o.dataDir, daemons: ex.daemons.clients.map((c) => `${c.name} ${c.base}${c.up ? '' : ' (down)'}`), ...rec, workflowsAborted }, 'faultline exporter listening');

  let closing: Promise<void> | undefined;
  const close = (opts: { recover?: boolean } = {}) =>
    (closing ??= (async () => {
      // Stop accepting first; event streams are ended so server.close can finish.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      ex.scheduler.close();
      retention.close();
      ex.safety.close();
      ex.stopPeerRefresh();
      server.closeIdleConnections();
      await ex.workflows.close();
      ex.bus.close();
      await ex.engine.shutdown({ recover: opts.recover ?? true });
      server.closeAllConnections();
      await closed;
      ex.daemons.close();
      groupCommit(ex.db).commit();
      ex.experiments.health.close();
      ex.db.close();
      lock.release();
    })());
  return { ...ex, url, close, retention };
}
