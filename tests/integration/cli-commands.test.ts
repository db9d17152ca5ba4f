import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { startCli } from './cli-helpers';
import { cli, killAll, procState, startStack, tempDir, waitFor, type Stack, sleepers } from './exporter-helpers';

// The client commands against a real exporter and daemon, with their documented exit codes:
// 0 ok · 2 invalid input · 3 not found · 4 conflict · 5 unreachable · 7 Aborted · 8 Failed · 9 timeout.

jest.setTimeout(900_000); // each CLI call is a fresh node process: seconds each on a loaded machine

let s: Stack;
let env: Record<string, string>;
const { procs, spawn: sleeper } = sleepers();
const dir = tempDir('cli');

beforeAll(async () => {
  s = await startStack({ extraDaemons: [{ url: 'http://127.0.0.1:9', name: 'nowhere' }] });
  env = { FAULTLINE_SERVER: s.url };
});
afterAll(async () => {
  await s?.close();
  killAll(procs);
  rmSync(dir, { recursive: true, force: true }); // no fl-cli-* folders left in /tmp
});

function file(name: string, docs: unknown[] | string): string {
  const p = path.join(dir, name);
  writeFileSync(p, typeof docs === 'string' ? docs : docs.map((d) => YAML.stringify(d)).join('---\n'));
  return p;
}

const pause = (name: string, pid: number, duration = '2s', daemons = ['local']) => ({
  apiVersion: 'faultline.dev/v1alpha1',
  kind: 'Experiment',
  metadata: { name },
  spec: { fault: { kind: 'process-pause' }, targets: { selector: { pids: [pid], daemons } }, duration },
});


