import { startStack, waitFor, phaseOf, type Stack } from './exporter-helpers';
import { echoServer } from './proxy-helpers';

// What a kind's params schema cannot say (api/kinds: the kind's `check`) is refused by the exporter at
// create, with a 400 naming the field, exactly as the daemon refuses it: before, these were accepted with
// a 201 and then failed at inject (tcp-fault and http-fault with listen/upstream/port mixed up, a toxic
// with another toxic's attribute, an IPv4 octet over 255, ports with icmp). Nothing is stored, no event.

jest.setTimeout(90_000);

let s: Stack;
let echo: Awaited<ReturnType<typeof echoServer>>;

beforeAll(async () => {
  s = await startStack();
  echo = await echoServer();
});
afterAll(async () => {
  await s?.close();
  await echo?.close();
});

const up = () => `127.0.0.1:${echo.port}`;

/** [what, kind, params, the field under params that is named] */
const BAD: [string, string, () => Record<string, unknown>, string][] = [
  ['tcp-fault: port and listen', 'tcp-fault', () => ({ port: 8080, listen: '127.0.0.1:0', upstream: up() }), '/listen'],
  ['tcp-fault: port and upstream', 'tcp-fault', () => ({ port: 8080, upstream: up() }), '/upstream'],
  ['tcp-fault: neither port nor listen', 'tcp-fault', () => ({}), '/listen'],
  ['tcp-fault: upstream without listen', 'tcp-fault', () => ({ upstream: up() }), '/listen'],
  ['tcp-fault: listen without upstream', 'tcp-fault', () => ({ listen: '127.0.0.1:0' }), '/upstream'],
  ['tcp-fault: listen port 99999', 'tcp-fault', () => ({ listen: '127.0.0.1:99999', upstream: up() }), '/listen'],
  ['tcp-fault: listen on 999.1.1.1', 'tcp-fault', () => ({ listen: '999.1.1.1:0', upstream: up() }), '/listen'],
  ['tcp-fault: upstream port 0', 'tcp-fault', () => ({ listen: '127.0.0.1:0', upstream: '127.0.0.1:0' }), '/upstream'],
  ['tcp-fault: upstream [1::2::3]', 'tcp-fault', () => ({ listen: '127.0.0.1:0', upstream: '[1::2::3]:80' }), '/upstream'],
  ['tcp-fault: a latency toxic with a rate', 'tcp-fault', () => ({ listen: '127.0.0.1:0', upstream: up(), toxics: [{ type: 'latency', latency: '1s', rate: '1mbit' }] }), '/toxics/0/rate'],
  ['tcp-fault: a slicer varying by its size', 'tcp-fault', () => ({ listen: '127.0.0.1:0', upstream: up(), toxics: [{ type: 'slicer', averageSize: 8, sizeVariation: 8 }] }), '/toxics/0/sizeVariation'],
  ['http-fault: no action', 'http-fault', () => ({ listen: '127.0.0.1:0', upstream: up() }), '/delay'],
  ['http-fault: port and listen', 'http-fault', () => ({ port: 8080, listen: '127.0.0.1:0', abort: {} }), '/listen'],
  ['http-fault: listen without upstream', 'http-fault', () => ({ listen: '127.0.0.1:0', abort: {} }), '/upstream'],
  ['http-fault: neither port nor listen', 'http-fault', () => ({ abort: {} }), '/listen'],
  ['network-loss: ports with icmp', 'network-loss', () => ({ percent: 10, protocol: 'icmp', ports: [80] }), '/ports'],
  ['network-loss: a peer 999.1.1.1', 'network-loss', () => ({ percent: 10, peers: ['999.1.1.1'] }), '/peers/0'],
  ['network-partition: a peer 10.0.0.0/33', 'network-partition', () => ({ peers: ['10.0.0.0/33'] }), '/peers/0'],
  ['disk-fill: /', 'disk-fill', () => ({ path: '/', size: '1MiB' }), '/path'],
  ['disk-fill: /tmp/../etc', 'disk-fill', () => ({ path: '/tmp/../etc', size: '1MiB' }), '/path'],
  ['disk-fill: //dev/shm/', 'disk-fill', () => ({ path: '//dev/shm/', size: '1MiB' }), '/path'],
  ['disk-io-stress: /proc/self/cwd', 'disk-io-stress', () => ({ path: '/proc/self/cwd', size: '1MiB', workers: 1 }), '/path'],
];

