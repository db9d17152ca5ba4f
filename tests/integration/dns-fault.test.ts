import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { TObject } from '@sinclair/typebox';
import dnsFault from '../../daemon/faults/dns-fault';
import type { FaultKind } from '../../daemon/faults/types';
import { isSameProcess } from '../../daemon/sys/proc';
import { dig, getent, startDnsmasq, useResolver, type DnsServer } from '../helpers/dns';
import { addSecondAddressB, canUseNetns, makeNetnsPair, type NetnsPair } from '../helpers/netns';
import { describeWithTools } from '../helpers/require-tool';
import { daemonUrlOf, faultId, nftTables, request, startDaemonProcess, startTestDaemon, stopDaemonProcess, tempDir, waitFor } from './daemon-helpers';
import { injectFault, type TestFault } from './proxy-helpers';

// dns-fault against a real DNS server: dnsmasq in namespace B answers fixed names; namespace A resolves
// through it (resolv.conf), with dig (UDP and TCP) and getent (glibc, as applications do). While the fault
// runs, matching names fail (or get a random documentation address) whatever resolver was asked, other
// names resolve unchanged; after recovery, and after a kill -9 of the daemon and a restart, nothing is left.

jest.setTimeout(120_000);
const kind = dnsFault as unknown as FaultKind<TObject>;
const nsOk = canUseNetns();
const suite = nsOk.ok ? describeWithTools : (_t: string[], name: string, fn: () => void) => describe.skip(`${name} (skipped: ${nsOk.reason})`, fn);

const MATCH = 'match.example.test';
const OTHER = 'other.example.test';
const WILD = 'api.wild.test';
const RECORDS = {
  [MATCH]: '10.77.0.1',
  [OTHER]: '10.77.0.2',
  [WILD]: '10.77.0.3',
  'wild.test': '10.77.0.4',
  // the names of Chaos Mesh's examples/dns-chaos-example.yaml (patterns google.com, chaos-mesh.*, github.?om)
  'google.com': '10.77.1.1',
  'www.google.com': '10.77.1.2',
  'chaos-mesh.org': '10.77.1.3',
  'github.com': '10.77.1.4',
  'gitlab.com': '10.77.1.5',
};
/** A second resolver with answers of its own: forwarded queries must reach the one they were sent to. */
const RECORDS2 = { [OTHER]: '10.78.0.2', [MATCH]: '10.78.0.1' };
const DOC_V4 = /^(192\.0\.2|198\.51\.100|203\.0\.113)\.\d+$/;

