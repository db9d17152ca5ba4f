import spec from '../../api/kinds/dns-fault';
import { check } from '../../api/validate';
import { ApiError } from '../../api/errors';
import dnsFault from '../../daemon/faults/dns-fault';
import { errorAnswer, parseQuery, randomAnswer, RCODE, TYPE_A, TYPE_AAAA } from '../../daemon/dns/message';
import { compilePatterns, globMatch } from '../../daemon/dns/patterns';
import { decider } from '../../daemon/dns/responder';
import { dnsRedirectScript } from '../../daemon/dns/redirect';

// The pure parts of dns-fault: its params schema (bad and hostile values are a 400 naming the field),
// Chaos Mesh pattern matching, and the DNS messages the responder reads and writes.

/** A query as a resolver writes it: header (RD set), one question, optionally an EDNS OPT record. */
function query(name: string, type = TYPE_A, id = 0x1234): Buffer {
  const labels = name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  const header = Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]);
  const opt = Buffer.from([0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, ...labels, Buffer.from([0, type >> 8, type & 0xff, 0, 1]), opt]);
}

const fields = (params: unknown) => check(spec.params, params, '/params').map((d) => d.field);

describe('dns-fault params', () => {
  it('takes the Chaos Mesh DNSChaos shape', () => {
    expect(fields({ action: 'error', patterns: ['google.com', 'chaos-mesh.*', 'github.?om', '*.example.com', '*', 'x.org.'] })).toEqual([]);
    expect(fields({ action: 'error', patterns: ['a.b'], rcode: 'SERVFAIL', percent: 12.5 })).toEqual([]);
    expect(fields({ action: 'random', patterns: ['a.b'], percent: 0 })).toEqual([]);
  });

  it.each([
    ['not a DNS name', { action: 'error', patterns: ['not a name!'] }, '/params/patterns/0'],
    ['a * inside a name', { action: 'error', patterns: ['ok.com', 'exa*mple.com'] }, '/params/patterns/1'],
    ['an empty pattern', { action: 'error', patterns: [''] }, '/params/patterns/0'],
    ['an empty label', { action: 'error', patterns: ['a..b'] }, '/params/patterns/0'],
    ['a label over 63', { action: 'error', patterns: [`${'a'.repeat(64)}.com`] }, '/params/patterns/0'],
    ['a name over 255', { action: 'error', patterns: [Array(70).fill('abcd').join('.')] }, '/params/patterns/0'],
    ['a regex', { action: 'error', patterns: ['(a+)+$'] }, '/params/patterns/0'],
    ['no patterns', { action: 'error', patterns: [] }, '/params/patterns'],
    ['a huge array', { action: 'error', patterns: Array(100_000).fill('a.com') }, '/params/patterns'],
    ['patterns not an array', { action: 'error', patterns: 'a.com' }, '/params/patterns'],
    ['percent over 100', { action: 'error', patterns: ['a.com'], percent: 101 }, '/params/percent'],
    ['percent below 0', { action: 'error', patterns: ['a.com'], percent: -1 }, '/params/percent'],
    ['percent as a string', { action: 'error', patterns: ['a.com'], percent: '50' }, '/params/percent'],
    ['an unknown action', { action: 'delay', patterns: ['a.com'] }, '/params/action'],
    ['an unknown rcode', { action: 'error', patterns: ['a.com'], rcode: 'REFUSED' }, '/params/rcode'],
    ['an unknown field', { action: 'error', patterns: ['a.com'], scope: 'all' }, '/params/scope'],
  ])('refuses %s, naming the field', (_what, params, field) => {
    expect(fields(params)).toContain(field);
  });

  it('refuses rcode with action random (precheck, before anything is journaled)', async () => {
    const err = await dnsFault.precheck!({ action: 'random', patterns: ['a.com'], rcode: 'SERVFAIL' }, { processes: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
    expect((err as ApiError).details?.[0].field).toBe('/params/rcode');
  });
});

describe('DNSChaos patterns', () => {
  it('match as Chaos Mesh documents: ? one character, * any run, case-insensitive, trailing dot ignored', () => {
    const m = compilePatterns(['google.com', 'chaos-mesh.*', 'github.?om', '*.example.com']);
    for (const yes of ['google.com', 'GOOGLE.com.', 'chaos-mesh.org', 'chaos-mesh.org.cn', 'github.com', 'github.xom', 'a.example.com', 'a.b.example.com']) expect([yes, m(yes)]).toEqual([yes, true]);
    for (const no of ['www.google.com', 'google.co', 'chaos-mesh', 'github.coom', 'example.com', 'xexample.com']) expect([no, m(no)]).toEqual([no, false]);
    expect(compilePatterns(['*'])('anything.at.all')).toBe(true);
  });

  it('stays linear on hostile input', () => {
    const name = `${'a'.repeat(250)}b`;
    expect(globMatch('*a*a*a*a*a*a*a*a*c', name)).toBe(false);
  });
});

describe('DNS messages', () => {
  it('reads the first question of a query, and refuses what is not one', () => {
    expect(parseQuery(query('WWW.Example.com', TYPE_AAAA))).toMatchObject({ id: 0x1234, name: 'www.example.com', type: TYPE_AAAA, qclass: 1 });
    const response = query('a.com');
    response[2] |= 0x80;
    expect(parseQuery(response)).toBeUndefined();
    expect(parseQuery(Buffer.alloc(5))).toBeUndefined();
    expect(parseQuery(query('a.com').subarray(0, 16))).toBeUndefined(); // cut inside the name
    const bomb = Buffer.concat([query('a.com').subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]); // a pointer in the question
    expect(parseQuery(bomb)).toBeUndefined();
  });

  it('answers with the query id, RD copied, QR and RA set, the question copied and no OPT', () => {
    const q = query('a.com');
    const a = errorAnswer(q, parseQuery(q)!, RCODE.NXDOMAIN);
    expect(a.readUInt16BE(0)).toBe(0x1234);
    expect(a.readUInt16BE(2)).toBe(0x8183);
    expect([a.readUInt16BE(4), a.readUInt16BE(6), a.readUInt16BE(8), a.readUInt16BE(10)]).toEqual([1, 0, 0, 0]);
    expect(a.subarray(12)).toEqual(q.subarray(12, parseQuery(q)!.questionEnd));
  });

  it('random answers: one A in a documentation range, one AAAA in 2001:db8::/32, nothing for other types', () => {
    const a = randomAnswer(query('a.com'), parseQuery(query('a.com'))!);
    expect(a.readUInt16BE(6)).toBe(1);
    expect([192 * 65536 + 2, 198 * 65536 + 51 * 256 + 100, 203 * 65536 + 113]).toContain(a.readUIntBE(a.length - 4, 3));
    const q6 = query('a.com', TYPE_AAAA);
    const a6 = randomAnswer(q6, parseQuery(q6)!);
    expect(a6.readUInt32BE(a6.length - 16)).toBe(0x20010db8);
    const mx = query('a.com', 15);
    expect(randomAnswer(mx, parseQuery(mx)!).readUInt16BE(6)).toBe(0);
  });

  it('faults percent of the matching queries and forwards the rest', () => {
    let r = 0;
    const decide = decider({ action: 'error', patterns: ['a.com'], percent: 30 }, () => (r++ % 10) / 10);
    const faulted = Array.from({ length: 100 }, () => decide(query('a.com'))).filter(Boolean).length;
    expect(faulted).toBe(30);
    expect(decide(query('b.com'))).toBeUndefined();
    expect(decider({ action: 'error', patterns: ['a.com'] })(query('a.com'))!.readUInt16BE(2) & 0xf).toBe(RCODE.NXDOMAIN);
  });
});

describe('dns redirect table', () => {
  it('sends UDP and TCP port 53 leaving the namespace to the responder, except the responder\'s own sockets', () => {
    const t = dnsRedirectScript('faultline-x', 40000);
    expect(t).toContain('type nat hook output priority -100;');
    expect(t).toMatch(/meta skgid != \d+ udp dport 53 redirect to :40000/);
    expect(t).toMatch(/meta skgid != \d+ tcp dport 53 redirect to :40000/);
    expect(t).not.toContain('prerouting');
  });
});
