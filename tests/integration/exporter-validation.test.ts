import { spawnSleep, startStack, killAll, type Stack } from './exporter-helpers';
import { KIND_SPECS } from '../../api/kinds/index';
import { openapiPath } from '../../exporter/routes/route';
import type { ChildProcess } from 'node:child_process';

// Bad input at every route: 400 naming the field (409 for a taken name), and nothing stored,
// nothing injected, no event recorded.

jest.setTimeout(60_000);

let s: Stack;
let sleeper: ChildProcess;
let pid: number;

beforeAll(async () => {
  s = await startStack();
  sleeper = spawnSleep();
  pid = sleeper.pid!;
});
afterAll(async () => {
  await s?.close();
  killAll([sleeper]);
});

const good = (name: string, spec: Record<string, unknown> = {}) => ({
  metadata: { name },
  spec: { fault: { kind: 'process-pause', params: {} }, targets: { selector: { pids: [pid] } }, duration: '30s', ...spec },
});

async function expectRefused(body: unknown, status: number, field: string | RegExp) {
  const before = (await s.api('GET', '/api/v1/events')).body.items.length;
  const r = await s.api('POST', '/api/v1/experiments', body);
  expect(r.status).toBe(status);
  expect(r.body.error.message).toBeTruthy();
  const fields = (r.body.error.details ?? []).map((d: { field: string }) => d.field);
  if (typeof field === 'string') expect(fields).toContain(field);
  else expect(fields.some((f: string) => field.test(f))).toBe(true);
  expect((await s.api('GET', '/api/v1/events')).body.items.length).toBe(before);
  return r;
}

describe('exporter input validation', () => {
  afterEach(async () => {
    // nothing was stored and the process was never paused
    expect((await s.api('GET', '/api/v1/experiments')).body.items.filter((e: any) => e.metadata.name !== `taken-${process.pid}`)).toEqual([]);
  });

  it('malformed JSON and non-object bodies', async () => {
    await expectRefused('{"metadata":', 400, '/');
    await expectRefused('[1,2]', 400, '/');
    await expectRefused('"text"', 400, '/');
  });

  it('unknown fields anywhere', async () => {
    await expectRefused({ ...good('a'), extra: 1 }, 400, '/extra');
    await expectRefused(good('a', { colour: 'red' }), 400, '/spec/colour');
    await expectRefused({ metadata: { name: 'a', nickname: 'x' }, spec: good('a').spec }, 400, '/metadata/nickname');
    await expectRefused(good('a', { targets: { selector: { pids: [pid], labelSelectors: { app: 'x' } } } }), 400, '/spec/targets/selector/labelSelectors');
  });

  it('names, durations, cron, modes', async () => {
    await expectRefused(good('Bad_Name'), 400, '/metadata/name');
    await expectRefused(good('a', { duration: '5x' }), 400, '/spec/duration');
    await expectRefused(good('a', { duration: 30 }), 400, '/spec/duration');
    await expectRefused(good('a', { duration: '0s' }), 400, '/spec/duration');
    await expectRefused(good('a', { schedule: 'every tuesday' }), 400, '/spec/schedule');
    await expectRefused(good('a'.repeat(60), { schedule: '* * * * *' }), 400, '/metadata/name');
    await expectRefused(good('a', { targets: { selector: { pids: [pid] }, mode: 'some' } }), 400, /^\/spec\/targets\/mode/);
    await expectRefused(good('a', { targets: { selector: { pids: [pid] }, mode: 'fixed' } }), 400, '/spec/targets/value');
    await expectRefused(good('a', { targets: { selector: { pids: [pid] }, mode: 'fixed-percent', value: '150' } }), 400, '/spec/targets/value');
    await expectRefused(good('a', { concurrencyPolicy: 'Sometimes', schedule: '* * * * *' }), 400, /^\/spec\/concurrencyPolicy/);
  });

  it('unknown kinds and params checked against the kind schema', async () => {
    const r = await expectRefused(good('a', { fault: { kind: 'meteor-strike', params: {} } }), 400, '/spec/fault/kind');
    expect(r.body.error.details[0].reason).toMatch(/process-pause/);
    await expectRefused(good('a', { fault: { kind: 'network-loss', params: { percent: 150 } } }), 400, '/spec/fault/params/percent');
    await expectRefused(good('a', { fault: { kind: 'network-loss', params: { percent: '10' } } }), 400, '/spec/fault/params/percent');
    await expectRefused(good('a', { fault: { kind: 'process-pause', params: { force: true } } }), 400, '/spec/fault/params/force');
    await expectRefused(good('a', { fault: { kind: 'pod-kill', params: {} } }), 400, '/spec/fault/kind');
  });

  it('selectors that match nothing, bad regexes, unknown daemons, protected pids', async () => {
    const r = await expectRefused(good('a', { targets: { selector: { processName: `^no-such-process-${process.pid}$` } } }), 400, '/spec/targets/selector');
    expect(r.body.error.message).toMatch(/matches no target/);
    await expectRefused(good('a', { targets: { selector: { pids: [4_000_000] } } }), 400, '/spec/targets/selector');
    await expectRefused(good('a', { targets: { selector: { processName: '(' } } }), 400, '/spec/targets/selector/processName');
    await expectRefused(good('a', { targets: { selector: { pids: [pid], daemons: ['mars'] } } }), 400, '/spec/targets/selector/daemons/0');
    await expectRefused(good('a', { targets: { selector: { pids: [process.pid] } } }), 400, '/spec/targets/selector/pids/0');
    await expectRefused(good('a', { targets: { selector: { netns: ['x'] } } }), 400, '/spec/targets/selector');
  });

  it('a taken name is 409 naming /metadata/name', async () => {
    const name = `taken-${process.pid}`;
    const first = await s.api('POST', '/api/v1/experiments', good(name, { duration: '1ms' }));
    expect(first.status).toBe(201);
    const r = await expectRefused(good(name), 409, '/metadata/name');
    expect(r.body.error.code).toBe('conflict');
    await s.api('DELETE', `/api/v1/experiments/default/${name}`);
  });

  it('queries: unknown filters, bad times, limits, cursors; unknown experiments are 404', async () => {
    for (const [q, field] of [
      ['colour=red', '/query/colour'],
      ['from=yesterday', '/query/from'],
      ['to=12:00', '/query/to'],
      ['limit=0', '/query/limit'],
      ['limit=abc', '/query/limit'],
      ['after=-1', '/query/after'],
      ['from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z', '/query/from'],
    ]) {
      const r = await s.api('GET', `/api/v1/events?${q}`);
      expect(r.status).toBe(400);
      expect(r.body.error.details.map((d: any) => d.field)).toContain(field);
    }
    expect((await s.api('GET', '/api/v1/experiments?colour=red')).status).toBe(400);
    expect((await s.api('GET', '/api/v1/experiments/default/nope')).status).toBe(404);
    expect((await s.api('POST', '/api/v1/experiments/default/nope/pause')).status).toBe(404);
    expect((await s.api('DELETE', '/api/v1/experiments/default/nope')).status).toBe(404);
    expect((await s.api('GET', '/api/v1/nothing-here')).status).toBe(404);
  });
});

