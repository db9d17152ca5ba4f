import { writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { cli, startStack, tempDir, waitFor, type Stack } from './exporter-helpers';

// `faultline import` converts Chaos Mesh documents and names what it cannot map; `apply` takes a
// Chaos Mesh document directly and the experiment really runs on the local daemon.

jest.setTimeout(300_000);

const fixtures = path.join(__dirname, '..', 'fixtures', 'chaosmesh');
const dir = tempDir('cli-import');

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
  beforeAll(async () => {
    s = await startStack();
  });
  afterAll(async () => {
    await s?.close();
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
