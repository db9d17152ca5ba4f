import { execFileSync } from 'node:child_process';
import { addSecondAddressB, canUseNetns, makeNetnsPair, type NetnsPair } from '../helpers/netns';
import { describeWithTools } from '../helpers/require-tool';
import { rmSync } from 'node:fs';
import { daemonUrlOf, faultId, request, startDaemonProcess, startTestDaemon, stopDaemonProcess, tempDir, waitFor, type TestDaemon } from './daemon-helpers';
import { udpDelivered } from './daemon-traffic';

// The tc kinds with the other side given (`peers`, what the exporter resolves a Chaos Mesh `target:` into):
// only egress toward the peers is shaped. Shown with network-bandwidth (tbf; this kernel has no sch_netem,
// the netem kinds build the same htb root, class and filters): real UDP from namespace A to two addresses
// of namespace B, one a peer, one not; the peers swapped while it runs; everything gone after recovery.

jest.setTimeout(120_000);
const nsOk = canUseNetns();
const suite = nsOk.ok ? describeWithTools : (_t: string[], name: string, fn: () => void) => describe.skip(`${name} (skipped: ${nsOk.reason})`, fn);

/** Root qdisc kinds of `dev` in `ns`, and how many packets the non-root ones sent. */
function qdiscs(ns: string, dev: string): { kind: string; root: boolean; handle: string; packets: number }[] {
  const rows = JSON.parse(execFileSync('ip', ['netns', 'exec', ns, 'tc', '-s', '-j', 'qdisc', 'show', 'dev', dev], { encoding: 'utf8' })) as { kind: string; root?: boolean; handle: string; packets?: number }[];
  return rows.map((r) => ({ kind: r.kind, root: !!r.root, handle: r.handle, packets: r.packets ?? 0 }));
}

