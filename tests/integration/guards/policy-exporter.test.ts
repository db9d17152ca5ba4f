import { parsePolicy } from '../../../exporter/policy';
import { killAll, pauseExperiment, phaseOf, procState, startStack, waitFor, type Stack, sleepers } from '../exporter-helpers';

// Blast radius policy and guard validation through the real exporter and daemon: every refusal
// names the rule (or field), and nothing is stored or injected.

jest.setTimeout(120_000);

let s: Stack;
const { procs, spawn: sleeper } = sleepers();

beforeAll(async () => {
  s = await startStack({
    policy: parsePolicy(`
protectedNamespaces: [prod]
protectedProcessNames: [sleep]
maxConcurrentExperiments: 1
maxDuration: 5m
`),
  });
});

afterAll(async () => {
  await s?.close();
  killAll(procs);
});

async function refused(body: unknown, status: number, match: RegExp, field?: string) {
  const r = await s.api('POST', '/api/v1/experiments', body);
  expect(r.status).toBe(status);
  expect(r.body.error.message).toMatch(match);
  if (field) expect(r.body.error.details.map((d: any) => d.field)).toContain(field);
  const name = (body as any).metadata.name;
  expect((await s.api('GET', `/api/v1/experiments/${(body as any).metadata.namespace ?? 'default'}/${name}`)).status).toBe(404);
}

it('refuses protected namespaces, long durations and protected processes, naming the rule; nothing is stored or paused', async () => {
  const pid = sleeper();
  const prod: any = pauseExperiment(`pol-ns-${process.pid}`, [pid]);
  prod.metadata.namespace = 'prod';
  await refused(prod, 403, /policy rule protectedNamespaces/, '/metadata/namespace');
  await refused(pauseExperiment(`pol-dur-${process.pid}`, [pid], '1h'), 403, /policy rule maxDuration/, '/spec/duration');
  // a pid selector resolves to the process `sleep`, which is protected
  await refused(pauseExperiment(`pol-proc-${process.pid}`, [pid]), 403, /protected process sleep.*policy rule protectedProcessNames/, '/spec/targets');
  expect(procState(pid)).not.toBe('T');
});

it('refuses bad guard matchers (also on a schedule) and PromQL guards without --prometheus-url', async () => {
  const pid = sleeper();
  await refused(pauseExperiment(`g-bad-${process.pid}`, [pid], '1m', { guards: { alerts: ['alertname="ok"', 'service=~"("'] } }), 400, /guards\/alerts\/1 invalid regular expression/, '/spec/guards/alerts/1');
  await refused(pauseExperiment(`g-sched-${process.pid}`, [pid], '1m', { schedule: '0 * * * *', guards: { alerts: ['alertname'] } }), 400, /guards\/alerts\/0/, '/spec/guards/alerts/0');
  await refused(pauseExperiment(`g-pq-${process.pid}`, [pid], '1m', { guards: { promql: [{ expr: 'up == 0' }] } }), 400, /--prometheus-url/, '/spec/guards/promql');
});

it('refuses a second concurrent experiment (409, maxConcurrentExperiments)', async () => {
  // `cat` reading a pipe is not protected by the policy above
  const { spawn } = await import('node:child_process');
  const cat = spawn('cat', [], { stdio: ['pipe', 'ignore', 'ignore'] });
  const cat2 = spawn('cat', [], { stdio: ['pipe', 'ignore', 'ignore'] });
  procs.push(cat, cat2);
  const first = await s.api('POST', '/api/v1/experiments', pauseExperiment(`pol-c1-${process.pid}`, [cat.pid!], '1m'));
  expect(first.status).toBe(201);
  await waitFor('first Running', async () => (await phaseOf(s.api, `pol-c1-${process.pid}`)) === 'Running');
  await refused(pauseExperiment(`pol-c2-${process.pid}`, [cat2.pid!], '1m'), 409, /at most 1 may run at once.*policy rule maxConcurrentExperiments/);
  expect(procState(cat2.pid!)).not.toBe('T');
  await s.api('POST', `/api/v1/experiments/default/pol-c1-${process.pid}/stop`);
  const again = await s.api('POST', '/api/v1/experiments', pauseExperiment(`pol-c3-${process.pid}`, [cat2.pid!], '1m'));
  expect(again.status).toBe(201);
  await s.api('POST', `/api/v1/experiments/default/pol-c3-${process.pid}/stop`);
});
