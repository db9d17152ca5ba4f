import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { canUseNetns, inNetns, makeNetnsPair, type NetnsPair } from '../helpers/netns';
import { cli, killAll, procState, sleepers, startStack, tempDir, waitFor, type Stack } from './exporter-helpers';

// `faultline inject <kind> ... --for D`: the imperative one-liners against a real exporter and daemon.
// A fault it reports injected is in the kernel (the loss drops pings between two namespaces this test
// makes); bad values are usage errors (exit 2) naming the flag, and nothing is created then.

jest.setTimeout(600_000); // each CLI call is a fresh node process: seconds each on a loaded machine

let s: Stack;
let env: Record<string, string>;
let pair: NetnsPair | undefined;
const { procs, spawn: sleeper } = sleepers();
const dir = tempDir('cli-inject');

beforeAll(async () => {
  s = await startStack();
  env = { FAULTLINE_SERVER: s.url };
});
afterAll(async () => {
  await s?.close();
  killAll(procs);
  pair?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const names = async (): Promise<string[]> => ((await s.api('GET', '/api/v1/experiments?namespace=default')).body.items as { metadata: { name: string } }[]).map((e) => e.metadata.name);
const pings = (p: NetnsPair): boolean => {
  try {
    inNetns(p.a, 'ping', ['-c', '3', '-i', '0.2', '-W', '1', '-q', p.addrB]);
    return true;
  } catch {
    return false;
  }
};

describe('faultline inject', () => {
  it('network-loss --percent 100 --netns NS --for 2m: prints experiment/NAME created, and the namespace loses its packets', async () => {
    const ok = canUseNetns();
    if (!ok.ok) {
      if (process.env.CI === 'true') throw new Error(`network namespaces: ${ok.reason}`);
      return;
    }
    pair = makeNetnsPair('inj');
    expect(pings(pair)).toBe(true);
    const r = await cli(['inject', 'network-loss', '--percent', '100', '--netns', pair.a, '--for', '2m', '--name', `loss-${process.pid}`], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`experiment/loss-${process.pid} created`);
    const e = (await s.api('GET', `/api/v1/experiments/default/loss-${process.pid}`)).body;
    expect(e.spec).toMatchObject({ fault: { kind: 'network-loss', params: { percent: 100 } }, duration: '2m', targets: { selector: { netns: [pair.a] } } });
    await waitFor('Running', async () => (await s.api('GET', `/api/v1/experiments/default/loss-${process.pid}`)).body.status.phase === 'Running');
    expect(execFileSync('ip', ['netns', 'exec', pair.a, 'nft', 'list', 'tables'], { encoding: 'utf8' })).toMatch(/faultline/);
    expect(pings(pair)).toBe(false);
    expect((await cli(['stop', `loss-${process.pid}`], env)).code).toBe(0);
    await waitFor('recovered', () => pings(pair!), 30_000, 500);
  });

  it('process-pause --pid P --for 2s --wait: follows the events and exits 0 when it Finished; -o name prints the name only', async () => {
    const pid = sleeper();
    let r = await cli(['inject', 'process-pause', '--pid', String(pid), '--daemon', 'local', '--for', '2s', '--wait', '--name', `pause-${process.pid}`], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`experiment/pause-${process.pid} created`);
    expect(r.stdout).toMatch(/result: Finished/);
    expect(procState(pid)).not.toBe('T');
    r = await cli(['inject', 'process-pause', '--pid', String(pid), '--for', '30m', '-o', 'name'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^experiment\/process-pause-[a-z0-9]+\n$/);
    await waitFor('stopped', () => procState(pid) === 'T');
    expect((await cli(['stop', r.stdout.trim().split('/')[1]], env)).code).toBe(0);
    await waitFor('resumed', () => procState(pid) !== 'T');
  });

  it('help: inject --help lists the kinds; inject KIND --help lists the kind\'s flags from its schema', async () => {
    let r = await cli(['inject', '--help']);
    expect(r.code).toBe(0);
    for (const k of ['network-loss', 'process-pause', 'tcp-fault', 'time-skew', 'pod-kill']) expect(r.stdout).toContain(k);
    r = await cli(['inject', 'network-loss', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--percent <number>\s+share of matching packets dropped/);
    expect(r.stdout).toMatch(/--for <duration>/);
    expect(r.stdout).toMatch(/--netns <name>/);
  });

  it('bad values: usage errors (exit 2) naming the flag, and nothing created', async () => {
    const before = await names();
    const cases: [string[], RegExp][] = [
      [['inject', 'network-los', '--percent', '30', '--for', '2m'], /"network-los" is not a fault kind: did you mean network-loss\?/],
      [['inject', 'loss', '--for', '2m'], /did you mean network-loss\?/],
      [['inject'], /Usage: faultline inject <kind>/],
      [['inject', 'network-loss', '--percent', '30'], /required option '--for <duration>' not specified/],
      [['inject', 'network-loss', '--percent', '300', '--for', '2m'], /--percent must be <= 100/],
      [['inject', 'network-loss', '--percent', 'lots', '--for', '2m'], /--percent must be a number/],
      [['inject', 'network-loss', '--percent', '1e999', '--for', '2m'], /--percent must be a number/],
      [['inject', 'network-loss', '--for', '2m'], /--percent is required/],
      [['inject', 'network-loss', '--percent', '30', '--for', '99999999h'], /--for must be at most 168h/],
      [['inject', 'network-loss', '--percent', '30', '--for', 'forever'], /--for must be a duration/],
      [['inject', 'network-loss', '--percent', '30', '--direction', 'ingres', '--for', '2m'], /--direction must be one of ingress, egress, both.*did you mean ingress\?/],
      [['inject', 'network-loss', '--percent', '30', '--ports', '80,70000', '--for', '2m'], /--ports must be <= 65535/],
      [['inject', 'network-loss', '--percnt', '30', '--for', '2m'], /unknown option '--percnt'[\s\S]*Did you mean --percent\?/],
      [['inject', 'cpu-stress', '--workers', '99999999999999999999999', '--for', '2m'], /--workers must be a whole number/],
      [['inject', 'process-pause', '--for', '2m'], /needs a target: give --pid/],
      [['inject', 'process-pause', '--pid', '-5', '--for', '2m'], /--pid/],
      [['inject', 'process-pause', '--process-name', '(a', '--for', '2m'], /--process-name/],
      [['inject', 'network-loss', '--percent', '5', '--netns', '../../etc/passwd', '--for', '2m'], /--netns must match/],
      [['inject', 'tcp-fault', '--toxics', '[{type: latency', '--for', '2m'], /--toxics must be YAML or JSON/],
      [['injekt', 'network-loss'], /unknown command 'injekt'[\s\S]*Did you mean inject\?/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(args, env);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect({ args, stderr: r.stderr }).toEqual({ args, stderr: expect.stringMatching(re) });
    }
    expect(await names()).toEqual(before);
  });

  it('run/apply/import name the nearest kind for a misspelt one in a file, before anything is created', async () => {
    const before = await names();
    const f = path.join(dir, 'typo.yaml');
    writeFileSync(f, `metadata: {name: typo-${process.pid}}\nspec:\n  fault: {kind: proces-pause}\n  duration: 1m\n`);
    for (const cmd of ['run', 'apply', 'import']) {
      const r = await cli([cmd, '-f', f], env);
      expect({ cmd, code: r.code }).toEqual({ cmd, code: 2 });
      expect(r.stderr).toMatch(/document 1 \/spec\/fault\/kind: "proces-pause" is not a fault kind: did you mean process-pause\?/);
    }
    const cm = path.join(dir, 'chaosmesh.yaml');
    writeFileSync(cm, 'apiVersion: chaos-mesh.org/v1alpha1\nkind: NetworkChoas\nmetadata: {name: x}\nspec: {action: loss}\n');
    const r = await cli(['import', '-f', cm], env);
    expect(r.stderr).toMatch(/did you mean NetworkChaos\?/);
    expect(await names()).toEqual(before);
  });
});
