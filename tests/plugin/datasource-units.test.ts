import { SseParser } from '../../src/client/sse';
import { mergeRuns, runsFromEvents } from '../../src/datasource/runs';
import { interpolateValues, matchesEvent, resolveFilters, serverParams } from '../../src/datasource/filters';
import { activeFaultsFrames, annotationsFrame, OUTCOME_COLORS, runTags, runText, targetTag } from '../../src/datasource/frames';
import { explainTestFailure, queryErrorMessage } from '../../src/datasource/datasource';
import { toApiError } from '../../src/client/errors';
import type { Experiment, FaultlineEvent } from '../../src/datasource/types';
import { templateSrv } from './helpers/grafana-backend';

// The pure parts of the data source, case by case (the exporter-backed tests cover the whole path).

describe('SseParser', () => {
  it('splits messages on blank lines across chunk borders, with CRLF, comments, ids and retry', () => {
    const p = new SseParser();
    expect(p.push(': heartbeat\n\nid: 7\ndata: {"a":')).toEqual([]);
    expect(p.push('1}\r\n\r')).toEqual([]);
    expect(p.push('\nretry: 2500\nevent: custom\ndata: x\ndata: y\n\n')).toEqual([
      { id: '7', event: 'message', data: '{"a":1}' },
      { id: '7', event: 'custom', data: 'x\ny' },
    ]);
    expect(p.lastEventId).toBe('7');
    expect(p.retryMs).toBe(2500);
  });

  it('keeps the last id across reconnects and ignores ids with NUL', () => {
    const p = new SseParser('41');
    expect(p.push('id: 4\u00002\ndata: z\n\n')).toEqual([{ id: '41', event: 'message', data: 'z' }]);
  });
});

const ev = (id: number, type: string, time: number, extra: Partial<FaultlineEvent> = {}): FaultlineEvent => ({
  id, type, time: new Date(time).toISOString(), experiment: 'e1', namespace: 'ns', uid: 'u1', kind: 'process-pause', message: type, ...extra,
});

describe('runs', () => {
  it('a paused and resumed run is one region, ending at the final recovery', () => {
    const runs = runsFromEvents([
      ev(1, 'created', 1000), ev(2, 'injected', 2000, { target: 'pid 1' }), ev(3, 'running', 2001),
      ev(4, 'paused', 3000), ev(5, 'recovered', 3001), ev(6, 'resumed', 4000), ev(7, 'injected', 4001),
      ev(8, 'recovering', 5000), ev(9, 'recovered', 5002), ev(10, 'finished', 5003),
    ]);
    expect([...runs.values()]).toEqual([expect.objectContaining({ start: 2000, end: 5002, outcome: 'finished', targets: ['pid 1'] })]);
  });

  it('paused and not ended: no end yet, outcome paused', () => {
    const run = [...runsFromEvents([ev(1, 'injected', 1000), ev(2, 'paused', 2000), ev(3, 'recovered', 2001)]).values()][0];
    expect(run).toMatchObject({ start: 1000, end: undefined, outcome: 'paused' });
  });

  it('aborted: the guard that fired is the reason, and it shows in the text', () => {
    const run = [...runsFromEvents([ev(1, 'injected', 1000), ev(2, 'guard-fired', 1500, { message: 'alert DemoHighErrorRate fired' }), ev(3, 'recovered', 1600), ev(4, 'aborted', 1601, { message: 'aborted by alert' })]).values()][0];
    expect(run).toMatchObject({ outcome: 'aborted', reason: 'alert DemoHighErrorRate fired', end: 1600 });
    expect(runText(run)).toContain('outcome: aborted (alert DemoHighErrorRate fired)');
  });

  it('a run that began before the range starts at the range start, or at the injection the status knows', () => {
    const fromEvents = runsFromEvents([ev(5, 'recovered', 9000), ev(6, 'finished', 9001)], 5000);
    expect([...fromEvents.values()][0]).toMatchObject({ start: 5000, end: 9000, clipped: true });
    const exp = {
      metadata: { name: 'e1', namespace: 'ns', uid: 'u1', creationTimestamp: '' },
      spec: { fault: { kind: 'process-pause', params: { a: 1 } }, duration: '1m' },
      status: { phase: 'Finished', targets: [{ id: 't', daemon: 'd', target: {}, description: 'pid 1', phase: 'Recovered', injectedAt: new Date(3000).toISOString(), recoveredAt: new Date(9000).toISOString() }], conditions: [] },
    } as unknown as Experiment;
    const [merged] = mergeRuns(runsFromEvents([ev(5, 'recovered', 9000), ev(6, 'finished', 9001)], 5000), [exp], { from: 5000, to: 10000 });
    expect(merged).toMatchObject({ start: 3000, end: 9000, params: { a: 1 }, targets: ['pid 1'], clipped: false });
  });

  it('escapes HTML in annotation text, the report link too', () => {
    const run = [...runsFromEvents([ev(1, 'injected', 1000, { target: '<img src=x>', experiment: 'a"b<c' })]).values()][0];
    expect(runText(run)).toContain('targets: &lt;img src=x&gt;');
    expect(runText(run, 'ds"1')).toContain('<a href="a/faultline-chaos-app/report?namespace=ns&amp;name=a%22b%3Cc&amp;datasource=ds%221">Open the run report</a>');
  });

  it.each([
    ['pid 18900 (sleep) on vm', 'sleep'],
    ['sleep (pid 4242)', 'sleep'],
    ['pid 7', 'pid 7'],
    ['cgroup /system.slice/web.service on node-a', 'cgroup /system.slice/web.service'],
    ['netns blue', 'netns blue'],
  ])('target tag of %p is %p', (description, tag) => {
    expect(targetTag(description)).toBe(tag);
  });

  it('tags are compact and unique; regions are coloured by outcome', () => {
    const run = [...runsFromEvents([ev(1, 'injected', 1000, { target: 'pid 1 (sleep) on a' }), ev(2, 'injected', 1001, { target: 'pid 2 (sleep) on b' }), ev(3, 'failed', 1002)]).values()][0];
    expect(runTags(run)).toEqual(['faultline', 'process-pause', 'ns', 'failed', 'sleep']);
    const frame = annotationsFrame('A', [run], 5000);
    expect(frame.fields.find((f) => f.name === 'color')!.values).toEqual([OUTCOME_COLORS.failed]);
    expect(new Set(Object.values(OUTCOME_COLORS)).size).toBe(5);
  });
});

