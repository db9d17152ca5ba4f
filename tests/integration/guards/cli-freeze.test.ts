import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli, spawnServer } from '../exporter-helpers';

// `faultline freeze` / `unfreeze` against a real `faultline exporter` started with --tokens-file,
// and the safety flags' bad values (each names the flag; nothing starts).

jest.setTimeout(400_000);

const dir = mkdtempSync(path.join(os.tmpdir(), `fl-cli-freeze-${process.pid}-`));
const OP = `operator-${process.pid}-abcdefghij`;
const ADMIN = `admin-${process.pid}-abcdefghij`;
const VIEWER = `viewer-${process.pid}-abcdefghij`;
let server: { child: ChildProcess; url: string; output: () => string };

beforeAll(async () => {
  writeFileSync(
    path.join(dir, 'tokens.yaml'),
    `tokens:\n  - {name: ci, token: ${OP}, role: operator}\n  - {name: oncall, token: ${ADMIN}, role: admin}\n  - {name: dash, token: ${VIEWER}, role: viewer}\n`,
  );
  server = await spawnServer(['exporter', '--listen', '127.0.0.1:0', '--data-dir', path.join(dir, 'data'), '--tokens-file', path.join(dir, 'tokens.yaml'), '--log-level', 'warn']);
});

afterAll(async () => {
  if (server) {
    const exited = new Promise((r) => server.child.once('exit', r));
    server.child.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

it('freeze --reason --for, a viewer is refused, unfreeze needs admin', async () => {
  const denied = await cli(['freeze', '--reason', 'incident', '--server', server.url, '--token', VIEWER]);
  expect(denied.code).toBe(6);
  expect(denied.stderr).toContain('needs role operator');

  const f = await cli(['freeze', '--reason', 'INC-7 payments', '--for', '2h', '--server', server.url], { FAULTLINE_TOKEN: OP });
  expect(f.code).toBe(0);
  expect(f.stdout).toMatch(/chaos is FROZEN since .* by ci: INC-7 payments \(until /);

  const health = await (await fetch(`${server.url}/api/v1/health`, { headers: { authorization: `Bearer ${VIEWER}` } })).json();
  expect(health.freeze).toMatchObject({ frozen: true, reason: 'INC-7 payments', actor: 'ci' });
  expect(Date.parse(health.freeze.until) - Date.now()).toBeGreaterThan(60 * 60 * 1000);

  const u1 = await cli(['unfreeze', '--server', server.url, '--token', OP]);
  expect(u1.code).toBe(6);
  expect(u1.stderr).toContain('needs role admin');
  const u2 = await cli(['unfreeze', '--server', server.url, '--token', ADMIN]);
  expect(u2.code).toBe(0);
  expect(u2.stdout).toContain('freeze lifted (was set by ci: INC-7 payments)');
  const u3 = await cli(['unfreeze', '--server', server.url, '--token', ADMIN, '-o', 'json']);
  expect(u3.code).toBe(0);
  expect(JSON.parse(u3.stdout)).toEqual({ frozen: false, lifted: null });
});

it('freeze with a bad --for fails before calling anyone (exit 2)', async () => {
  const r = await cli(['freeze', '--reason', 'x', '--for', 'soon', '--server', 'http://127.0.0.1:9']);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('--for: "soon" is not a duration');
});

it('exporter with a bad safety flag refuses to start, naming the flag (the others: tests/unit/guards/safety-flags.test.ts)', async () => {
  const r = await cli(['exporter', '--listen', '127.0.0.1:0', '--data-dir', path.join(dir, 'bad'), '--promql-max-failures', '0']);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain('--promql-max-failures');
  expect(r.stdout).not.toContain('listening');
});
