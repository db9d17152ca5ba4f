import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { removeDir } from '../helpers/stack';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { cli, killAll, procState, request, restartableStart, startStack, tempDir, waitFor, workflowIn, type Stack, sleepers } from './exporter-helpers';

// Workflows with real faults: process-pause on sleeps the test spawned (state T while the step runs),
// a real HTTP server for checks, and a real exporter process killed with -9 mid-workflow.

jest.setTimeout(300_000);

const { procs, spawn: sleeper } = sleepers();
const pause = (name: string, pid: number, duration: string) => ({
  name,
  experiment: { spec: { fault: { kind: 'process-pause', params: {} }, targets: { selector: { pids: [pid], daemons: ['local'] }, mode: 'all' }, duration } },
});
const workflow = (name: string, steps: unknown[], extra: Record<string, unknown> = {}) => ({ kind: 'Workflow', metadata: { name }, spec: { steps, ...extra } });

let s: Stack;
let checkServer: http.Server;
let checkUrl: string;

beforeAll(async () => {
  s = await startStack();
  checkServer = http.createServer((req, res) => res.writeHead(req.url === '/ok' ? 200 : 500).end());
  await new Promise<void>((r) => checkServer.listen(0, '127.0.0.1', r));
  checkUrl = `http://127.0.0.1:${(checkServer.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await s?.close();
  checkServer?.close();
  killAll(procs);
});

const until = (name: string, phases: string[]) => workflowIn(s.api, name, phases);

describe('workflows', () => {
  it('runs serial steps: a real fault, a suspend and an HTTP check; status and events per step', async () => {
    const pid = sleeper();
    const name = `wf-serial-${process.pid}`;
    const r = await s.api('POST', '/api/v1/workflows', workflow(name, [pause('pause', pid, '3s'), { name: 'wait', suspend: { duration: '500ms' } }, { name: 'healthy', check: { http: { url: `${checkUrl}/ok` }, timeout: '5s', interval: '200ms' } }]));
    expect(r.status).toBe(201);
    await waitFor('the process paused by the first step', () => procState(pid) === 'T', 60_000);
    const done = await until(name, ['Succeeded', 'Failed', 'Aborted']);
    expect(done.status.phase).toBe('Succeeded');
    expect(procState(pid)).not.toBe('T');
    expect(done.status.steps.map((x: { path: string; phase: string }) => [x.path, x.phase])).toEqual([
      ['pause', 'Succeeded'],
      ['wait', 'Succeeded'],
      ['healthy', 'Succeeded'],
    ]);
    const exp = (await s.api('GET', `/api/v1/experiments/default/${name}-pause`)).body;
    expect(exp.status.phase).toBe('Finished');
    expect(exp.metadata.annotations['faultline.dev/workflow']).toBe(name);
    const events = (await s.api('GET', `/api/v1/events?experiment=${name}&limit=100`)).body.items.map((e: { type: string; target?: string }) => `${e.type}:${e.target ?? ''}`);
    expect(events).toEqual(expect.arrayContaining(['workflow-started:', 'step-started:pause', 'step-succeeded:pause', 'step-succeeded:healthy', 'workflow-succeeded:']));
  });

  it('a failing check in a parallel group aborts the workflow and recovers the fault still running beside it', async () => {
    const pid = sleeper();
    const name = `wf-par-${process.pid}`;
    await s.api('POST', '/api/v1/workflows', workflow(name, [{ name: 'group', parallel: { steps: [pause('long', pid, '5m'), { name: 'probe', check: { http: { url: `${checkUrl}/broken` }, timeout: '2s', interval: '200ms', onFailure: 'abort' } }] } }]));
    await waitFor('paused', () => procState(pid) === 'T', 60_000);
    const done = await until(name, ['Succeeded', 'Failed', 'Aborted']);
    expect(done.status.phase).toBe('Aborted');
    expect(done.status.message).toMatch(/check did not pass within 2s: GET .*\/broken → 500/);
    await waitFor('the parallel fault recovered', () => procState(pid) !== 'T', 60_000);
    expect((await s.api('GET', `/api/v1/experiments/default/${name}-group-long`)).body.status.phase).toBe('Aborted');
  });

  it('a step past its deadline fails the workflow; later steps are skipped', async () => {
    const name = `wf-deadline-${process.pid}`;
    await s.api('POST', '/api/v1/workflows', workflow(name, [{ name: 'slow', deadline: '300ms', suspend: { duration: '1m' } }, { name: 'never', suspend: { duration: '1s' } }]));
    const done = await until(name, ['Succeeded', 'Failed', 'Aborted']);
    expect(done.status.phase).toBe('Failed');
    expect(done.status.steps.map((x: { phase: string }) => x.phase)).toEqual(['Failed', 'Skipped']);
    expect(done.status.message).toMatch(/deadline of 0.3s exceeded/);
  });

  it('abort through the API stops the running fault', async () => {
    const pid = sleeper();
    const name = `wf-abort-${process.pid}`;
    await s.api('POST', '/api/v1/workflows', workflow(name, [pause('p', pid, '5m')]));
    await waitFor('paused', () => procState(pid) === 'T', 60_000);
    const r = await s.api('POST', `/api/v1/workflows/default/${name}/abort`);
    expect(r.status).toBe(200);
    expect(r.body.status.phase).toBe('Aborted');
    await waitFor('recovered', () => procState(pid) !== 'T', 60_000);
  });

  it.each([
    ['a step with no type', [{ name: 'x' }], '/spec/steps/0'],
    ['a step with two types', [{ name: 'x', suspend: { duration: '1s' }, check: { http: { url: 'http://127.0.0.1:1/' } } }], '/spec/steps/0'],
    ['twice the same name', [{ name: 'x', suspend: { duration: '1s' } }, { name: 'x', suspend: { duration: '1s' } }], '/spec/steps/1/name'],
    ['a bad fault param', [{ name: 'x', experiment: { spec: { fault: { kind: 'network-loss', params: { percent: 101 } }, duration: '1s' } } }], '/spec/steps/0/experiment/spec/fault/params/percent'],
    ['a PromQL check without --prometheus-url', [{ name: 'x', check: { promql: { expr: 'up' } } }], '/spec/steps/0/check/promql'],
    ['a bad duration', [{ name: 'x', suspend: { duration: 'soon' } }], '/spec/steps/0/suspend/duration'],
    ['an unknown field', [{ name: 'x', suspend: { duration: '1s' }, color: 'red' }], '/spec/steps/0/color'],
  ])('refuses %s with 400 naming the field, and stores nothing', async (_what, steps, field) => {
    const name = `wf-bad-${process.pid}`;
    const r = await s.api('POST', '/api/v1/workflows', workflow(name, steps as unknown[]));
    expect(r.status).toBe(400);
    expect(r.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    expect((await s.api('GET', `/api/v1/workflows/default/${name}`)).status).toBe(404);
  });

  it('refuses a name that exists with 409', async () => {
    const name = `wf-dup-${process.pid}`;
    expect((await s.api('POST', '/api/v1/workflows', workflow(name, [{ name: 'a', suspend: { duration: '10ms' } }]))).status).toBe(201);
    expect((await s.api('POST', '/api/v1/workflows', workflow(name, [{ name: 'a', suspend: { duration: '10ms' } }]))).status).toBe(409);
  });
});

describe('faultline run -f workflow.yaml --wait', () => {
  it('exits 0 when the workflow succeeds and 8 when a check fails it, printing the steps', async () => {
    const dir = tempDir('wf-cli');
    try {
      const ok = path.join(dir, 'ok.yaml');
      const bad = path.join(dir, 'bad.yaml');
      writeFileSync(ok, YAML.stringify(workflow(`wf-cli-ok-${process.pid}`, [{ name: 'wait', suspend: { duration: '200ms' } }, { name: 'probe', check: { http: { url: `${checkUrl}/ok` } } }])));
      writeFileSync(bad, YAML.stringify(workflow(`wf-cli-bad-${process.pid}`, [{ name: 'probe', check: { http: { url: `${checkUrl}/broken` }, timeout: '500ms', interval: '100ms' } }])));
      const env = { FAULTLINE_SERVER: s.url };
      let r = await cli(['run', '-f', ok, '--wait'], env);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/result: Succeeded/);
      r = await cli(['run', '-f', bad, '--wait'], env);
      expect(r.code).toBe(8);
      expect(r.stdout).toMatch(/probe\s+check\s+Failed/);
      r = await cli(['get', 'workflows'], env);
      expect(r.stdout).toContain(`wf-cli-bad-${process.pid}`);
    } finally {
      removeDir(dir);
    }
  });
});

describe('workflow across an exporter kill -9', () => {
  it('is aborted cleanly at restart, and its fault is reverted', async () => {
    const dir = tempDir('wf-restart');
    const pid = sleeper();
    const x = await restartableStart(dir);
    try {
      await x.start();
      const name = `wf-crash-${process.pid}`;
      const r = await request(x.url, 'POST', '/api/v1/workflows', workflow(name, [{ ...pause('p', pid, '5m'), experiment: { spec: { ...pause('p', pid, '5m').experiment.spec, targets: { selector: { pids: [pid] }, mode: 'all' } } } }]));
      expect(r.status).toBe(201);
      await waitFor('paused', () => procState(pid) === 'T', 60_000);
      await x.kill9();
      await x.start();
      const w = await waitFor('workflow aborted', async () => {
        const b = (await request(x.url, 'GET', `/api/v1/workflows/default/${name}`)).body as { status: { phase: string; reason?: string } };
        return b.status.phase === 'Aborted' ? b : undefined;
      }, 60_000);
      expect(w.status.reason).toBe('ExporterRestarted');
      await waitFor('recovered after restart', () => procState(pid) !== 'T', 60_000);
    } finally {
      await x.stop();
      removeDir(dir);
    }
  });
});
