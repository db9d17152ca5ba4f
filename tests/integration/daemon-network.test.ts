import { execFileSync, spawn } from 'node:child_process';
import { canUseNetns, ip, makeNetnsPair, type NetnsPair } from '../helpers/netns';
import { describeWithTools } from '../helpers/require-tool';
import { readlinkSync } from 'node:fs';
import { faultId, startTestDaemon, waitFor, type TestDaemon } from './daemon-helpers';
import { udpDelivered } from './daemon-traffic';

// Network kinds against real traffic between two namespaces the test makes (and removes).

const nsOk = canUseNetns();
const nftTables = (ns: string) => execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'tables'], { encoding: 'utf8' });
const rootQdisc = (ns: string, dev: string) => JSON.parse(execFileSync('tc', ['-n', ns, '-j', 'qdisc', 'show', 'dev', dev], { encoding: 'utf8' })) as { kind: string; root?: boolean }[];

const suite = nsOk.ok ? describeWithTools : (_tools: string[], name: string, fn: () => void) => describe.skip(`${name} (skipped: ${nsOk.reason})`, fn);

suite(['nft', 'tc', 'iperf3'], 'daemon network kinds', () => {
  let dm: TestDaemon;
  let pair: NetnsPair;
  let addrB2: string;

  beforeAll(async () => {
    pair = makeNetnsPair('net');
    // a second address on the B side, in its own subnet: "everything else" for the partition test
    const [o1, o2, o3] = pair.addrB.split('.');
    addrB2 = `${o1}.${o2}.${o3}.6`;
    ip('-n', pair.b, 'addr', 'add', `${addrB2}/30`, 'dev', pair.ifB);
    ip('-n', pair.a, 'route', 'add', `${o1}.${o2}.${o3}.4/30`, 'dev', pair.ifA);
    dm = await startTestDaemon({}, 'net');
  }, 60_000);

  afterAll(async () => {
    await dm?.destroy();
    pair?.destroy();
  });

  it('network-loss 30 % drops 30 ± 4 % of 4000 datagrams, and leaves no table after recover', async () => {
    const id = faultId('loss');
    const res = await dm.req('POST', '/v1/faults', { id, kind: 'network-loss', params: { percent: 30, direction: 'egress', protocol: 'udp' }, target: { netns: pair.a } });
    expect(res.status).toBe(201);
    expect(nftTables(pair.a)).toContain(`faultline-${id}`);
    const sent = 4000;
    const got = await udpDelivered(pair.a, pair.b, pair.addrB, sent);
    const lossPct = (100 * (sent - got)) / sent;
    expect(lossPct).toBeGreaterThanOrEqual(26);
    expect(lossPct).toBeLessThanOrEqual(34);
    expect((await dm.req('DELETE', `/v1/faults/${id}`)).status).toBe(200);
    expect(nftTables(pair.a)).not.toContain('faultline');
    expect(await udpDelivered(pair.a, pair.b, pair.addrB, 1000)).toBe(1000);
  }, 120_000);

  it('network-partition drops everything to the peer and nothing else', async () => {
    const id = faultId('part');
    const res = await dm.req('POST', '/v1/faults', { id, kind: 'network-partition', params: { peers: [`${pair.addrB}/32`] }, target: { netns: pair.a } });
    expect(res.status).toBe(201);
    expect(await udpDelivered(pair.a, pair.b, pair.addrB, 500)).toBe(0);
    expect(await udpDelivered(pair.a, pair.b, addrB2, 500)).toBe(500);
    // and in the other direction (ingress into A from the peer)
    expect(await udpDelivered(pair.b, pair.a, pair.addrA, 300)).toBe(0);
    expect((await dm.req('DELETE', `/v1/faults/${id}`)).status).toBe(200);
    expect(nftTables(pair.a)).not.toContain('faultline');
    expect(await udpDelivered(pair.a, pair.b, pair.addrB, 500)).toBe(500);
  }, 120_000);

  it('network-bandwidth 8mbit gives 8 Mbit/s ± 15 % (iperf3), and leaves no qdisc after recover', async () => {
    const id = faultId('tbf');
    const res = await dm.req('POST', '/v1/faults', { id, kind: 'network-bandwidth', params: { rate: '8mbit' }, target: { netns: pair.a } });
    expect(res.status).toBe(201);
    expect(res.body.state).toMatchObject({ dev: pair.ifA });
    expect(rootQdisc(pair.a, pair.ifA).some((q) => q.kind === 'tbf' && q.root)).toBe(true);
    const port = String(30000 + (process.pid % 20000));
    const server = spawn('ip', ['netns', 'exec', pair.b, 'iperf3', '-s', '-1', '-B', pair.addrB, '-p', port], { stdio: 'ignore' });
    try {
      let out = '';
      for (let attempt = 0; attempt < 50 && !out; attempt++) {
        try {
          out = execFileSync('ip', ['netns', 'exec', pair.a, 'iperf3', '-c', pair.addrB, '-p', port, '-t', '6', '-J'], { encoding: 'utf8', timeout: 60_000 });
        } catch {
          await new Promise((r) => setTimeout(r, 200)); // server not listening yet
        }
      }
      // from bytes and seconds as the receiver counted them (the tbf bucket's initial burst is 32 KiB: negligible over 6 s)
      const rx = (JSON.parse(out) as { end: { sum_received: { bytes: number; seconds: number } } }).end.sum_received;
      const bps = (rx.bytes * 8) / rx.seconds;
      expect(bps).toBeGreaterThan(8e6 * 0.85);
      expect(bps).toBeLessThan(8e6 * 1.15);
    } finally {
      server.kill('SIGKILL');
    }
    expect((await dm.req('DELETE', `/v1/faults/${id}`)).status).toBe(200);
    expect(rootQdisc(pair.a, pair.ifA).some((q) => q.kind === 'tbf')).toBe(false);
  }, 120_000);

  it('a pid target acts in that process\'s network namespace', async () => {
    const inA = spawn('ip', ['netns', 'exec', pair.a, 'sleep', '600'], { stdio: 'ignore' });
    try {
      const pid = await waitFor('sleep in netns A', () => {
        try {
          return readlinkSync(`/proc/${inA.pid}/exe`).endsWith('/sleep') ? inA.pid : undefined; // ip has exec'd sleep
        } catch {
          return undefined;
        }
      });
      const id = faultId('bypid');
      const res = await dm.req('POST', '/v1/faults', { id, kind: 'network-partition', params: { peers: [pair.addrB] }, target: { pid } });
      expect(res.status).toBe(201);
      expect(nftTables(pair.a)).toContain(`faultline-${id}`);
      expect(await udpDelivered(pair.a, pair.b, pair.addrB, 200)).toBe(0);
      expect((await dm.req('DELETE', `/v1/faults/${id}`)).status).toBe(200);
      expect(nftTables(pair.a)).not.toContain('faultline');
    } finally {
      inA.kill('SIGKILL');
    }
  }, 120_000);

  it('a second tc fault on the same interface is a conflict and removes nothing', async () => {
    const one = faultId('tbf1');
    expect((await dm.req('POST', '/v1/faults', { id: one, kind: 'network-bandwidth', params: { rate: '1mbit' }, target: { netns: pair.a, interface: pair.ifA } })).status).toBe(201);
    const two = await dm.req('POST', '/v1/faults', { id: faultId('tbf2'), kind: 'network-bandwidth', params: { rate: '2mbit' }, target: { netns: pair.a, interface: pair.ifA } });
    expect(two.status).toBe(409);
    expect(rootQdisc(pair.a, pair.ifA).some((q) => q.kind === 'tbf')).toBe(true);
    expect((await dm.req('DELETE', `/v1/faults/${one}`)).status).toBe(200);
    expect(rootQdisc(pair.a, pair.ifA).some((q) => q.kind === 'tbf')).toBe(false);
  });

  it('an interface that does not exist in the namespace is a 422 naming /target/interface', async () => {
    const res = await dm.req('POST', '/v1/faults', { id: faultId('noif'), kind: 'network-bandwidth', params: { rate: '1mbit' }, target: { netns: pair.a, interface: 'nope0' } });
    expect(res.status).toBe(422);
    expect(res.body.error.details[0].field).toBe('/target/interface');
  });

  it('loss on ports and peers builds one table that recover removes', async () => {
    const id = faultId('lossports');
    const res = await dm.req('POST', '/v1/faults', {
      id,
      kind: 'network-loss',
      params: { percent: 100, peers: [pair.addrB, 'fd00::/64'], ports: [20000 + (process.pid % 20000)], protocol: 'udp' },
      target: { netns: pair.a },
    });
    expect(res.status).toBe(201);
    expect(await udpDelivered(pair.a, pair.b, pair.addrB, 200)).toBe(0);
    expect(await udpDelivered(pair.a, pair.b, pair.addrB, 200, 20001 + (process.pid % 20000))).toBe(200);
    expect((await dm.req('DELETE', `/v1/faults/${id}`)).status).toBe(200);
    expect(nftTables(pair.a)).not.toContain('faultline');
  }, 120_000);
});
