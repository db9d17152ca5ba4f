import { cidrProblem, endpointProblem, isIPv4, isIPv6 } from '../../api/addresses';
import { diskPathProblems, normalizeAbsolute } from '../../api/disk-paths';
import { KIND_SPECS } from '../../api/kinds/index';
import { kindProblems } from '../../api/kinds/types';
import { proxyModeProblems } from '../../api/proxy';

// The pure checks behind the kinds' `check` (api/kinds): no file system, no node:net, so the panel's
// form (a browser) runs them as the exporter and the daemon do.

describe('addresses', () => {
  it('IPv4 octets stop at 255, IPv6 is what a URL takes in brackets', () => {
    for (const ok of ['0.0.0.0', '10.0.0.1', '255.255.255.255']) expect([ok, isIPv4(ok)]).toEqual([ok, true]);
    for (const bad of ['256.0.0.1', '1.2.3', '01.2.3.4.5', '1.2.3.4 ']) expect([bad, isIPv4(bad)]).toEqual([bad, false]);
    for (const ok of ['::', '::1', 'fd00::1', '::ffff:10.0.0.1']) expect([ok, isIPv6(ok)]).toEqual([ok, true]);
    for (const bad of [':::', '1::2::3', 'fd00::g', '10.0.0.1', '']) expect([bad, isIPv6(bad)]).toEqual([bad, false]);
  });

  it('CIDRs: a prefix within the family', () => {
    for (const ok of ['10.0.0.0/8', '10.0.0.1', 'fd00::/64', '::1/128']) expect(cidrProblem(ok)).toBeUndefined();
    for (const bad of ['999.1.1.1', '10.0.0.0/33', 'fd00::/129', '1.2.3.4/8/9', ':::', '10.0.0.0/']) expect(cidrProblem(bad)).toMatch(/not an IPv4\/IPv6/);
  });

  it('endpoints: host:port or [v6]:port, the port in range', () => {
    expect(endpointProblem('127.0.0.1:0', 0)).toBeUndefined();
    expect(endpointProblem('db.internal:5432', 1)).toBeUndefined();
    expect(endpointProblem('[::1]:80', 1)).toBeUndefined();
    expect(endpointProblem('127.0.0.1:0', 1)).toMatch(/1\.\.65535/);
    expect(endpointProblem('127.0.0.1:65536', 0)).toMatch(/0\.\.65535/);
    expect(endpointProblem('300.0.0.1:80', 1)).toMatch(/not an IPv4/);
    expect(endpointProblem('[1::2::3]:80', 1)).toMatch(/not an IPv6/);
    expect(endpointProblem('nope', 1)).toMatch(/host:port/);
  });
});

describe('disk paths', () => {
  it('normalizes as path.posix.resolve does for absolute paths', () => {
    expect(normalizeAbsolute('//etc/')).toBe('/etc');
    expect(normalizeAbsolute('/tmp/../etc/./x')).toBe('/etc/x');
    expect(normalizeAbsolute('/..')).toBe('/');
  });

  it('refuses / and the system trees as written, takes the rest', () => {
    for (const bad of ['/', '/etc', '/dev/shm', '/proc/self/cwd', '/tmp/../usr/lib', '//run/', '/sys/fs/cgroup', 'relative']) {
      expect([bad, diskPathProblems({ path: bad }).map((d) => d.field)]).toEqual([bad, ['/path']]);
    }
    for (const ok of ['/tmp', '/data', '/var/lib/app', '/mnt/x', '/etcetera', '/devices']) expect([ok, diskPathProblems({ path: ok })]).toEqual([ok, []]);
  });
});

describe('a kind check', () => {
  it('proxy mode: explicit or transparent, each mistake named', () => {
    expect(proxyModeProblems({ port: 80 })).toEqual([]);
    expect(proxyModeProblems({ listen: '127.0.0.1:0', upstream: '127.0.0.1:80' })).toEqual([]);
    expect(proxyModeProblems({ port: 80, listen: '127.0.0.1:0', upstream: 'x:1' }).map((d) => d.field)).toEqual(['/listen', '/upstream']);
  });

  it('puts the caller prefix in front; kinds without a check have no problems', () => {
    const tcp = KIND_SPECS.find((k) => k.kind === 'tcp-fault')!;
    expect(kindProblems(tcp, { toxics: [] }, '/spec/fault/params')).toEqual([{ field: '/spec/fault/params/listen', reason: expect.stringMatching(/required/) }]);
    const pause = KIND_SPECS.find((k) => k.kind === 'process-pause')!;
    expect(kindProblems(pause, {}, '/params')).toEqual([]);
  });
});
