import { checkPeers } from '../../daemon/faults/net';
import { controlEndpointsIn, exemptControlEndpoint } from '../../daemon/faults/control-port';
import { buildTable, lossVerdict, tableName } from '../../daemon/faults/nft-rules';
import { isLoopback, parseListen, urlFor } from '../../daemon/listen';
import { Protection } from '../../daemon/resolve/protect';
import { handleFor } from '../../daemon/sys/tc';
import { parseStat } from '../../daemon/sys/proc';
import { normalize } from '../../daemon/sys/cgroup';

// Pure parts of the daemon: nft table text, tc handles, --listen parsing, /proc parsing, protection.

describe('nft rules', () => {
  it('names the table after the fault id', () => {
    expect(tableName('exp-1')).toBe('faultline-exp-1');
  });

  it('uses numgen random for loss, with hundredths for fractional percents and a plain drop at 100', () => {
    expect(lossVerdict(30)).toBe('numgen random mod 100 < 30 drop');
    expect(lossVerdict(12.5)).toBe('numgen random mod 10000 < 1250 drop');
    expect(lossVerdict(100)).toBe('drop');
    expect(lossVerdict(0)).toBe('numgen random mod 100 < 0 drop');
  });

  it('builds egress and ingress chains that goto one verdict chain', () => {
    const text = buildTable('faultline-x', { direction: 'both', peers: ['10.0.0.0/8', 'fd00::/64'], ports: [80, 443], protocol: 'tcp' }, 'drop');
    expect(text).toContain('table inet faultline-x {');
    expect(text).toContain('type filter hook output priority -300; policy accept;');
    expect(text).toContain('type filter hook input priority -300; policy accept;');
    expect(text).toContain('oifname != "lo" ip daddr { 10.0.0.0/8 } meta l4proto tcp th dport { 80, 443 } goto fault');
    expect(text).toContain('oifname != "lo" ip6 daddr { fd00::/64 } meta l4proto tcp th sport { 80, 443 } goto fault');
    expect(text).toContain('iifname != "lo" ip saddr { 10.0.0.0/8 } meta l4proto tcp th dport { 80, 443 } goto fault');
    // 2 families × 2 port rules per direction
    expect(text.match(/goto fault/g)).toHaveLength(8);
  });

  it('only the asked direction, only the named interface, ports need l4proto', () => {
    const text = buildTable('t', { direction: 'egress', ports: [53], protocol: 'all', interface: 'eth0' }, 'drop');
    expect(text).not.toContain('hook input');
    expect(text).toContain('oifname "eth0" meta l4proto { tcp, udp } th dport { 53 } goto fault');
  });

  it("accepts the daemon's control traffic before any fault rule (control-port.ts)", () => {
    const text = buildTable('t', { direction: 'both', protocol: 'all', exempt: [{ host: '10.1.2.3', port: 9471 }, { host: '0.0.0.0', port: 9500 }, { host: 'fd00::1', port: 9600 }] }, 'drop');
    const egress = text.slice(text.indexOf('chain egress'), text.indexOf('chain ingress'));
    const ingress = text.slice(text.indexOf('chain ingress'));
    expect(egress).toContain('ip saddr 10.1.2.3 tcp sport 9471 accept');
    expect(egress).toContain('    tcp sport 9500 accept');
    expect(egress).toContain('ip6 saddr fd00::1 tcp sport 9600 accept');
    expect(ingress).toContain('ip daddr 10.1.2.3 tcp dport 9471 accept');
    expect(ingress).toContain('    tcp dport 9500 accept');
    // before the rule that sends everything else to the fault
    for (const chain of [egress, ingress]) expect(chain.lastIndexOf(' accept\n')).toBeLessThan(chain.indexOf('goto fault'));
    expect(buildTable('t', { direction: 'both', protocol: 'all' }, 'drop')).not.toContain('accept\n');
  });

  it('refuses addresses the schema pattern lets through', () => {
    expect(() => checkPeers(['10.0.0.1', '10.0.0.0/8', '::1', 'fd00::/64'])).not.toThrow();
    for (const bad of ['999.1.1.1', '10.0.0.0/33', 'fd00::/129', '1.2.3.4/8/9', ':::']) {
      expect(() => checkPeers([bad])).toThrow(/peers\/0/);
    }
  });
});

describe("the daemon's control endpoints", () => {
  it('are exempt in its own namespace (by any name of it), in no other', () => {
    const remove = exemptControlEndpoint({ host: '127.0.0.1', port: 9471 });
    try {
      expect(controlEndpointsIn()).toEqual([{ host: '127.0.0.1', port: 9471 }]);
      expect(controlEndpointsIn(`/proc/${process.pid}/ns/net`)).toEqual([{ host: '127.0.0.1', port: 9471 }]);
      expect(controlEndpointsIn('/nonexistent/netns')).toEqual([]);
    } finally {
      remove();
    }
    expect(controlEndpointsIn()).toEqual([]);
  });
});

describe('tc handles', () => {
  it('derives a stable, valid major handle from the id', () => {
    expect(handleFor('abc')).toBe(handleFor('abc'));
    expect(handleFor('abc')).not.toBe(handleFor('abd'));
    for (const id of ['a', 'exp-1', 'x'.repeat(63)]) {
      const major = parseInt(handleFor(id), 16);
      expect(major).toBeGreaterThan(0);
      expect(major).toBeLessThan(0xffff);
    }
  });
});

describe('--listen', () => {
  it('parses host:port, IPv6 in brackets, and refuses the rest', () => {
    expect(parseListen('127.0.0.1:9471')).toEqual({ host: '127.0.0.1', port: 9471 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseListen('localhost:80')).toEqual({ host: 'localhost', port: 80 });
    for (const bad of ['9471', '127.0.0.1', '127.0.0.1:70000', 'a b:1', 'host:-1', '$(x):1']) expect(() => parseListen(bad)).toThrow();
  });

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(isLoopback(h)).toBe(true);
    for (const h of ['0.0.0.0', '10.0.0.1', '::', 'example.com']) expect(isLoopback(h)).toBe(false);
    expect(urlFor('http', '::1', 5)).toBe('http://[::1]:5');
  });
});

describe('/proc parsing and protection', () => {
  it('parses stat lines whose comm has spaces and parentheses', () => {
    const line = '4242 (we(ird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 123456 1000000 250 18446744073709551615';
    expect(parseStat(line)).toMatchObject({ pid: 4242, comm: 'we(ird) name', state: 'S', ppid: 1, cpuTicks: 10, startTime: 123456, rssPages: 250 });
  });

  it('never allows pid 1, itself, its parent or --protect entries', () => {
    const p = new Protection(['4242', 'postgres', ' ']);
    expect(p.reasonFor({ pid: 1, comm: 'init' })).toMatch(/pid 1/);
    expect(p.reasonFor({ pid: process.pid, comm: 'node' })).toMatch(/daemon itself/);
    expect(p.reasonFor({ pid: process.ppid, comm: 'x' })).toMatch(/parent/);
    expect(p.reasonFor({ pid: 4242, comm: 'x' })).toMatch(/protected/);
    expect(p.reasonFor({ pid: 4243, comm: 'postgres' })).toMatch(/protected/);
    expect(p.reasonFor({ pid: 4244, comm: 'sleep' })).toBeUndefined();
  });

  it('keeps cgroup paths inside the hierarchy', () => {
    expect(normalize('system.slice//app.service/')).toBe('/system.slice/app.service');
    expect(() => normalize('/a/../../etc')).toThrow(/\.\./);
  });
});
