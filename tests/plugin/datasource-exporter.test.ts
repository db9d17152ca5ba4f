/** @jest-environment ./tests/plugin/jsdom-with-fetch.cjs */
import { spawn, type ChildProcess } from 'node:child_process';
import { dateTime, FieldType, LoadingState, type DataFrame, type DataQueryRequest, type DataQueryResponse } from '@grafana/data';
import { firstValueFrom, lastValueFrom, map, take, toArray, type Subscription } from 'rxjs';
import { DataSource } from '../../src/datasource/datasource';
import { OUTCOME_COLORS } from '../../src/datasource/frames';
import { sseStream } from '../../src/client/sse';
import type { Experiment, ExperimentInput, FaultlineEvent, FaultlineOptions, FaultlineQuery } from '../../src/datasource/types';
import { installGrafana, type GrafanaStub } from './helpers/grafana-backend';
import { instanceSettings } from './helpers/settings';
import { startTestExporter, type TestExporter } from './helpers/exporter';
import { procState, waitFor } from '../integration/daemon-helpers';

// query(), annotations, variables and the live stream against a real exporter (`faultline start`,
// its embedded daemon) running real process-pause experiments on a `sleep` this test spawned.
// Requests go through the Grafana proxy emulation with the routes of plugin.json.

jest.setTimeout(240_000);

const NS = `ds-${process.pid}`;
const UID = `faultline-${process.pid}`;

let exporter: TestExporter;
let grafana: GrafanaStub;
let ds: DataSource;
let sleeper: ChildProcess;
let pid: number;

const settings = (uid: string, jsonData: FaultlineOptions = {}) => instanceSettings(uid, jsonData, 7);

function experiment(name: string, duration: string): ExperimentInput {
  return {
    metadata: { name, namespace: NS },
    spec: { fault: { kind: 'process-pause', params: {} }, targets: { selector: { pids: [pid] }, mode: 'all' }, duration },
  };
}

function request(targets: FaultlineQuery[], fromMs: number, toMs = Date.now()): DataQueryRequest<FaultlineQuery> {
  const from = dateTime(fromMs);
  const to = dateTime(toMs);
  return {
    requestId: 'test', interval: '1s', intervalMs: 1000, maxDataPoints: 500, range: { from, to, raw: { from, to } }, scopedVars: {},
    targets, timezone: 'utc', app: 'dashboard', startTime: Date.now(),
  } as DataQueryRequest<FaultlineQuery>;
}

async function run(targets: FaultlineQuery[], fromMs: number): Promise<DataQueryResponse[]> {
  return lastValueFrom(ds.query(request(targets, fromMs)).pipe(toArray()));
}

const field = (frame: DataFrame, name: string) => {
  const f = frame.fields.find((x) => x.name === name);
  if (!f) throw new Error(`frame ${frame.name} has no field ${name}: ${frame.fields.map((x) => x.name).join(', ')}`);
  return f;
};
const column = (frame: DataFrame, name: string) => field(frame, name).values as unknown[];
const rowOf = (frame: DataFrame, key: string, value: unknown) => column(frame, key).indexOf(value);

async function phaseOf(name: string): Promise<string> {
  return (await ds.client.getExperiment(NS, name)).status.phase;
}

async function exporterEvents(experimentName: string): Promise<FaultlineEvent[]> {
  const res = await exporter.api('GET', `/api/v1/events?namespace=${NS}&experiment=${experimentName}&limit=1000`);
  return (res.body as { items: FaultlineEvent[] }).items;
}

const t0 = Date.now() - 60_000;

beforeAll(async () => {
  exporter = await startTestExporter();
  grafana = installGrafana({ uid: UID, url: exporter.url }, 'Editor', { ns: [NS, `${NS}-none`], kind: 'process-pause' });
  ds = new DataSource(settings(UID));
  sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
  pid = sleeper.pid!;
});

afterAll(async () => {
  for (const name of ['short', 'long']) await exporter?.api('POST', `/api/v1/experiments/${NS}/${name}/stop`).catch(() => undefined);
  await exporter?.stop();
  sleeper?.kill('SIGKILL');
});

