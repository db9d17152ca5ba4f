import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { PACKAGE_ROOT } from '../../daemon/paths';
import { cli, startStack, tempDir, waitFor, type Stack } from './exporter-helpers';

// `faultline import` converts Chaos Mesh documents and names what it cannot map; `apply` takes a
// Chaos Mesh document directly and the experiment really runs on the local daemon.

jest.setTimeout(300_000);

const fixtures = path.join(__dirname, '..', 'fixtures', 'chaosmesh');
const dir = tempDir('cli-import');
afterAll(() => rmSync(dir, { recursive: true, force: true })); // no fl-cli-* folders left in /tmp

describe('faultline import', () => {
  it('prints the experiments as YAML, exit 0', async () => {
    const r = await cli(['import', '-f', path.join(fixtures, 'stress.yaml')]);
    expect(r.code).toBe(0);
    const docs = YAML.parseAllDocuments(r.stdout).map((d) => d.toJS());
    expect(docs.map((d) => d.spec.fault.kind)).toEqual(['cpu-stress', 'memory-stress']);
  });

  it('names every unmapped field on stderr; --strict makes that exit 2', async () => {
    const file = path.join(fixtures, 'iochaos.yaml');
    let r = await cli(['import', '-f', file]);
    expect(r.code).toBe(2); // nothing at all could be converted
    expect(r.stderr).toContain('not mapped: IOChaos/chaos-mesh/io-latency-example /spec/volumePath');
    r = await cli(['import', '-f', path.join(fixtures, 'network-delay.yaml'), '--strict']);
    expect(r.code).toBe(0);
    const mixed = path.join(dir, 'mixed.yaml');
    writeFileSync(mixed, `${YAML.stringify({ apiVersion: 'chaos-mesh.org/v1alpha1', kind: 'PodChaos', metadata: { name: 'p' }, spec: { action: 'pod-kill', gracePeriod: 5, extra: true } })}`);
    r = await cli(['import', '-f', mixed, '--strict']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not mapped: PodChaos/default/p /spec/extra');
  });

  it('prints a Chaos Mesh Workflow as a Faultline Workflow, and every kind of issue 18 converts', async () => {
    let r = await cli(['import', '-f', path.join(fixtures, 'workflow-serial.yaml')]);
    expect(r.code).toBe(0);
    const wf = YAML.parse(r.stdout);
    expect(wf).toMatchObject({ kind: 'Workflow', metadata: { name: 'try-workflow-serial' }, spec: { deadline: '240s' } });
    expect(r.stderr).toContain('not mapped: Workflow/default/try-workflow-serial /spec/templates/3/schedule/schedule');
    for (const [file, kind] of [['network-netem.yaml', 'network-netem'], ['dnschaos.yaml', 'dns-fault'], ['timechaos.yaml', 'time-skew'], ['network-partition-target.yaml', 'network-partition']]) {
      r = await cli(['import', '-f', path.join(fixtures, file), '-o', 'json']);
      expect([file, r.code]).toEqual([file, 0]);
      const out = JSON.parse(r.stdout);
      for (const d of out.items ?? [out]) expect(d.spec.fault.kind).toBe(kind);
    }
  });

  it.each([
    [['import'], /required option/],
    [['import', '-f', '/nonexistent/chaos.yaml'], /cannot read/],
    [['import', '-f', path.join(fixtures, 'pod-kill.yaml'), '-o', 'xml'], /--output must be yaml or json/],
  ])('bad flags %j exit non-zero with a clear message', async (args, msg) => {
    const r = await cli(args as string[]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(msg);
  });
});

describe('faultline apply with a Chaos Mesh document', () => {
  let s: Stack;
  const kids: ChildProcess[] = [];
  beforeAll(async () => {
    s = await startStack();
  });
  afterAll(async () => {
    for (const k of kids) k.kill('SIGKILL');
    await s?.close();
  });

  it('a converted Chaos Mesh Workflow (Serial: stress, suspend, stress) applies and runs to Succeeded', async () => {
    const name = `cm-wf-${process.pid}`;
    const file = path.join(dir, 'workflow.yaml');
    const stress = (n: string) => ({ name: n, templateType: 'StressChaos', deadline: '2s', stressChaos: { mode: 'all', selector: {}, stressors: { cpu: { workers: 1, load: 10 } } } });
    writeFileSync(
      file,
      YAML.stringify({
        apiVersion: 'chaos-mesh.org/v1alpha1',
        kind: 'Workflow',
        metadata: { name, namespace: 'default' },
        spec: {
          entry: 'the-entry',
          templates: [
            { name: 'the-entry', templateType: 'Serial', deadline: '120s', children: ['burn-a', 'pause', 'burn-b'] },
            stress('burn-a'),
            { name: 'pause', templateType: 'Suspend', deadline: '1s' },
            stress('burn-b'),
          ],
        },
      }),
    );
    const r = await cli(['apply', '-f', file], { FAULTLINE_SERVER: s.url });
    expect(r.stderr).not.toContain('not mapped');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`workflow default/${name} created`);
    const done = await waitFor('the imported workflow to end', async () => {
      const w = (await (await fetch(`${s.url}/api/v1/workflows/default/${name}`)).json()) as { status: { phase: string; steps: { path: string; phase: string }[] } };
      return ['Succeeded', 'Failed', 'Aborted'].includes(w.status.phase) ? w : undefined;
    }, 120_000);
    expect(done.status.phase).toBe('Succeeded');
    expect(done.status.steps.map((st) => [st.path, st.phase])).toEqual([
      ['burn-a', 'Succeeded'],
      ['pause', 'Succeeded'],
      ['burn-b', 'Succeeded'],
    ]);
  });

  const canSkew = process.getuid?.() === 0 && process.arch === 'x64';
  (canSkew ? it : it.skip)('a converted TimeChaos, aimed at a local process, shifts its clock while it runs and not after', async () => {
    execFileSync(process.execPath, [path.join(PACKAGE_ROOT, 'daemon', 'native', 'build.js')], { stdio: 'inherit' });
    const clock = spawn(process.execPath, ['-e', 'setInterval(() => console.log(Date.now()), 100)'], { stdio: ['ignore', 'pipe', 'ignore'] });
    kids.push(clock);
    let last = 0;
    clock.stdout!.on('data', (d: Buffer) => {
      const lines = d.toString().trim().split('\n');
      last = Number(lines[lines.length - 1]);
    });
    const skew = async () => {
      last = 0;
      const v = await waitFor('a clock line', () => last || undefined, 10_000, 20);
      return v - Date.now();
    };
    await waitFor('the node clock running', async () => Math.abs(await skew()) < 1000);
    // what `faultline import` printed for Chaos Mesh's own example, aimed at a process of this host
    const r = await cli(['import', '-f', path.join(fixtures, 'timechaos.yaml')]);
    expect(r.code).toBe(0);
    const exp = YAML.parseAllDocuments(r.stdout).map((d) => d.toJS())[0];
    expect(exp.spec.fault).toEqual({ kind: 'time-skew', params: { offset: '-10m100ns' } });
    exp.metadata = { name: `cm-time-${process.pid}`, namespace: 'default' };
    exp.spec.targets = { selector: { pids: [clock.pid] }, mode: 'all' };
    exp.spec.duration = '6s';
    const file = path.join(dir, 'time.yaml');
    writeFileSync(file, YAML.stringify(exp));
    const applied = await cli(['apply', '-f', file], { FAULTLINE_SERVER: s.url });
    expect([applied.code, applied.stderr]).toEqual([0, '']);
    await waitFor('the clock 10 minutes behind', async () => Math.abs((await skew()) + 600_000) < 1000, 20_000);
    const done = await waitFor('the experiment to finish', async () => {
      const e = (await (await fetch(`${s.url}/api/v1/experiments/default/cm-time-${process.pid}`)).json()) as { status: { phase: string } };
      return e.status.phase === 'Finished' ? e : undefined;
    }, 60_000);
    expect(done.status.phase).toBe('Finished');
    await waitFor('the clock correct again', async () => Math.abs(await skew()) < 1000);
    // still the same process, alive (Node 24 names its main thread MainThread, Node 20 left it "node")
    expect(['node', 'MainThread']).toContain(readFileSync(`/proc/${clock.pid}/comm`, 'utf8').trim());
  });

  it('converts it and the stress really runs on the daemon', async () => {
    const name = `cm-stress-${process.pid}`;
    const file = path.join(dir, 'stress.yaml');
    writeFileSync(
      file,
      YAML.stringify({
        apiVersion: 'chaos-mesh.org/v1alpha1',
        kind: 'StressChaos',
        metadata: { name, namespace: 'default' },
        spec: { mode: 'all', selector: {}, stressors: { cpu: { workers: 1, load: 20 } }, duration: '3s' },
      }),
    );
    const r = await cli(['apply', '-f', file], { FAULTLINE_SERVER: s.url });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`experiment default/${name} created`);
    const done = await waitFor("the imported experiment to finish", async () => {
      const res = await fetch(`${s.url}/api/v1/experiments/default/${name}`);
      const e = (await res.json()) as { status: { phase: string; targets: { phase: string }[] }; metadata: { annotations?: Record<string, string> } };
      return e.status.phase === 'Finished' ? e : undefined;
    }, 120_000);
    expect(done.status.targets.every((t) => t.phase === 'Recovered')).toBe(true);
    expect(done.metadata.annotations?.['faultline.dev/imported-from']).toBe(`StressChaos/${name}`);
  });
});
