import { spawn, type ChildProcess } from 'node:child_process';
import { addSecondAddressB, canUseNetns, ip, makeNetnsPair, type NetnsPair } from '../helpers/netns';
import { describeWithTools } from '../helpers/require-tool';
import { udpDelivered } from './daemon-traffic';
import { phaseOf, request, startStack, waitFor, type Stack } from './exporter-helpers';

// Partitions whose both sides are selectors, through the exporter: the target is namespace A
// (`spec.targets.selector.netns`), the other side is namespace B by name or by a process living in it
// (`spec.fault.params.peer.selector`, Chaos Mesh's `target:`). The exporter resolves the peer to B's
// addresses through the daemon; real UDP traffic shows which directions are cut, and that a third
// namespace C, not selected, still reaches A.

jest.setTimeout(180_000);
const nsOk = canUseNetns();
const suite = nsOk.ok ? describeWithTools : (_t: string[], name: string, fn: () => void) => describe.skip(`${name} (skipped: ${nsOk.reason})`, fn);

suite(['nft'], 'partitions with a peer selector (exporter + daemon, test-made namespaces)', () => {
  let s: Stack;
  let pair: NetnsPair;
  let c: string;
  let addrC: string;
  let addrAc: string;
  let sleeper: ChildProcess;
  let n = 0;

  beforeAll(async () => {
    pair = makeNetnsPair('peer');
    // C hangs off A by a veth of its own, in its own /30
    c = `${pair.a.slice(0, -2)}-c`;
    const [o1, o2, o3] = pair.addrA.split('.');
    addrAc = `${o1}.${o2}.${o3}.5`;
    addrC = `${o1}.${o2}.${o3}.6`;
    const [ifAc, ifC] = [`${pair.ifA}c`.slice(0, 15), `${pair.ifB}c`.slice(0, 15)];
    ip('netns', 'add', c);
    ip('-n', pair.a, 'link', 'add', ifAc, 'type', 'veth', 'peer', 'name', ifC, 'netns', c);
    ip('-n', pair.a, 'addr', 'add', `${addrAc}/30`, 'dev', ifAc);
    ip('-n', c, 'addr', 'add', `${addrC}/30`, 'dev', ifC);
    ip('-n', pair.a, 'link', 'set', ifAc, 'up');
    ip('-n', c, 'link', 'set', ifC, 'up');
    ip('-n', c, 'link', 'set', 'lo', 'up');
    // a process living in B: `ip netns exec` execs sleep, so the pid is the sleeper's
    sleeper = spawn('ip', ['netns', 'exec', pair.b, 'sleep', '600'], { stdio: 'ignore' });
    s = await startStack({ peerRefreshMs: 500 });
  });

  afterAll(async () => {
    await s?.close();
    sleeper?.kill('SIGKILL');
    try {
      ip('netns', 'del', c);
    } catch {
      /* not made */
    }
    pair?.destroy();
  });

  async function partition(direction: string, peer: Record<string, unknown>): Promise<{ name: string; body: any }> {
    const name = `peer-${process.pid}-${++n}`;
    const r = await s.api('POST', '/api/v1/experiments', {
      metadata: { name },
      spec: {
        fault: { kind: 'network-partition', params: { direction, peer } },
        targets: { selector: { netns: [pair.a], daemons: ['local'] }, mode: 'all' },
        duration: '5m',
      },
    });
    expect([r.status, r.body?.error]).toEqual([201, undefined]);
    await waitFor('Running', async () => (await phaseOf(s.api, name)) === 'Running');
    return { name, body: r.body };
  }

  const stop = async (name: string) => {
    expect((await s.api('POST', `/api/v1/experiments/default/${name}/stop`)).status).toBe(200);
    await waitFor('Finished', async () => ['Aborted', 'Finished'].includes(await phaseOf(s.api, name)));
  };

  it('egress (Chaos Mesh `to`), peer by netns name: A → B is cut, B → A and C → A are not; the experiment records the addresses', async () => {
    const { name, body } = await partition('egress', { selector: { netns: [pair.b], daemons: ['local'] } });
    expect(body.spec.fault.params.peers).toEqual([pair.addrB]);
    expect(await udpDelivered(pair.a, pair.b, pair.addrB, 200)).toBe(0);
    expect(await udpDelivered(pair.b, pair.a, pair.addrA, 200)).toBe(200);
    expect(await udpDelivered(c, pair.a, addrAc, 200)).toBe(200);
    await stop(name);
    expect(await udpDelivered(pair.a, pair.b, pair.addrB, 200)).toBe(200);
  });

  it('ingress (Chaos Mesh `from`), peer by a process in B: B → A is cut, A → B is not', async () => {
    const { name, body } = await partition('ingress', { selector: { pids: [sleeper.pid], daemons: ['local'] }, mode: 'all' });
    expect(body.spec.fault.params.peers).toEqual([pair.addrB]);
    expect(await udpDelivered(pair.b, pair.a, pair.addrA, 200)).toBe(0);
    expect(await udpDelivered(pair.a, pair.b, pair.addrB, 200)).toBe(200);
    await stop(name);
  });

  it('both: neither way, and C is untouched', async () => {
    const { name } = await partition('both', { selector: { netns: [pair.b], daemons: ['local'] } });
    expect(await udpDelivered(pair.a, pair.b, pair.addrB, 200)).toBe(0);
    expect(await udpDelivered(pair.b, pair.a, pair.addrA, 200)).toBe(0);
    expect(await udpDelivered(pair.a, c, addrC, 200)).toBe(200);
    await stop(name);
  });

  it('re-resolved while running: an address B gains joins the partition in place; bad peer updates are refused', async () => {
    const { name } = await partition('egress', { selector: { netns: [pair.b], daemons: ['local'] } });
    const addrB3 = addSecondAddressB(pair);
    const fault = await waitFor('peers updated on the daemon', async () => {
      const faults = (await request(s.daemon.url, 'GET', '/v1/faults')).body.faults as any[];
      return faults.find((f) => (f.state.peers ?? []).includes(addrB3));
    });
    expect([...fault.state.peers].sort()).toEqual([pair.addrB, addrB3].sort());
    expect(fault.params.peers).toEqual([pair.addrB]); // as created: an identical retry still matches
    expect(await udpDelivered(pair.a, pair.b, addrB3, 200)).toBe(0);
    expect(await udpDelivered(pair.a, pair.b, pair.addrB, 200)).toBe(0);
    expect(await udpDelivered(pair.b, pair.a, pair.addrA, 200)).toBe(200);

    const put = (id: string, body: unknown) => request(s.daemon.url, 'PUT', `/v1/faults/${id}/peers`, body);
    for (const [body, status, field] of [
      [{ peers: ['999.1.1.1'] }, 400, '/peers/0'],
      [{ peers: [] }, 400, '/peers'],
      [{ peers: Array(65).fill('10.0.0.1') }, 400, '/peers'],
      [{ peers: ['10.0.0.1'], more: 1 }, 400, '/more'],
    ] as const) {
      const r = await put(fault.id, body);
      expect([r.status, r.body.error?.details?.[0]?.field]).toEqual([status, field]);
    }
    expect((await put('no-such-fault', { peers: ['10.0.0.1'] })).status).toBe(404);
    expect(await udpDelivered(pair.a, pair.b, addrB3, 100)).toBe(0); // the refused updates changed nothing

    await stop(name);
    expect(await udpDelivered(pair.a, pair.b, addrB3, 200)).toBe(200);
    ip('-n', pair.a, 'route', 'del', `${addrB3}/32`, 'dev', pair.ifA);
    ip('-n', pair.b, 'addr', 'del', `${addrB3}/32`, 'dev', pair.ifB);
  });

  it('a tc kind with a peer selector (network-bandwidth toward B): only egress to B is shaped, and only while it runs', async () => {
    const name = `peer-bw-${process.pid}-${++n}`;
    const r = await s.api('POST', '/api/v1/experiments', {
      metadata: { name },
      spec: {
        fault: { kind: 'network-bandwidth', params: { rate: '8kbit', burst: '2KiB', limit: '2KiB', peer: { selector: { netns: [pair.b], daemons: ['local'] } } } },
        // A has two interfaces (to B and to C): the one toward B is named
        targets: { selector: { netns: [pair.a], daemons: ['local'], interface: pair.ifA }, mode: 'all' },
        duration: '5m',
      },
    });
    expect([r.status, r.body?.error]).toEqual([201, undefined]);
    expect(r.body.spec.fault.params.peers).toEqual([pair.addrB]);
    await waitFor('Running', async () => (await phaseOf(s.api, name)) === 'Running');
    expect(await udpDelivered(pair.a, pair.b, pair.addrB, 200)).toBeLessThan(150);
    expect(await udpDelivered(pair.b, pair.a, pair.addrA, 200)).toBe(200); // egress only
    await stop(name);
    expect(await udpDelivered(pair.a, pair.b, pair.addrB, 200)).toBe(200);
  });

  it('POST /v1/addresses on the daemon: a netns\'s addresses without loopback; bad targets are a 400/422 naming the field', async () => {
    const call = (body: unknown) => request(s.daemon.url, 'POST', '/v1/addresses', body);
    expect((await call({ target: { netns: pair.b } })).body).toEqual({ addresses: [pair.addrB] });
    expect((await call({ target: { pid: sleeper.pid } })).body).toEqual({ addresses: [pair.addrB] });
    const bad: [unknown, number, string][] = [
      [{ target: { netns: '../../etc' } }, 400, '/target/netns'],
      [{ target: { pid: -1 } }, 400, '/target/pid'],
      [{ target: { netns: 'no-such-ns-here' } }, 422, '/target/netns'],
      [{ target: { pid: 1 } }, 422, '/target/pid'],
      [{ target: {}, more: true }, 400, '/more'],
      ['x', 400, '/'],
    ];
    for (const [body, status, field] of bad) {
      const r = await call(body);
      expect([r.status, r.body.error?.details?.[0]?.field]).toEqual([status, field]);
    }
  });

  it('a peer selector that matches nothing, or has no address, is refused naming the field; nothing is applied', async () => {
    const base = { fault: { kind: 'network-partition', params: {} as Record<string, unknown> }, targets: { selector: { netns: [pair.a], daemons: ['local'] } }, duration: '1m' };
    const cases: [Record<string, unknown>, number, string][] = [
      [{ peer: { selector: { netns: ['no-such-ns-here'], daemons: ['local'] } } }, 400, '/spec/fault/params/peer/selector'],
      [{ peer: { selector: { pids: [4000000], daemons: ['local'] } } }, 400, '/spec/fault/params/peer/selector'],
      [{ peer: { selector: { netns: [pair.b], daemons: ['nope'] } } }, 400, '/spec/fault/params/peer/selector/daemons/0'],
      [{ peer: { selector: { netns: [pair.b] }, mode: 'fixed' } }, 400, '/spec/fault/params/peer/value'],
      [{ peer: { selector: { netns: ['bad name!'] } } }, 400, '/spec/fault/params/peer/selector/netns/0'],
      [{ peer: { selector: { netns: [pair.b] }, extra: 1 } }, 400, '/spec/fault/params/peer/extra'],
      [{}, 400, '/spec/fault/params/peers'],
    ];
    for (const [params, status, field] of cases) {
      const r = await s.api('POST', '/api/v1/experiments', { metadata: { name: `peer-bad-${++n}` }, spec: { ...base, fault: { ...base.fault, params } } });
      expect([r.status, r.body.error?.details?.map((d: { field: string }) => d.field)]).toEqual([status, [field]]);
    }
    expect((await s.api('GET', '/api/v1/experiments')).body.items.filter((e: any) => e.metadata.name.startsWith('peer-bad-'))).toEqual([]);
    expect(await udpDelivered(pair.a, pair.b, pair.addrB, 100)).toBe(100);
  });
});
