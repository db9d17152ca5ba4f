import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from '../../helpers/http';
import { FAULTLINE, Proc, waitFor } from '../../helpers/stack';

// A real Faultline exporter for the data source tests: `faultline start` (exporter + embedded
// daemon) as its own process, loopback, random port, throwaway data dir; FAULTLINE_TOKENS
// (name:role:secret,...) when the test wants token auth.

export interface TestExporter {
  url: string;
  proc: Proc;
  dataDir: string;
  /** JSON request straight to the exporter (test setup, not through the data source). */
  api(method: string, p: string, body?: unknown, token?: string): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

export async function startTestExporter(opts: { tokens?: string; token?: string } = {}): Promise<TestExporter> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `fl-ds-${process.pid}-`));
  const env = { FAULTLINE_TOKENS: opts.tokens ?? '', FAULTLINE_LOG_LEVEL: 'warn' };
  const proc = new Proc('faultline start', process.execPath, [FAULTLINE, 'start', '--listen', '127.0.0.1:0', '--data-dir', dataDir], { env });
  let url: string;
  try {
    url = (await proc.waitForLine(/faultline exporter listening on (http:\/\/127\.0\.0\.1:\d+)/, 180_000))[1];
  } catch (err) {
    await proc.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const api: TestExporter['api'] = (method, p, body, token = opts.token) => request(url, method, p, body, { token });
  await waitFor('exporter health', async () => (await api('GET', '/api/v1/health')).status === 200, 30_000);
  return {
    url,
    proc,
    dataDir,
    api,
    async stop() {
      await proc.stop(10_000);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