describe('faultline CLI', () => {
  it('apply several documents; re-apply is unchanged; a changed spec is a conflict; bad documents exit 2 naming the field', async () => {
    const pid = sleeper();
    const pid2 = sleeper();
    const f = file('two.yaml', [pause(`ap1-${process.pid}`, pid, '30m'), pause(`ap2-${process.pid}`, pid2, '30m')]);
    let r = await cli(['apply', '-f', f], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`experiment default/ap1-${process.pid} created`);
    expect(r.stdout).toContain(`experiment default/ap2-${process.pid} created`);
    r = await cli(['apply', '-f', f], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('unchanged');
    r = await cli(['apply', '-f', file('changed.yaml', [pause(`ap1-${process.pid}`, pid, '45m')])], env);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/already exists/);

    r = await cli(['apply', '-f', file('bad.yaml', [{ metadata: { name: 'bad' }, spec: { fault: { kind: 'network-loss', params: { percent: 300 } }, duration: '1m' } }])], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('/spec/fault/params/percent');
    r = await cli(['apply', '-f', file('broken.yaml', 'metadata: {name: x\nspec: [')], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not valid YAML/);
    r = await cli(['apply', '-f', path.join(dir, 'missing.yaml')], env);
    expect(r.code).toBe(2);
    expect((await s.api('GET', '/api/v1/experiments/default/bad')).status).toBe(404);

    // get / describe / pause / resume / stop / delete
    r = await cli(['get', 'experiments'], env);
    expect(r.stdout).toMatch(new RegExp(`ap1-${process.pid}\\s+process-pause\\s+(Running|Injecting|Pending)`));
    r = await cli(['get', 'experiments', '-o', 'json'], env);
    expect(JSON.parse(r.stdout).items.length).toBeGreaterThanOrEqual(2);
    r = await cli(['get', 'exp', `ap1-${process.pid}`, '-o', 'yaml'], env);
    expect(YAML.parse(r.stdout).metadata.name).toBe(`ap1-${process.pid}`);
    await waitFor('Running', async () => (await s.api('GET', `/api/v1/experiments/default/ap1-${process.pid}`)).body.status.phase === 'Running');
    r = await cli(['describe', `ap1-${process.pid}`], env);
    expect(r.stdout).toContain('Targets:');
    expect(r.stdout).toContain('Injected');
    expect(r.stdout).toContain('created by anonymous');
    expect((await cli(['pause', `ap1-${process.pid}`], env)).code).toBe(0);
    expect((await cli(['resume', `ap1-${process.pid}`], env)).code).toBe(0);
    r = await cli(['stop', `ap1-${process.pid}`, `ap2-${process.pid}`], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Finished');
    expect(procState(pid)).not.toBe('T');
    expect(procState(pid2)).not.toBe('T');
    expect((await cli(['delete', `ap1-${process.pid}`], env)).code).toBe(0);
    expect((await cli(['describe', `ap1-${process.pid}`], env)).code).toBe(3);
    expect((await cli(['stop', 'no-such'], env)).code).toBe(3);
    expect((await cli(['stop'], env)).code).toBe(2);
    expect((await cli(['get', 'widgets'], env)).code).toBe(2);
    r = await cli(['get', 'kinds'], env);
    expect(r.stdout).toMatch(/process-pause\s+process\s+local/);
    r = await cli(['get', 'events', '--experiment', `ap2-${process.pid}`, '-o', 'json'], env);
    expect(JSON.parse(r.stdout).items.map((e: any) => e.type)).toContain('finished');
    r = await cli(['get', 'targets', '-o', 'json'], env);
    expect(JSON.parse(r.stdout).items.some((t: any) => t.pid === pid)).toBe(true);
  });

  it('run --wait exits 0 on Finished, 8 on Failed, 7 when aborted, 9 on --timeout; reruns of a file get a new name', async () => {
    const pid = sleeper();
    const f = file('run.yaml', [pause(`run-${process.pid}`, pid, '2s')]);
    let r = await cli(['run', '-f', f, '--wait'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/injected on pid/);
    expect(r.stdout).toMatch(/result: Finished/);
    r = await cli(['run', '-f', f, '--wait'], env); // same name again: a suffixed run
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`experiment default/run-${process.pid}-\\d{10} created`));

    r = await cli(['run', '-f', file('fail.yaml', [pause(`runfail-${process.pid}`, pid, '2s', ['nowhere'])]), '--wait'], env);
    expect(r.code).toBe(8);
    expect(r.stdout).toMatch(/result: Failed/);

    const aborted = cli(['run', '-f', file('abort.yaml', [pause(`runab-${process.pid}`, pid, '5m')]), '--wait'], env);
    await waitFor('running', async () => (await s.api('GET', `/api/v1/experiments/default/runab-${process.pid}`)).body?.status?.phase === 'Running');
    expect((await cli(['stop', '--all'], env)).code).toBe(0);
    r = await aborted;
    expect(r.code).toBe(7);
    expect(r.stdout).toMatch(/result: Aborted/);

    r = await cli(['run', '-f', file('slow.yaml', [pause(`runslow-${process.pid}`, pid, '5m')]), '--wait', '--timeout', '3s'], env);
    expect(r.code).toBe(9);
    expect(procState(pid)).not.toBe('T');
    expect((await cli(['run', '-f', f, '--timeout', 'soon'], env)).code).toBe(2);
  });

  it('server errors and unreachable servers', async () => {
    const r = await cli(['get', 'experiments'], { FAULTLINE_SERVER: 'http://127.0.0.1:9' });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/cannot reach the exporter/);
    expect((await cli(['get', 'experiments', '--server', 'not a url'], {})).code).toBe(2);
  });

  it('events --follow streams new events and ends cleanly on SIGINT', async () => {
    const pid = sleeper();
    const name = `follow-${process.pid}`;
    // no wait for it to connect: with nothing printed yet it replays from the start, so it misses nothing
    const follow = startCli(['events', '--follow', '--experiment', name], env);
    await s.api('POST', '/api/v1/experiments', pause(name, pid, '1s'));
    await follow.until(/finished/);
    expect(follow.stdout()).toMatch(/created .*follow-/);
    follow.child.kill('SIGINT');
    expect(await follow.exit()).toBe(0);
  });
});