describe('Save & test', () => {
  it('reports the exporter version when it is reachable and answers', async () => {
    const result = await ds.testDatasource();
    expect(result).toEqual({ status: 'success', message: expect.stringMatching(/^Connected to Faultline exporter \d+\.\d+\.\d+; the API token is accepted\.$/) });
  });

  it('says so when chaos is frozen', async () => {
    expect((await exporter.api('POST', '/api/v1/freeze', { reason: 'INC-9 datasource test' })).status).toBe(200);
    try {
      const result = await ds.testDatasource();
      expect(result.status).toBe('success');
      expect(result.message).toMatch(/Chaos is FROZEN since .* by .*: INC-9 datasource test; no experiment can start/);
    } finally {
      expect((await exporter.api('DELETE', '/api/v1/freeze')).status).toBe(200);
    }
    expect((await ds.testDatasource()).message).not.toContain('FROZEN');
  });
});

describe('mutations through the proxy', () => {
  it('refuses a Viewer (proxy route reqRole) without reaching the exporter', async () => {
    grafana.setRole('Viewer');
    try {
      await expect(ds.client.createExperiment(experiment('viewer-try', '5s'))).rejects.toMatchObject({ status: 403, message: 'plugin proxy route access denied' });
      await expect(ds.client.stopAll()).rejects.toMatchObject({ status: 403 });
      // Reads still work for a Viewer.
      await expect(ds.client.listKinds()).resolves.toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'process-pause' })]));
    } finally {
      grafana.setRole('Editor');
    }
    const list = await exporter.api('GET', `/api/v1/experiments?namespace=${NS}`);
    expect(list.body.items).toEqual([]);
  });

  it('passes the exporter\'s field errors on (400 with details), creating nothing', async () => {
    const bad = experiment('bad-duration', 'soon');
    const err = await ds.client.createExperiment(bad).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, code: 'invalid_input' });
    expect((err as { details: Array<{ field: string }> }).details.map((d) => d.field)).toContain('/spec/duration');
    expect((await exporter.api('GET', `/api/v1/experiments?namespace=${NS}`)).body.items).toEqual([]);
  });
});

