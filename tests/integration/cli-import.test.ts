import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { PACKAGE_ROOT } from '../../daemon/paths';
import { dig, startDnsmasq, useResolver, type DnsServer } from '../helpers/dns';
import { canUseNetns, makeNetnsPair, type NetnsPair } from '../helpers/netns';
import { describeWithTools } from '../helpers/require-tool';
import { udpDelivered } from './daemon-traffic';
import { cli, startStack, tempDir, waitFor, workflowIn, type Stack } from './exporter-helpers';

/** A Chaos Mesh Workflow document (YAML) whose entry is the template named `the-entry`. */
const chaosMeshWorkflow = (name: string, templates: unknown[]) =>
  YAML.stringify({ apiVersion: 'chaos-mesh.org/v1alpha1', kind: 'Workflow', metadata: { name, namespace: 'default' }, spec: { entry: 'the-entry', templates } });

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
    // the Schedule template is a scheduled step: Chaos Mesh's @every 2s as a seconds cron, ticking for its 40s deadline
    expect(wf.spec.steps[4]).toMatchObject({ name: 'workflow-pod-chaos', deadline: '40s', experiment: { spec: { schedule: '*/2 * * * * *', concurrencyPolicy: 'Allow' } } });
    expect(r.stderr).not.toContain('not mapped: Workflow/default/try-workflow-serial /spec/templates/3');
    expect(r.stderr).toContain('note: Workflow/default/try-workflow-serial /spec/templates/3/schedule/schedule: @every 2s');
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
      chaosMeshWorkflow(name, [
        { name: 'the-entry', templateType: 'Serial', deadline: '120s', children: ['burn-a', 'pause', 'burn-b'] },
        stress('burn-a'),
        { name: 'pause', templateType: 'Suspend', deadline: '1s' },
        stress('burn-b'),
      ]),
    );
    const r = await cli(['apply', '-f', file], { FAULTLINE_SERVER: s.url });
    expect(r.stderr).not.toContain('not mapped');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`workflow default/${name} created`);
    const done = (await workflowIn(s.api, name, ['Succeeded', 'Failed', 'Aborted'])) as { status: { phase: string; steps: { path: string; phase: string }[] } };
    expect(done.status.phase).toBe('Succeeded');
    expect(done.status.steps.map((st) => [st.path, st.phase])).toEqual([
      ['burn-a', 'Succeeded'],
      ['pause', 'Succeeded'],
      ['burn-b', 'Succeeded'],
    ]);
  });

  it('a converted Workflow with a Schedule template applies: its schedule ticks for the deadline, then is stopped and the workflow succeeds', async () => {
    const name = `cm-wfs-${process.pid}`;
    const file = path.join(dir, 'workflow-schedule.yaml');
    writeFileSync(
      file,
      chaosMeshWorkflow(name, [
        { name: 'the-entry', templateType: 'Serial', deadline: '120s', children: ['burn'] },
        {
          name: 'burn',
          templateType: 'Schedule',
          deadline: '3500ms',
          schedule: { schedule: '@every 1s', concurrencyPolicy: 'Forbid', historyLimit: 5, type: 'StressChaos', stressChaos: { mode: 'all', selector: {}, duration: '400ms', stressors: { cpu: { workers: 1, load: 10 } } } },
        },
      ]),
    );
    const r = await cli(['apply', '-f', file], { FAULTLINE_SERVER: s.url });
    expect(r.stderr).not.toContain('not mapped');
    expect(r.code).toBe(0);
    const done = (await workflowIn(s.api, name, ['Succeeded', 'Failed', 'Aborted'])) as { status: { phase: string; steps: { path: string; phase: string; runs?: number; experiment?: string }[] } };
    expect(done.status.phase).toBe('Succeeded');
    expect(done.status.steps[0]).toMatchObject({ path: 'burn', phase: 'Succeeded', experiment: `${name}-burn` });
    expect(done.status.steps[0].runs).toBeGreaterThanOrEqual(2);
    const schedule = (await (await fetch(`${s.url}/api/v1/experiments/default/${name}-burn`)).json()) as { spec: { schedule: string; historyLimit: number }; status: { phase: string } };
    expect(schedule).toMatchObject({ spec: { schedule: '* * * * * *', historyLimit: 5 }, status: { phase: 'Finished' } });
    const runs = (await (await fetch(`${s.url}/api/v1/experiments?schedule=${name}-burn`)).json()) as { items: { status: { phase: string } }[] };
    expect(runs.items.every((x) => ['Finished', 'Aborted', 'Failed'].includes(x.status.phase))).toBe(true);
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

// Chaos Mesh's own DNSChaos and NetworkChaos (partition with `target:`) examples, converted by `faultline
// import`, aimed by the user at namespaces of this host (the selectors are Kubernetes labels), applied
// with `faultline apply`, and checked with real DNS queries and real traffic while they run and after.
const nsOk = canUseNetns();
(nsOk.ok ? describeWithTools : (_t: string[], name: string, fn: () => void) => describe.skip(`${name} (skipped: ${nsOk.reason})`, fn))(
  ['nft', 'dnsmasq', 'dig'],
  'imported DNSChaos and partition-with-target, applied and checked with real traffic',
  () => {
    let s: Stack;
    let pair: NetnsPair;
    let dns: DnsServer;
    let undoResolver: () => void;
    const RECORDS = { 'github.com': '10.77.2.1', 'google.com': '10.77.2.2', 'example.org': '10.77.2.3' };
    beforeAll(async () => {
      pair = makeNetnsPair('cmimp');
      undoResolver = useResolver(pair.a, pair.addrB);
      dns = await startDnsmasq(pair.b, pair.addrB, RECORDS, dir);
      s = await startStack();
    });
    afterAll(async () => {
      await s?.close();
      await dns?.stop();
      undoResolver?.();
      pair?.destroy();
    });

    /** `faultline import` of a fixture, first document, as JS. */
    const imported = async (file: string) => {
      const r = await cli(['import', '-f', path.join(fixtures, file)]);
      expect([file, r.code]).toEqual([file, 0]);
      return YAML.parseAllDocuments(r.stdout).map((d) => d.toJS())[0];
    };
    const applyAndWait = async (exp: Record<string, any>, name: string) => {
      exp.metadata = { name, namespace: 'default' };
      const file = path.join(dir, `${name}.yaml`);
      writeFileSync(file, YAML.stringify(exp));
      const r = await cli(['apply', '-f', file], { FAULTLINE_SERVER: s.url });
      expect([r.code, r.stderr]).toEqual([0, '']);
      await waitFor(`${name} Running`, async () => (await phase(name)) === 'Running' || undefined, 60_000);
    };
    const phase = async (name: string) => ((await (await fetch(`${s.url}/api/v1/experiments/default/${name}`)).json()) as { status: { phase: string } }).status.phase;

    it('DNSChaos (action random, patterns google.com, chaos-mesh.*, github.?om): matching names get a random address, others resolve; all back after', async () => {
      const exp = await imported('dnschaos.yaml');
      expect(exp.spec.fault).toEqual({ kind: 'dns-fault', params: { action: 'random', patterns: ['google.com', 'chaos-mesh.*', 'github.?om'] } });
      exp.spec.targets = { selector: { netns: [pair.a] }, mode: 'all' };
      exp.spec.duration = '8s';
      const name = `cm-dns-${process.pid}`;
      await applyAndWait(exp, name);
      for (const host of ['github.com', 'google.com']) {
        const got = await dig(pair.a, host);
        expect([host, got.status, got.addresses.length, /^(192\.0\.2|198\.51\.100|203\.0\.113)\./.test(got.addresses[0] ?? '')]).toEqual([host, 'NOERROR', 1, true]);
      }
      expect(await dig(pair.a, 'example.org')).toEqual({ status: 'NOERROR', addresses: ['10.77.2.3'] });
      await waitFor(`${name} Finished`, async () => (await phase(name)) === 'Finished' || undefined, 60_000);
      expect(await dig(pair.a, 'github.com')).toEqual({ status: 'NOERROR', addresses: ['10.77.2.1'] });
    });

    it('NetworkChaos partition, direction to, other side a `target:` selector: the target cannot send to the peer, the peer still reaches it', async () => {
      const exp = await imported('network-partition-target.yaml');
      expect(exp.spec.fault).toMatchObject({ kind: 'network-partition', params: { direction: 'egress', peer: { mode: 'one' } } });
      exp.spec.fault.params.peer.selector = { netns: [pair.b] };
      exp.spec.targets = { selector: { netns: [pair.a] }, mode: 'one' };
      exp.spec.duration = '5m';
      const name = `cm-part-${process.pid}`;
      await applyAndWait(exp, name);
      expect(await udpDelivered(pair.a, pair.b, pair.addrB, 200)).toBe(0);
      expect(await udpDelivered(pair.b, pair.a, pair.addrA, 200)).toBe(200);
      const stopped = await cli(['stop', name], { FAULTLINE_SERVER: s.url });
      expect(stopped.code).toBe(0);
      await waitFor(`${name} ended`, async () => ['Finished', 'Aborted'].includes(await phase(name)) || undefined, 60_000);
      expect(await udpDelivered(pair.a, pair.b, pair.addrB, 200)).toBe(200);
    });
  },
);