suite(['tc'], 'tc kinds toward peers only (network-bandwidth, test-made namespaces)', () => {
  let dm: TestDaemon;
  let pair: NetnsPair;
  let addrB2: string;
  // 8 kbit/s with a 2 KiB bucket and queue: of 200 back-to-back datagrams only a few dozen get through
  const params = { rate: '8kbit', burst: '2KiB', limit: '2KiB' };

  beforeAll(async () => {
    pair = makeNetnsPair('qpeer');
    addrB2 = addSecondAddressB(pair);
    dm = await startTestDaemon({}, 'qpeer');
  });
  afterAll(async () => {
    await dm?.destroy();
    pair?.destroy();
  });

  it('shapes egress toward the peers only; the peers swapped in place; all gone after recovery', async () => {
    expect(await udpDelivered(pair.a, pair.b, pair.addrB, 200)).toBe(200); // before
    const id = faultId('qpeer');
    const res = await dm.req('POST', '/v1/faults', { id, kind: 'network-bandwidth', params: { ...params, peers: [pair.addrB] }, target: { netns: pair.a } });
    expect([res.status, res.body.error?.message]).toEqual([201, undefined]);
    expect(res.body.state).toMatchObject({ peers: [pair.addrB], child: expect.any(String) });
    const kinds = qdiscs(pair.a, pair.ifA);
    expect(kinds.find((q) => q.root)?.kind).toBe('htb');
    expect(kinds.some((q) => q.kind === 'tbf' && !q.root)).toBe(true);

    const tbfPackets = () => qdiscs(pair.a, pair.ifA).find((q) => q.kind === 'tbf')!.packets;
    const before = tbfPackets();
    expect(await udpDelivered(pair.a, pair.b, addrB2, 200)).toBe(200); // not a peer: untouched
    expect(tbfPackets()).toBe(before); // and not classified into the shaped band
    const toPeer = await udpDelivered(pair.a, pair.b, pair.addrB, 200);
    expect(toPeer).toBeLessThan(150);
    expect(tbfPackets()).toBeGreaterThan(before);

    // the other side re-resolved: the filters now send addrB2 there, and addrB is free again
    const put = await dm.req('PUT', `/v1/faults/${id}/peers`, { peers: [addrB2] });
    expect([put.status, put.body.error?.message]).toEqual([200, undefined]);
    expect(await udpDelivered(pair.a, pair.b, pair.addrB, 200)).toBe(200);
    expect(await udpDelivered(pair.a, pair.b, addrB2, 200)).toBeLessThan(150);
    const bad = await dm.req('PUT', `/v1/faults/${id}/peers`, { peers: ['10.0.0.1/99'] });
    expect([bad.status, bad.body.error?.details?.[0]?.field]).toEqual([400, '/peers/0']);

    expect((await dm.req('DELETE', `/v1/faults/${id}`)).status).toBe(200);
    expect(qdiscs(pair.a, pair.ifA).some((q) => q.kind === 'htb' || q.kind === 'tbf')).toBe(false);
    expect(await udpDelivered(pair.a, pair.b, addrB2, 200)).toBe(200);
  });

  it('without peers it shapes everything, as before, and has no peers to swap (422)', async () => {
    const id = faultId('qall');
    expect((await dm.req('POST', '/v1/faults', { id, kind: 'network-bandwidth', params, target: { netns: pair.a } })).status).toBe(201);
    expect(qdiscs(pair.a, pair.ifA).find((q) => q.root)?.kind).toBe('tbf');
    expect(await udpDelivered(pair.a, pair.b, addrB2, 200)).toBeLessThan(150);
    const put = await dm.req('PUT', `/v1/faults/${id}/peers`, { peers: [addrB2] });
    expect([put.status, put.body.error?.details?.[0]?.field]).toEqual([422, '/peers']);
    expect((await dm.req('DELETE', `/v1/faults/${id}`)).status).toBe(200);
  });

  it('kill -9 of the daemon: its watchdog removes the htb root, class, leaf and filters; a restart finds nothing', async () => {
    const stateDir = tempDir('qpeer-crash');
    let daemon = startDaemonProcess(stateDir);
    try {
      let url = await daemonUrlOf(stateDir, daemon);
      const res = await request(url, 'POST', '/v1/faults', { id: faultId('qcrash'), kind: 'network-bandwidth', params: { ...params, peers: [pair.addrB] }, target: { netns: pair.a }, leaseSeconds: 300 });
      expect(res.status).toBe(201);
      expect(qdiscs(pair.a, pair.ifA).find((q) => q.root)?.kind).toBe('htb');
      daemon.kill('SIGKILL');
      await new Promise((r) => daemon.once('exit', r));
      await waitFor('the htb root gone', () => !qdiscs(pair.a, pair.ifA).some((q) => q.kind === 'htb' || q.kind === 'tbf') || undefined, 20_000);
      expect(await udpDelivered(pair.a, pair.b, pair.addrB, 200)).toBe(200);
      daemon = startDaemonProcess(stateDir);
      url = await daemonUrlOf(stateDir, daemon);
      expect((await request(url, 'GET', '/v1/faults')).body.faults).toEqual([]);
    } finally {
      await stopDaemonProcess(daemon);
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it.each([
    [{ ...params, peers: ['300.1.1.1'] }, 400, '/params/peers/0'],
    [{ ...params, peers: ['10.0.0.0/40'] }, 400, '/params/peers/0'],
    [{ ...params, peers: Array(65).fill('10.0.0.1') }, 400, '/params/peers'],
    [{ ...params, peer: { selector: { netns: ['x'] } } }, 422, '/params/peer'],
  ])('bad peers %j: %i naming %s, nothing applied', async (p, status, field) => {
    const res = await dm.req('POST', '/v1/faults', { id: faultId('qbad'), kind: 'network-bandwidth', params: p, target: { netns: pair.a } });
    expect([res.status, res.body.error?.details?.map((d: { field: string }) => d.field)]).toEqual([status, expect.arrayContaining([field])]);
    expect(qdiscs(pair.a, pair.ifA).some((q) => q.kind === 'htb' || q.kind === 'tbf')).toBe(false);
  });
});