describe('read-only routes keep the shapes the data source reads', () => {
  it('health, kinds, targets, openapi', async () => {
    const h = (await s.api('GET', '/api/v1/health')).body;
    expect(h).toMatchObject({ status: 'ok', name: 'faultline-exporter', daemons: [{ name: 'local', up: true }] });
    const kinds = (await s.api('GET', '/api/v1/kinds')).body.items;
    const pause = kinds.find((k: any) => k.kind === 'process-pause');
    expect(pause).toMatchObject({ scope: 'process', targetRequired: true, support: [{ daemon: 'local', supported: true }] });
    // every kind with the params schema of api/kinds, as JSON (what the panel's form is built from)
    expect(kinds.map((k: any) => [k.kind, k.schema])).toEqual(KIND_SPECS.map((k) => [k.kind, JSON.parse(JSON.stringify(k.params))]));
    expect(kinds.find((k: any) => k.kind === 'network-loss').schema.properties.percent).toMatchObject({ type: 'number', minimum: 0, maximum: 100 });
    const targets = (await s.api('GET', '/api/v1/targets')).body.items;
    expect(targets.find((t: any) => t.pid === pid)).toMatchObject({ daemon: 'local', processName: 'sleep' });
    expect(targets.find((t: any) => t.pid === process.pid)).toBeUndefined(); // the exporter is never a candidate
    const doc = (await s.api('GET', '/api/v1/openapi.json')).body;
    expect(doc.openapi).toBe('3.1.0');
    // one operation per route of the table (exporter-routes.test.ts checks each operation's details)
    const ops = Object.entries<Record<string, unknown>>(doc.paths).flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`));
    expect(ops.sort()).toEqual(s.ex.routes.map((r) => `${r.method} ${openapiPath(r.path)}`).sort());
    expect(doc.paths['/api/v1/experiments'].post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ExperimentInput' });
    expect(doc.components.schemas.ExperimentInput.properties.spec.required).toEqual(expect.arrayContaining(['fault', 'duration']));
  });
});