describe('params the daemon would refuse at inject are a 400 at create', () => {
  it.each(BAD)('%s', async (what, kind, params, field) => {
    const name = `chk-${process.pid}`;
    const events = (await s.api('GET', '/api/v1/events')).body.items.length;
    const r = await s.api('POST', '/api/v1/experiments', {
      metadata: { name },
      spec: { fault: { kind, params: params() }, targets: { selector: { daemons: ['local'] } }, duration: '30s' },
    });
    expect([what, r.status, r.body.error?.details?.[0]?.field]).toEqual([what, 400, `/spec/fault/params${field}`]);
    expect(r.body.error.message).toContain(`/spec/fault/params${field}`);
    expect((await s.api('GET', `/api/v1/experiments/default/${name}`)).status).toBe(404);
    expect((await s.api('GET', '/api/v1/events')).body.items.length).toBe(events);

    // the daemon refuses the same params for the same field (one check, api/kinds), nothing journaled
    const d = await s.daemon.req('POST', '/v1/faults', { id: `chk-${process.pid}`, kind, params: params(), leaseSeconds: 30 });
    expect([what, d.status, d.body.error?.details?.[0]?.field]).toEqual([what, 400, `/params${field}`]);
    expect((await s.daemon.req('GET', '/v1/faults')).body.faults).toHaveLength(0);
  });

  it('an empty cgroup (the root, to the daemon) is a 400 naming it, not a Failed run', async () => {
    const r = await s.api('POST', '/api/v1/experiments', {
      metadata: { name: `chk-cg-${process.pid}` },
      spec: { fault: { kind: 'process-pause', params: {} }, targets: { selector: { cgroups: [''] } }, duration: '30s' },
    });
    expect([r.status, r.body.error?.details?.[0]?.field]).toEqual([400, '/spec/targets/selector/cgroups/0']);
    // and the root spelled "/" holds the exporter itself: refused with the reason
    const root = await s.api('POST', '/api/v1/experiments', {
      metadata: { name: `chk-cg-${process.pid}` },
      spec: { fault: { kind: 'process-pause', params: {} }, targets: { selector: { cgroups: ['/'] } }, duration: '30s' },
    });
    expect([root.status, root.body.error?.details?.[0]?.field]).toEqual([400, '/spec/targets/selector/cgroups/0']);
    expect((await s.api('GET', `/api/v1/experiments/default/chk-cg-${process.pid}`)).status).toBe(404);
  });

  it('what the checks let through runs: an explicit tcp-fault and http-fault reach Running and stop', async () => {
    for (const [kind, params] of [
      ['tcp-fault', { listen: '127.0.0.1:0', upstream: up(), toxics: [{ type: 'latency', latency: '5ms' }] }],
      ['http-fault', { listen: '127.0.0.1:0', upstream: up(), delay: { latency: '5ms' } }],
    ] as const) {
      const name = `chk-ok-${kind}-${process.pid}`;
      const r = await s.api('POST', '/api/v1/experiments', {
        metadata: { name },
        spec: { fault: { kind, params }, targets: { selector: { daemons: ['local'] } }, duration: '1m' },
      });
      expect([kind, r.status, r.body.error]).toEqual([kind, 201, undefined]);
      await waitFor(`${name} Running`, async () => (await phaseOf(s.api, name)) === 'Running');
      expect((await s.api('POST', `/api/v1/experiments/default/${name}/stop`)).status).toBe(200);
    }
  });
});