suite(['nft', 'dnsmasq', 'dig', 'getent'], 'dns-fault (dnsmasq in a test-made namespace)', () => {
  let pair: NetnsPair;
  let dns: DnsServer;
  let dns2: DnsServer;
  let addrB2: string;
  let undoResolver: () => void;
  let dir: string;
  const faults: TestFault[] = [];
  const target = () => ({ processes: [], netnsPath: `/run/netns/${pair.a}`, netnsName: pair.a });
  const responderAlive = (s: { pid?: number; startTime?: number }) => isSameProcess(s.pid!, s.startTime!);

  beforeAll(async () => {
    pair = makeNetnsPair('dns');
    dir = tempDir('dns');
    undoResolver = useResolver(pair.a, pair.addrB);
    dns = await startDnsmasq(pair.b, pair.addrB, RECORDS, dir);
    // the second resolver: another address of B, reached from A by a host route
    addrB2 = addSecondAddressB(pair);
    const dir2 = path.join(dir, 'second');
    mkdirSync(dir2);
    dns2 = await startDnsmasq(pair.b, addrB2, RECORDS2, dir2);
  });

  // A test that fails before its own recover leaves nothing for the next ones (they share the namespace).
  afterEach(async () => {
    for (const f of faults.splice(0)) await f.recover().catch(() => undefined);
  });

  afterAll(async () => {
    for (const f of faults.splice(0)) await f.recover().catch(() => undefined);
    await dns?.stop();
    await dns2?.stop();
    undoResolver?.();
    pair?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('resolves every name before the fault', async () => {
    expect(await dig(pair.a, MATCH)).toEqual({ status: 'NOERROR', addresses: ['10.77.0.1'] });
    expect(await getent(pair.a, MATCH)).toEqual(['10.77.0.1']);
  });

  it('action error: matching names get NXDOMAIN over UDP and TCP, via resolv.conf or any server; others resolve unchanged', async () => {
    const f = await injectFault(kind, { action: 'error', patterns: [MATCH, '*.wild.test'] }, target());
    faults.push(f);
    expect(nftTables(pair.a)).toContain(`faultline-${f.ctx.id}`);
    expect(f.saved[0]).toMatchObject({ pid: f.state.pid, startTime: f.state.startTime }); // journaled before the redirect

    expect(await dig(pair.a, MATCH)).toEqual({ status: 'NXDOMAIN', addresses: [] });
    expect(await dig(pair.a, MATCH, { tcp: true })).toEqual({ status: 'NXDOMAIN', addresses: [] });
    expect(await dig(pair.a, MATCH, { server: pair.addrB })).toEqual({ status: 'NXDOMAIN', addresses: [] });
    expect(await dig(pair.a, 'MATCH.Example.Test')).toMatchObject({ status: 'NXDOMAIN' }); // names are case-insensitive
    expect(await dig(pair.a, WILD)).toMatchObject({ status: 'NXDOMAIN' });
    expect(await getent(pair.a, MATCH)).toEqual([]);

    expect(await dig(pair.a, OTHER)).toEqual({ status: 'NOERROR', addresses: ['10.77.0.2'] });
    expect(await dig(pair.a, OTHER, { tcp: true })).toEqual({ status: 'NOERROR', addresses: ['10.77.0.2'] });
    expect(await getent(pair.a, OTHER)).toEqual(['10.77.0.2']);
    // the wildcard wants a subdomain: the bare name is not one
    expect(await dig(pair.a, 'wild.test')).toEqual({ status: 'NOERROR', addresses: ['10.77.0.4'] });

    await f.recover();
    faults.pop();
    expect(nftTables(pair.a)).not.toContain('faultline-');
    expect(await responderAlive(f.state)).toBe(false);
    expect(await dig(pair.a, MATCH)).toEqual({ status: 'NOERROR', addresses: ['10.77.0.1'] });
    expect(await dig(pair.a, MATCH, { tcp: true })).toEqual({ status: 'NOERROR', addresses: ['10.77.0.1'] });
    expect(await getent(pair.a, MATCH)).toEqual(['10.77.0.1']);
    await f.recover(); // idempotent
  });

  it('action error with rcode SERVFAIL, and action random (a documentation address, over UDP and TCP)', async () => {
    const e = await injectFault(kind, { action: 'error', rcode: 'SERVFAIL', patterns: ['match.*'] }, target());
    faults.push(e);
    expect(await dig(pair.a, MATCH, { server: pair.addrB })).toMatchObject({ status: 'SERVFAIL' });
    await e.recover();
    faults.pop();

    const r = await injectFault(kind, { action: 'random', patterns: ['match.example.te?t'] }, target());
    faults.push(r);
    for (const tcp of [false, true]) {
      const got = await dig(pair.a, MATCH, { tcp });
      expect(got.status).toBe('NOERROR');
      expect(got.addresses).toHaveLength(1);
      expect(got.addresses[0]).toMatch(DOC_V4);
    }
    expect((await dig(pair.a, MATCH, { type: 'AAAA' })).addresses[0]).toMatch(/^2001:db8:/);
    expect(await getent(pair.a, MATCH)).toEqual([expect.stringMatching(DOC_V4)]);
    expect(await dig(pair.a, OTHER)).toEqual({ status: 'NOERROR', addresses: ['10.77.0.2'] });
    await r.recover();
    faults.pop();
    expect(nftTables(pair.a)).not.toContain('faultline-');
  });

  it('names that do not match go to the resolver they were sent to, over UDP and TCP, with its own answer', async () => {
    expect(await dig(pair.a, OTHER, { server: addrB2 })).toEqual({ status: 'NOERROR', addresses: ['10.78.0.2'] }); // before
    const f = await injectFault(kind, { action: 'error', rcode: 'SERVFAIL', patterns: [MATCH] }, target());
    faults.push(f);
    for (const tcp of [false, true]) {
      expect(await dig(pair.a, OTHER, { server: addrB2, tcp })).toEqual({ status: 'NOERROR', addresses: ['10.78.0.2'] });
      expect(await dig(pair.a, OTHER, { server: pair.addrB, tcp })).toEqual({ status: 'NOERROR', addresses: ['10.77.0.2'] });
      expect(await dig(pair.a, OTHER, { tcp })).toEqual({ status: 'NOERROR', addresses: ['10.77.0.2'] }); // resolv.conf's
      // a matching name is faulted whichever resolver was asked
      expect(await dig(pair.a, MATCH, { server: addrB2, tcp })).toMatchObject({ status: 'SERVFAIL' });
    }
    await f.recover();
    faults.pop();
    expect(await dig(pair.a, MATCH, { server: addrB2 })).toEqual({ status: 'NOERROR', addresses: ['10.78.0.1'] });
  });

  it('the patterns of Chaos Mesh\'s examples/dns-chaos-example.yaml match as Chaos Mesh\'s DNS server matches them', async () => {
    const f = await injectFault(kind, { action: 'error', patterns: ['google.com', 'chaos-mesh.*', 'github.?om'] }, target());
    faults.push(f);
    for (const name of ['google.com', 'chaos-mesh.org', 'github.com']) expect([name, (await dig(pair.a, name)).status]).toEqual([name, 'NXDOMAIN']);
    // an exact pattern is that name only (k8s_dns_chaos adds the trailing dot, not subdomains)
    expect(await dig(pair.a, 'www.google.com')).toEqual({ status: 'NOERROR', addresses: ['10.77.1.2'] });
    expect(await dig(pair.a, 'gitlab.com')).toEqual({ status: 'NOERROR', addresses: ['10.77.1.5'] });
    await f.recover();
    faults.pop();
    expect(await dig(pair.a, 'google.com')).toEqual({ status: 'NOERROR', addresses: ['10.77.1.1'] });
  });

  it('percent 50 faults some matching queries and forwards the others', async () => {
    const f = await injectFault(kind, { action: 'error', patterns: [MATCH], percent: 50 }, target());
    faults.push(f);
    const seen = { NXDOMAIN: 0, NOERROR: 0, other: 0 };
    // 40 draws: all one way has a probability of 2 × 2^-40
    for (let i = 0; i < 40; i++) {
      const r = await dig(pair.a, MATCH);
      if (r.status === 'NXDOMAIN') seen.NXDOMAIN++;
      else if (r.status === 'NOERROR' && r.addresses[0] === '10.77.0.1') seen.NOERROR++;
      else seen.other++;
    }
    expect(seen.other).toBe(0);
    expect(seen.NXDOMAIN).toBeGreaterThan(0);
    expect(seen.NOERROR).toBeGreaterThan(0);
    await f.recover();
    faults.pop();
  });

  it('percent 0 faults nothing: every query is forwarded', async () => {
    const f = await injectFault(kind, { action: 'error', patterns: ['*'], percent: 0 }, target());
    faults.push(f);
    for (let i = 0; i < 5; i++) expect(await dig(pair.a, MATCH)).toEqual({ status: 'NOERROR', addresses: ['10.77.0.1'] });
    await f.recover();
    faults.pop();
  });

  it('through the daemon: bad params are a 400 naming the field, and nothing is started or journaled', async () => {
    const dm = await startTestDaemon({}, 'dns-bad');
    try {
      const bad: [Record<string, unknown>, string][] = [
        [{ action: 'error', patterns: ['no spaces allowed'] }, '/params/patterns/0'],
        [{ action: 'error', patterns: Array(5000).fill('a.com') }, '/params/patterns'],
        [{ action: 'error', patterns: ['a.com'], percent: 1000 }, '/params/percent'],
        [{ action: 'random', patterns: ['a.com'], rcode: 'NXDOMAIN' }, '/params/rcode'],
      ];
      for (const [params, field] of bad) {
        const res = await dm.req('POST', '/v1/faults', { id: faultId('dnsbad'), kind: 'dns-fault', params, target: { netns: pair.a } });
        expect([res.status, res.body.error.details.map((d: { field: string }) => d.field)]).toEqual([400, expect.arrayContaining([field])]);
      }
      expect((await dm.req('GET', '/v1/faults')).body.faults).toEqual([]);
      expect(nftTables(pair.a)).not.toContain('faultline-');
    } finally {
      await dm.destroy();
    }
  });

  it('through the daemon: kill -9, the watchdog reverts the table and stops the responder, a restart finds nothing', async () => {
    const stateDir = tempDir('dns-crash');
    let daemon = startDaemonProcess(stateDir);
    try {
      let url = await daemonUrlOf(stateDir, daemon);
      const id = faultId('dns');
      const res = await request(url, 'POST', '/v1/faults', { id, kind: 'dns-fault', params: { action: 'error', patterns: [MATCH] }, target: { netns: pair.a }, leaseSeconds: 300 });
      expect(res.status).toBe(201);
      const state = res.body.state as { pid: number; startTime: number };
      expect(await dig(pair.a, MATCH)).toMatchObject({ status: 'NXDOMAIN' });

      daemon.kill('SIGKILL');
      await new Promise((r) => daemon.once('exit', r));
      // the daemon's watchdog reverts what the journal holds without waiting for a restart
      await waitFor('responder gone', async () => !(await responderAlive(state)), 10_000);
      await waitFor('redirect table gone', async () => !nftTables(pair.a).includes('faultline-'), 10_000);
      expect(await dig(pair.a, MATCH)).toEqual({ status: 'NOERROR', addresses: ['10.77.0.1'] });

      daemon = startDaemonProcess(stateDir);
      url = await daemonUrlOf(stateDir, daemon);
      expect((await request(url, 'GET', '/v1/faults')).body.faults).toEqual([]);
      expect(nftTables(pair.a)).not.toContain('faultline-');
    } finally {
      await stopDaemonProcess(daemon);
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('the responder ends itself, redirect and all, when the daemon is gone and the lease ran out', async () => {
    const stateDir = tempDir('dns-deadman');
    const daemon = startDaemonProcess(stateDir);
    try {
      const url = await daemonUrlOf(stateDir, daemon);
      const res = await request(url, 'POST', '/v1/faults', { id: faultId('dnsdm'), kind: 'dns-fault', params: { action: 'error', patterns: [MATCH] }, target: { netns: pair.a }, leaseSeconds: 8 });
      expect(res.status).toBe(201);
      const state = res.body.state as { pid: number; startTime: number };
      // the watchdog too: this is the responder's own dead-man switch, for when both are gone
      const watchdog = JSON.parse(readFileSync(path.join(stateDir, 'daemon.lock'), 'utf8')).watchdog?.pid as number | undefined;
      if (watchdog) process.kill(watchdog, 'SIGKILL');
      daemon.kill('SIGKILL');
      await new Promise((r) => daemon.once('exit', r));
      // dead-man switch: lease (8 s; long enough for the responder to start on a busy machine) + grace (30 s), checked every second
      await waitFor('responder ending itself', async () => !(await responderAlive(state)), 90_000, 500);
      expect(execFileSync('ip', ['netns', 'exec', pair.a, 'nft', 'list', 'tables'], { encoding: 'utf8' })).not.toContain('faultline-');
      expect(await dig(pair.a, MATCH)).toEqual({ status: 'NOERROR', addresses: ['10.77.0.1'] });
    } finally {
      await stopDaemonProcess(daemon);
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 150_000);
});