describe('with real experiments', () => {
  let shortExp: Experiment;

  beforeAll(async () => {
    shortExp = await ds.client.createExperiment(experiment('short', '2s'));
    await waitFor('short to finish', async () => (await phaseOf('short')) === 'Finished', 60_000, 200);
    await ds.client.createExperiment(experiment('long', '10m'));
    await waitFor('long to run', async () => (await phaseOf('long')) === 'Running', 60_000, 200);
    await waitFor('sleep to be stopped', () => procState(pid) === 'T', 20_000);
  });

  it('Experiments: a table with the documented fields, filtered by a multi-value namespace variable', async () => {
    const [res] = await run([{ refId: 'A', queryType: 'experiments', namespace: '$ns' }], t0);
    expect(res.state).toBe(LoadingState.Done);
    const frame = res.data[0] as DataFrame;
    expect(frame.fields.map((f) => [f.name, f.type])).toEqual([
      ['name', FieldType.string], ['namespace', FieldType.string], ['kind', FieldType.string], ['phase', FieldType.string],
      ['targets', FieldType.string], ['started', FieldType.time], ['ends', FieldType.time], ['duration', FieldType.string],
      ['message', FieldType.string], ['uid', FieldType.string],
    ]);
    expect([...column(frame, 'name')].sort()).toEqual(['long', 'short']);
    const long = rowOf(frame, 'name', 'long');
    expect(column(frame, 'phase')[long]).toBe('Running');
    expect(column(frame, 'kind')[long]).toBe('process-pause');
    expect(column(frame, 'namespace')[long]).toBe(NS);
    expect(column(frame, 'targets')[long]).toContain(String(pid));
    expect(typeof column(frame, 'started')[long]).toBe('number');
    expect(column(frame, 'phase')[rowOf(frame, 'name', 'short')]).toBe('Finished');

    const [byPhase] = await run([{ refId: 'B', queryType: 'experiments', namespace: NS, phase: 'Running' }], t0);
    expect(column(byPhase.data[0], 'name')).toEqual(['long']);
    const [byTarget] = await run([{ refId: 'C', queryType: 'experiments', namespace: NS, target: 'no-such-target' }], t0);
    expect(byTarget.data[0].length).toBe(0);
  });

  it('Events: a logs-shaped frame of the state changes in the range', async () => {
    const [res] = await run([{ refId: 'A', queryType: 'events', namespace: NS, experiment: 'short' }], t0);
    const frame = res.data[0] as DataFrame;
    expect(frame.meta?.preferredVisualisationType).toBe('logs');
    expect(frame.fields.slice(0, 3).map((f) => [f.name, f.type])).toEqual([['time', FieldType.time], ['body', FieldType.string], ['level', FieldType.string]]);
    const types = column(frame, 'type');
    for (const t of ['created', 'injected', 'recovered', 'finished']) expect(types).toContain(t);
    const injected = types.indexOf('injected');
    expect(column(frame, 'body')[injected]).toMatch(new RegExp(`^injected ${NS}/short \\[.*${pid}.*\\]: `));
    expect(column(frame, 'labels')[injected]).toEqual({ type: 'injected', namespace: NS, kind: 'process-pause', experiment: 'short' });
    const times = column(frame, 'time') as number[];
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    const [onlyInjected] = await run([{ refId: 'B', queryType: 'events', namespace: NS, eventType: 'injected' }], t0);
    expect(new Set(column(onlyInjected.data[0], 'type'))).toEqual(new Set(['injected']));
  });

  it('Annotations: one region per run, injected → recovered (or now), coloured by outcome, with title, text, report link and compact tags', async () => {
    const before = Date.now();
    const query = ds.annotations!.prepareQuery!({ name: 'chaos', enable: true, iconColor: 'red', target: { refId: 'Anno', namespace: NS } } as never)!;
    const [res] = await run([query], t0);
    const frame = res.data[0] as DataFrame;
    expect(frame.fields.map((f) => [f.name, f.type])).toEqual([
      ['time', FieldType.time], ['timeEnd', FieldType.time], ['title', FieldType.string], ['text', FieldType.string],
      ['tags', FieldType.other], ['color', FieldType.string], ['run', FieldType.string], ['outcome', FieldType.string],
    ]);
    expect(frame.length).toBe(2);

    const events = await exporterEvents('short');
    const injectedAt = Date.parse(events.find((e) => e.type === 'injected')!.time);
    const recoveredAt = Date.parse(events.filter((e) => e.type === 'recovered').pop()!.time);
    const short = rowOf(frame, 'run', shortExp.metadata.uid);
    expect(short).toBeGreaterThanOrEqual(0);
    expect(column(frame, 'time')[short]).toBe(injectedAt);
    expect(column(frame, 'timeEnd')[short]).toBe(recoveredAt);
    expect(recoveredAt - injectedAt).toBeGreaterThanOrEqual(1500);
    expect(column(frame, 'title')[short]).toBe(`process-pause on ${NS}/short`);
    // Compact tags: the target by its name, no pid.
    expect(column(frame, 'tags')[short]).toEqual(['faultline', 'process-pause', NS, 'finished', 'sleep']);
    expect(column(frame, 'color')[short]).toBe(OUTCOME_COLORS.finished);
    // Empty params are left out of the text; the report link names the run and the data source.
    expect(column(frame, 'text')[short]).toMatch(
      new RegExp(`^kind: process-pause<br>targets: pid ${pid} \\(sleep\\)[^<]*<br>outcome: finished<br><a href="a/faultline-chaos-app/report\\?namespace=${NS}&amp;name=short&amp;datasource=${ds.uid}">Open the run report</a>$`),
    );

    // The running one ends "now".
    const long = column(frame, 'title').indexOf(`process-pause on ${NS}/long`);
    expect(column(frame, 'outcome')[long]).toBe('running');
    expect(column(frame, 'timeEnd')[long] as number).toBeGreaterThanOrEqual(before);
    expect(column(frame, 'tags')[long]).toContain('running');
    expect(column(frame, 'color')[long]).toBe(OUTCOME_COLORS.running);

    // Filters: by outcome (phase) and by kind through a variable.
    const [finished] = await run([{ ...query, phase: 'Finished', kind: '$kind' }], t0);
    expect(column(finished.data[0], 'outcome')).toEqual(['finished']);
  });

  it('Active faults: a series per kind counting runs that are on', async () => {
    const [res] = await run([{ refId: 'A', queryType: 'active', namespace: NS }], t0);
    expect(res.data).toHaveLength(1);
    const frame = res.data[0] as DataFrame;
    expect(frame.name).toBe('process-pause');
    expect(frame.fields.map((f) => [f.name, f.type])).toEqual([['time', FieldType.time], ['active', FieldType.number]]);
    expect(field(frame, 'active').labels).toEqual({ kind: 'process-pause' });
    const values = column(frame, 'active') as number[];
    const times = column(frame, 'time') as number[];
    const longStart = Date.parse((await exporterEvents('long')).find((e) => e.type === 'injected')!.time);
    const shortEvents = await exporterEvents('short');
    const shortStart = Date.parse(shortEvents.find((e) => e.type === 'injected')!.time);
    const shortEnd = Date.parse(shortEvents.filter((e) => e.type === 'recovered').pop()!.time);
    // A step counts every run that overlaps it: long is on now, so the last step shows it (even when it
    // began inside that step), and short too when it ended inside that step (a fast machine).
    const step = times[1] - times[0];
    const last = times[times.length - 1];
    const expectedLast = 1 + (shortStart < last + step && shortEnd > last ? 1 : 0);
    if (values[values.length - 1] !== expectedLast) {
      throw new Error(`last active value ${values[values.length - 1]} (expected ${expectedLast}) at ${last}, long injected at ${longStart}, short ${shortStart}–${shortEnd}, ${times.length} steps from ${times[0]}; values ${values.join(',')}`);
    }
    expect(values[0]).toBe(0); // nothing ran a minute before the test
    expect(Math.max(...values)).toBeLessThanOrEqual(2);
  });

  it('Variables: namespaces, kinds, experiments (by namespace variable), targets, phases', async () => {
    const find = (q: object) => ds.metricFindQuery({ refId: 'v', ...q } as never).then((v) => v.map((x) => x.text));
    expect(await find({ find: 'namespaces' })).toContain(NS);
    expect(await find({ find: 'kinds' })).toEqual(expect.arrayContaining(['process-pause', 'network-delay']));
    expect(await find({ find: 'experiments', namespace: '$ns' })).toEqual(['long', 'short']);
    expect((await find({ find: 'targets' })).some((t) => t.includes(String(pid)))).toBe(true);
    expect(await find({ find: 'phases' })).toContain('Running');
    // Through the variable support Grafana calls.
    const variables = ds.variables as unknown as { query(r: unknown): import('rxjs').Observable<DataQueryResponse> };
    const res = await firstValueFrom(variables.query({ targets: [{ refId: 'v', find: 'experiments', namespace: NS }] }));
    expect(res.data.map((v: { text: string }) => v.text)).toEqual(['long', 'short']);
  });

  describe('Live events', () => {
    let sub: Subscription | undefined;
    afterEach(() => sub?.unsubscribe());

    it('streams through the proxy, resumes with Last-Event-ID after a cut, and closes on unsubscribe', async () => {
      const responses: DataQueryResponse[] = [];
      const opened = grafana.streams.length;
      sub = ds.query(request([{ refId: 'L', queryType: 'live', namespace: NS, experiment: 'long' }], t0)).subscribe((r) => responses.push(r));
      await waitFor('stream open', () => grafana.streams.length > opened, 10_000, 20);
      await new Promise((r) => setTimeout(r, 500)); // let the connection be established upstream

      const rows = () => {
        const last = responses[responses.length - 1];
        // A CircularDataFrame's values are a ring buffer: copy to an array.
        return last ? Array.from(column(last.data[0], 'type') as string[]) : [];
      };
      await ds.client.pause(NS, 'long');
      await waitFor('paused event', () => rows().includes('paused'), 20_000, 50);
      expect(responses[responses.length - 1].state).toBe(LoadingState.Streaming);
      expect(responses[responses.length - 1].key).toBe('L');
      await waitFor('sleep to run again', () => procState(pid) !== 'T', 20_000);

      // The proxy cuts the stream; what happens meanwhile is replayed on reconnect.
      const streamsBefore = grafana.streams.length;
      grafana.cutStreams();
      await ds.client.resume(NS, 'long');
      await waitFor('reconnect', () => grafana.streams.length > streamsBefore, 20_000, 50);
      const reconnect = grafana.streams[grafana.streams.length - 1];
      expect(reconnect.headers['Last-Event-ID']).toMatch(/^\d+$/);
      await waitFor('resumed event after the cut', () => rows().includes('resumed'), 20_000, 50);
      await waitFor('injected again', () => rows().lastIndexOf('injected') > rows().indexOf('resumed'), 20_000, 50).catch((err: Error) => {
        throw new Error(`${err.message}; rows: ${rows().join(', ')}`);
      });
      const ids = Array.from(column(responses[responses.length - 1].data[0], 'id') as string[]).map(Number);
      expect(new Set(ids).size).toBe(ids.length); // nothing twice
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);

      sub.unsubscribe();
      sub = undefined;
      expect(grafana.streams[grafana.streams.length - 1].closed).toBe(true);
    });

    it('the stream resumes after a known event id (Last-Event-ID), as the shared stream does on reconnect', async () => {
      const events = await exporterEvents('short');
      const first = events[0];
      const url = `${ds.client.streamUrl}?namespace=${NS}&experiment=short`;
      const replay = await lastValueFrom(
        sseStream(url, { lastEventId: String(first.id) }).pipe(
          map((m) => JSON.parse(m.data) as FaultlineEvent),
          take(3),
          toArray(),
        ),
      );
      expect(replay.map((e) => e.id)).toEqual(events.slice(1, 4).map((e) => e.id));
      expect(replay[0]).toMatchObject({ experiment: 'short', namespace: NS, kind: 'process-pause' });
    });
  });

  it('stop and delete: the region of a deleted experiment stays, from the events', async () => {
    const stopped = await ds.client.stop(NS, 'long');
    expect(['Recovering', 'Finished']).toContain(stopped.status.phase);
    await waitFor('long to finish', async () => (await phaseOf('long')) === 'Finished', 60_000, 200);
    await waitFor('sleep to run again', () => procState(pid) !== 'T', 20_000);
    await ds.client.remove(NS, 'short');
    await expect(ds.client.getExperiment(NS, 'short')).rejects.toMatchObject({ status: 404 });

    const query = ds.annotations!.prepareQuery!({ target: { refId: 'Anno', namespace: NS } } as never)!;
    const [res] = await run([query], t0);
    const frame = res.data[0] as DataFrame;
    expect([...column(frame, 'title')].sort()).toEqual([`process-pause on ${NS}/long`, `process-pause on ${NS}/short`]);
    expect(column(frame, 'outcome')).toEqual(['finished', 'finished']);
    const long = column(frame, 'title').indexOf(`process-pause on ${NS}/long`);
    const longEvents = await exporterEvents('long');
    // A paused and resumed run is one region: first injection → final recovery.
    expect(column(frame, 'time')[long]).toBe(Date.parse(longEvents.find((e) => e.type === 'injected')!.time));
    expect(column(frame, 'timeEnd')[long]).toBe(Date.parse(longEvents.filter((e) => e.type === 'recovered').pop()!.time));
  });
});
