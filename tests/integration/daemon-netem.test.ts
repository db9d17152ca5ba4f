import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { canUseNetns, makeNetnsPair, type NetnsPair } from '../helpers/netns';
import { describeWithTools } from '../helpers/require-tool';
import { validate } from '../../api/validate';
import spec from '../../api/kinds/network-netem';
import { netemArgs } from '../../daemon/faults/network-netem';
import { faultId, startTestDaemon, type TestDaemon } from './daemon-helpers';

// network-netem on a real daemon: where the kernel has sch_netem, the one qdisc carries every asked
// impairment and goes away on recover; where it lacks it (this machine), the kind says so in /v1/info
// and a POST answers 422 with that reason, nothing journaled.

const nsOk = canUseNetns();
const suite = nsOk.ok ? describeWithTools : (_tools: string[], name: string, fn: () => void) => describe.skip(`${name} (skipped: ${nsOk.reason})`, fn);
const qdiscs = (ns: string, dev: string) => JSON.parse(execFileSync('tc', ['-n', ns, '-j', 'qdisc', 'show', 'dev', dev], { encoding: 'utf8' })) as { kind: string; root?: boolean; options?: Record<string, unknown> }[];

const params = { delay: { latency: '40ms', jitter: '5ms', correlation: 10 }, loss: { percent: 5, correlation: 25 }, duplicate: { percent: 1 }, corrupt: { percent: 1 }, rate: '8mbit' };

suite(['tc'], 'network-netem on the daemon', () => {
  let dm: TestDaemon;
  let pair: NetnsPair;
  let netem: { available: boolean; detail?: string };
  beforeAll(async () => {
    pair = makeNetnsPair('netem');
    dm = await startTestDaemon({}, 'netem');
    netem = (await dm.req('GET', '/v1/info')).body.capabilities.netem;
  }, 60_000);
  afterAll(async () => {
    await dm?.destroy();
    pair?.destroy();
  });
  const journal = () => readdirSync(path.join(dm.stateDir, 'faults'));

  it('is listed with its support: unsupported naming sch_netem where the kernel lacks it', async () => {
    const kind = (await dm.req('GET', '/v1/info')).body.kinds.find((k: { kind: string }) => k.kind === 'network-netem');
    if (netem.available) expect(kind.supported).toBe(true);
    else expect(kind).toMatchObject({ supported: false, reason: expect.stringMatching(/sch_netem|netem/) });
  });

  it('applies one netem qdisc with every impairment, removed on recover (or 422 with the reason without sch_netem)', async () => {
    const id = faultId('netem');
    const res = await dm.req('POST', '/v1/faults', { id, kind: 'network-netem', params, target: { netns: pair.a } });
    if (!netem.available) {
      expect(res.status).toBe(422);
      expect(res.body.error.message).toMatch(/netem/);
      expect(journal()).toEqual([]);
      return;
    }
    expect(res.status).toBe(201);
    const root = qdiscs(pair.a, pair.ifA).find((q) => q.root);
    expect(root?.kind).toBe('netem');
    expect(JSON.stringify(root?.options)).toMatch(/delay/);
    expect((await dm.req('DELETE', `/v1/faults/${id}`)).status).toBe(200);
    expect(qdiscs(pair.a, pair.ifA).find((q) => q.root)?.kind).not.toBe('netem');
  });

  it('tc itself parses the argv built from params (in a scratch netns; without sch_netem only the kernel refuses)', () => {
    const argv = netemArgs(validate(spec.params, { ...params, delay: { ...params.delay, reorder: { percent: 25, gap: 5 } } }));
    const r = spawnSync('unshare', ['--net', 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1a:', 'netem', ...argv], { encoding: 'utf8' });
    if (netem.available) expect(r.status).toBe(0);
    else expect(r.stderr.trim()).toBe('Error: Specified qdisc kind is unknown.');
  });

  it.each([
    [{}, '/params'],
    [{ delay: { latency: 'soon' } }, '/params/delay/latency'],
    [{ loss: { percent: 101 } }, '/params/loss/percent'],
    [{ rate: '1 mbit; rm' }, '/params/rate'],
  ])('bad params %j: 400 naming %s, nothing journaled', async (p, field) => {
    const res = await dm.req('POST', '/v1/faults', { id: faultId('bad'), kind: 'network-netem', params: p, target: { netns: pair.a } });
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    expect(journal()).toEqual([]);
  });
});
