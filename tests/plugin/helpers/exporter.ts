import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FAULTLINE, Proc, REPO, waitFor } from '../../helpers/stack';

// A real Faultline exporter (with its local daemon) for the data source tests, as its own process:
// `faultline start`, or exporter-main.ts (the same parts plus token auth) when tokens are wanted.
// Loopback, random port, throwaway data dir.

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
  const useCli = !opts.tokens;
  const proc = useCli
    ? new Proc('faultline start', process.execPath, [FAULTLINE, 'start', '--listen', '127.0.0.1:0', '--data-dir', dataDir], { env })
    : new Proc('exporter-main', process.execPath, [path.join(REPO, 'bin/run-ts.js'), path.join(__dirname, 'exporter-main.ts'), dataDir], { env });
  let url: string;
  try {
    url = (await proc.waitForLine(/faultline exporter listening on (http:\/\/127\.0\.0\.1:\d+)/, 180_000))[1];
  } catch (err) {
    await proc.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const api: TestExporter['api'] = async (method, p, body, token = opts.token) => {
    const res = await fetch(url + p, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed };
  };
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
