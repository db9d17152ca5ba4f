import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { importChaosMesh } from '../../api/import/chaosmesh';
import { validateInput } from '../../exporter/engine/validate';

// Chaos Mesh's own documented examples (written out by hand in tests/fixtures/chaosmesh) go through
// the importer; every experiment it yields must pass the exporter's full validation, and whatever it
// cannot map must be named field by field.

const dir = path.join(__dirname, '..', 'fixtures', 'chaosmesh');
const load = (file: string) => YAML.parseAllDocuments(readFileSync(path.join(dir, file), 'utf8')).map((d) => d.toJS());

describe('Chaos Mesh import', () => {
  it.each(readdirSync(dir).filter((f) => f.endsWith('.yaml')))('%s: every experiment passes the exporter validation', (file) => {
    const r = importChaosMesh(load(file));
    for (const e of r.experiments) expect(() => validateInput(e)).not.toThrow();
    expect(r.experiments.length + r.unmapped.length).toBeGreaterThan(0);
  });

  it('maps PodChaos pod-kill with selector, mode, and a filled-in duration it reports', () => {
    const r = importChaosMesh(load('pod-kill.yaml'));
    expect(r.unmapped).toEqual([]);
    expect(r.experiments).toHaveLength(1);
    const e = r.experiments[0];
    expect(e.metadata).toMatchObject({ name: 'pod-kill-example', namespace: 'chaos-mesh' });
    expect(e.spec.fault).toEqual({ kind: 'pod-kill', params: {} });
    expect(e.spec.targets).toEqual({ selector: { labelSelectors: { 'app.kubernetes.io/component': 'tikv' } }, mode: 'one' });
    expect(r.notes).toEqual([expect.objectContaining({ field: '/spec/duration' })]);
  });

  it('carries containerNames into the selector for container-kill', () => {
    const e = importChaosMesh(load('container-kill.yaml')).experiments[0];
    expect(e.spec.fault.kind).toBe('container-kill');
    expect(e.spec.targets?.selector).toMatchObject({ containerNames: ['prometheus'] });
  });

  it('maps NetworkChaos delay with percents as numbers', () => {
    const e = importChaosMesh(load('network-delay.yaml')).experiments[0];
    expect(e.spec.fault).toEqual({ kind: 'network-delay', params: { latency: '10ms', jitter: '0ms', correlation: 100 } });
  });

  it('maps loss toward external targets onto peers and egress', () => {
    const r = importChaosMesh(load('network-loss-external.yaml'));
    expect(r.unmapped).toEqual([]);
    expect(r.experiments[0].spec.fault).toEqual({ kind: 'network-loss', params: { percent: 25, direction: 'egress', peers: ['1.2.3.0/24'] } });
    expect(r.experiments[0].spec.duration).toBe('2m');
  });

  it('names a partition whose other side is a pod selector as unmapped, and yields nothing for it', () => {
    const r = importChaosMesh(load('network-partition.yaml'));
    expect(r.experiments).toEqual([]);
    expect(r.unmapped.map((u) => u.field)).toEqual(expect.arrayContaining(['/spec/target', '/spec/externalTargets']));
    expect(r.unmapped[0].document).toBe('NetworkChaos/default/partition');
  });

  it('maps bandwidth rate, limit and buffer', () => {
    const e = importChaosMesh(load('network-bandwidth.yaml')).experiments[0];
    expect(e.spec.fault).toEqual({ kind: 'network-bandwidth', params: { rate: '1mbps', limit: '20971520', burst: '10000' } });
  });

  it('splits a StressChaos with cpu and memory into two experiments', () => {
    const r = importChaosMesh(load('stress.yaml'));
    expect(r.unmapped).toEqual([]);
    expect(r.experiments.map((e) => [e.metadata.name, e.spec.fault])).toEqual([
      ['memory-stress-example-cpu', { kind: 'cpu-stress', params: { workers: 1, load: 50 } }],
      ['memory-stress-example-memory', { kind: 'memory-stress', params: { workers: 4, size: '256MB' } }],
    ]);
  });

  it('says why IOChaos cannot be mapped, naming its fields', () => {
    const r = importChaosMesh(load('iochaos.yaml'));
    expect(r.experiments).toEqual([]);
    const fields = r.unmapped.map((u) => u.field);
    expect(fields).toEqual(expect.arrayContaining(['/spec/action', '/spec/volumePath', '/spec/path', '/spec/delay', '/spec/percent']));
    expect(r.unmapped.find((u) => u.field === '/spec/action')?.reason).toMatch(/no matching kind/);
  });

  it('maps HTTPChaos abort onto a transparent http-fault', () => {
    const e = importChaosMesh(load('httpchaos.yaml')).experiments[0];
    expect(e.spec.fault).toEqual({ kind: 'http-fault', params: { port: 80, match: { methods: ['GET'], path: '/api' }, abort: { status: 503, percent: 100 } } });
  });

  it('maps a Schedule onto a scheduled experiment', () => {
    const r = importChaosMesh(load('schedule.yaml'));
    expect(r.unmapped).toEqual([]);
    expect(r.experiments[0].spec).toMatchObject({ schedule: '5 * * * *', historyLimit: 2, concurrencyPolicy: 'Allow', duration: '12s', fault: { kind: 'network-delay' } });
  });

  it.each([
    [{ apiVersion: 'chaos-mesh.org/v1alpha1', kind: 'KernelChaos', metadata: { name: 'k' }, spec: {} }, '/kind'],
    [{ apiVersion: 'chaos-mesh.org/v1alpha1', kind: 'PodChaos', metadata: {}, spec: { action: 'pod-kill' } }, '/metadata/name'],
    [{ apiVersion: 'chaos-mesh.org/v1alpha1', kind: 'PodChaos', metadata: { name: 'x' }, spec: { action: 'explode' } }, '/spec/action'],
    [{ apiVersion: 'chaos-mesh.org/v1alpha1', kind: 'PodChaos', metadata: { name: 'x' }, spec: { action: 'pod-kill', mode: 'most' } }, '/spec/mode'],
    [{ apiVersion: 'chaos-mesh.org/v1alpha1', kind: 'PodChaos', metadata: { name: 'x' }, spec: { action: 'pod-kill', surprise: 1 } }, '/spec/surprise'],
    [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } }, '/apiVersion'],
  ])('names the bad field of %j', (doc, field) => {
    expect(importChaosMesh([doc]).unmapped.map((u) => u.field)).toContain(field);
  });
});