describe('active faults', () => {
  it('counts runs that are on at each step, per kind; none gives one zero series', () => {
    const runs = [...runsFromEvents([ev(1, 'injected', 2000), ev(2, 'recovered', 4000), ev(3, 'finished', 4001), ev(4, 'injected', 3000, { uid: 'u2', experiment: 'e2' })]).values()];
    const [frame] = activeFaultsFrames('A', runs, 0, 6000, 1000, 6000);
    expect(frame.fields[1].values).toEqual([0, 0, 1, 2, 1, 1, 0]);
    // A run that began inside the last step shows in it.
    const late = [...runsFromEvents([ev(1, 'injected', 6083)]).values()];
    expect(activeFaultsFrames('A', late, 0, 6500, 1000, 6500)[0].fields[1].values).toEqual([0, 0, 0, 0, 0, 0, 1]);
    const [empty] = activeFaultsFrames('A', [], 0, 2000, 1000);
    expect(empty.name).toBe('active faults');
    expect(empty.fields[1].values).toEqual([0, 0, 0]);
  });
});

describe('filters', () => {
  const srv = templateSrv({ ns: ['a', 'b'], one: 'a', all: '$__all' });
  it('interpolates variables: multi-value, comma lists, All', () => {
    expect(interpolateValues(srv, '$ns')).toEqual(['a', 'b']);
    expect(interpolateValues(srv, '${one}')).toEqual(['a']);
    expect(interpolateValues(srv, 'x, y')).toEqual(['x', 'y']);
    expect(interpolateValues(srv, '$all')).toBeUndefined();
    expect(interpolateValues(srv, '  ')).toBeUndefined();
  });

  it('sends single values to the exporter and matches several here', () => {
    const f = resolveFilters(srv, { namespace: '$ns', kind: 'process-pause', target: 'pid 1, sleep' }, undefined, 'dflt');
    expect(serverParams(f)).toEqual({ kind: 'process-pause', target: 'pid 1, sleep' });
    expect(matchesEvent(f, ev(1, 'x', 0, { namespace: 'b' }))).toBe(true);
    expect(matchesEvent(f, ev(1, 'x', 0, { namespace: 'c' }))).toBe(false);
    // The default namespace applies only when the query leaves it empty.
    expect(resolveFilters(srv, {}, undefined, 'dflt').namespace).toEqual(['dflt']);
  });
});

describe('errors', () => {
  it('keeps the exporter error body, and names network failures', () => {
    const e = toApiError({ status: 409, data: { error: { code: 'conflict', message: 'is Finished', details: [{ field: '/status/phase', reason: 'is Finished' }] } } });
    expect(e).toMatchObject({ status: 409, code: 'conflict', message: 'is Finished', details: [{ field: '/status/phase', reason: 'is Finished' }] });
    expect(toApiError({ status: 502, data: { message: 'Bad Gateway' } })).toMatchObject({ status: 502, code: 'bad_gateway', message: 'Bad Gateway' });
    expect(explainTestFailure(toApiError(new Error('boom')))).toMatch(/cannot reach the exporter \(network error: boom\)/);
    expect(queryErrorMessage(toApiError({ status: 502, data: { message: 'Bad Gateway' } }))).toBe('The Faultline exporter cannot be reached from Grafana (502: Bad Gateway). Check the data source URL.');
    expect(queryErrorMessage(toApiError({ status: 400, data: { error: { code: 'invalid_input', message: 'invalid from' } } }))).toBe('Faultline: invalid from');
  });
});
