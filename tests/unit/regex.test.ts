import { Type } from '@sinclair/typebox';
import { ApiError } from '../../api/errors';
import { ExperimentInput } from '../../api/experiment';
import { kindSpec } from '../../api/kinds';
import { compileUserRegex, parseUserRegex, regexProblem, RegexString, RegexSyntaxError } from '../../api/regex';
import { check, validate } from '../../api/validate';
import { compileMatcher } from '../../daemon/proxy/http-match';
import { matches, parseMatcher, parseSelector } from '../../exporter/guards/matchers';
import { parsePolicy } from '../../exporter/policy';

// The one regex helper (api/regex.ts): RE2 syntax as Prometheus takes it, parsed before anchoring,
// linear in the input, and a refusal that names the field. Hostile patterns below would take
// seconds to hours with JavaScript's RegExp; here each test simply returns.

const anchored = (s: string) => compileUserRegex(s, { anchored: true, field: '/f' });
const partial = (s: string) => compileUserRegex(s, { anchored: false, field: '/f' });

function refusal(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('was not refused');
}

describe('RE2 syntax, as Prometheus and Alertmanager take it', () => {
  it.each([
    ['[[:alpha:]]+', 'abcXYZ', true],
    ['[[:alpha:]]+', 'abc1', false],
    ['\\pL+', 'héllo', true],
    ['\\p{Greek}+', 'αβγ', true],
    ['(?i)high.*', 'HIGHerror', true],
    ['(?i:api)-x', 'API-x', true],
    ['\\x{41}\\x42', 'AB', true],
    ['(?P<svc>api|web)', 'web', true],
    ['\\Qa.b\\E', 'a.b', true],
    ['\\Qa.b\\E', 'axb', false],
    ['a.b', 'a\nb', true], // `.` matches a newline when anchored, as Prometheus' ^(?s:…)$
    ['(?-s)a.b', 'a\nb', false],
    ['\\d+', '٣', false], // \d is ASCII in RE2
  ])('%s anchored on %j → %s', (re, input, want) => {
    expect(anchored(re).test(input)).toBe(want);
  });

  it('anchored means the whole value; unanchored means any part', () => {
    expect(anchored('api|web').test('api')).toBe(true);
    expect(anchored('api|web').test('xweb')).toBe(false);
    expect(anchored('api|web').test('api-gateway')).toBe(false);
    expect(anchored('a|ab').test('ab')).toBe(true); // leftmost-first must not stop the anchored match at "a"
    expect(partial('api|web').test('xweb')).toBe(true);
    expect(partial('^nginx').test('nginx: worker')).toBe(true);
    expect(partial('^nginx$').test('nginx: worker')).toBe(false);
    expect(partial('').test('anything')).toBe(true);
  });

  it('cannot be escaped: the pattern is parsed alone before it is anchored', () => {
    for (const hostile of ['api)|(.*', 'prod)|(.*', ')|(', 'x)|.*|(y']) {
      const err = refusal(() => anchored(hostile));
      expect(err.status).toBe(400);
      expect(err.details).toEqual([{ field: '/f', reason: expect.stringContaining('is not a valid RE2 regular expression') }]);
    }
    // valid on their own, still anchored as a whole
    expect(anchored('api|.*x').test('billing')).toBe(false);
    expect(anchored('(api)|(.*)').test('billing')).toBe(true);
    // an unterminated \Q is valid RE2 (quotes to the end): it stays a literal, anchored
    expect(anchored('\\Qa)|(.*').test('a)|(.*')).toBe(true);
    expect(anchored('\\Qa)|(.*').test('billing')).toBe(false);
  });

  it.each([
    ['(a)\\1', 'backreferences'],
    ['(?=a)b', 'lookahead'],
    ['(?!a)b', 'lookahead'],
    ['(?<=a)b', 'lookbehind'],
    ['(?<!a)b', 'lookbehind'],
    ['\\u0041', '\\x{263A}'],
    ['a++', 'possessive'],
    ['a{1001}', 'at most 1000'],
    ['(a{100}){100}', 'at most 1000'],
    ['(', 'missing closing )'],
    ['[z-a]', 'invalid character class range'],
  ])('refuses %s, saying why (%s), naming the field', (re, why) => {
    const err = refusal(() => compileUserRegex(re, { anchored: false, field: '/spec/targets/selector/processName' }));
    expect(err.status).toBe(400);
    expect(err.message).toContain('/spec/targets/selector/processName is not a valid RE2 regular expression');
    expect(err.details?.[0].field).toBe('/spec/targets/selector/processName');
    expect(err.details?.[0].reason).toContain(why);
    expect(regexProblem(re)).toContain(why);
    expect(() => parseUserRegex(re, true)).toThrow(RegexSyntaxError);
  });

  it('error messages quote the pattern as written, not the engine-added flags', () => {
    expect(regexProblem('(')).toBe('is not a valid RE2 regular expression: missing closing ): `(`');
    expect(refusal(() => anchored('(')).details?.[0].reason).toBe('is not a valid RE2 regular expression: missing closing ): `(`');
  });
});

describe('linear time on the inputs from the report', () => {
  // Each of these blocks a JavaScript RegExp for seconds (the bench prints by how much);
  // if the engine backtracked, the test would not end.
  it('a processName selector ^(a+)+Q over a command line of 31 a (and of 100 000)', () => {
    expect(partial('^(a+)+Q').test('a'.repeat(31))).toBe(false);
    expect(partial('^(a+)+Q').test('a'.repeat(100_000))).toBe(false);
    expect(partial('(a|aa)+$b').test('a'.repeat(100_000))).toBe(false);
  });

  it('a guard service=~"(a+)+b" against an alert label of 29 a (and of 100 000)', () => {
    const m = parseMatcher('service=~"(a+)+b"');
    expect(matches(m, { service: 'a'.repeat(29) })).toBe(false);
    expect(matches(m, { service: 'a'.repeat(100_000) })).toBe(false);
    expect(matches(m, { service: 'aaab' })).toBe(true);
  });

  it('http-fault path and header rules against long request heads', () => {
    const m = compileMatcher({ pathRegex: '^/(a+)+b$', headers: { 'X-Env': '(a|a)*prod' } });
    const req = (url: string, env: string) => ({ method: 'GET', url, headers: { 'x-env': env } });
    expect(m(req(`/${'a'.repeat(5000)}`, 'prod'))).toBe(false);
    expect(m(req('/aaab', 'a'.repeat(5000)))).toBe(false);
    expect(m(req('/aaab', 'aaprod'))).toBe(true);
    // a path glob with many ** is RE2 too (polynomial backtracking in a RegExp)
    expect(compileMatcher({ path: '/**a**a**a**a**a**a**b' })(req(`/${'a'.repeat(5000)}`, ''))).toBe(false);
  });
});

describe('guard matchers use the helper', () => {
  it('refuse an escaping regex with a matcher error', () => {
    expect(() => parseSelector('service=~"api)|(.*"')).toThrow('invalid regular expression (RE2 syntax): unexpected )');
    expect(() => parseSelector('service=~"(a)\\\\1"')).toThrow('backreferences');
  });
  it('take RE2 classes and flags', () => {
    expect(matches(parseMatcher('service=~"[[:alpha:]]+"'), { service: 'billing' })).toBe(true);
    expect(matches(parseMatcher('service=~"\\\\pL+"'), { service: 'façade' })).toBe(true);
    expect(matches(parseMatcher('service=~"(?i)API"'), { service: 'api' })).toBe(true);
    expect(matches(parseMatcher('service!~"api|web"'), { service: 'billing' })).toBe(true);
  });
});

describe('http-fault rules use the helper', () => {
  const fieldsOf = (fn: () => unknown) => refusal(fn).details?.map((d) => d.field);
  it('a header rule prod)|(.* is refused, not matching staging', () => {
    expect(fieldsOf(() => compileMatcher({ headers: { 'X-Env': 'prod)|(.*' } }))).toEqual(['/params/match/headers/X-Env']);
    const m = compileMatcher({ headers: { 'X-Env': 'prod|canary' } });
    expect(m({ method: 'GET', url: '/', headers: { 'x-env': 'staging' } })).toBe(false);
    expect(m({ method: 'GET', url: '/', headers: { 'x-env': 'prod' } })).toBe(true);
  });
  it('pathRegex is RE2', () => {
    expect(fieldsOf(() => compileMatcher({ pathRegex: '^/(?=admin)' }))).toEqual(['/params/match/pathRegex']);
    expect(compileMatcher({ pathRegex: '^/[[:alpha:]]+$' })({ method: 'GET', url: '/users?x', headers: {} })).toBe(true);
  });
});

describe('schemas declare RE2 fields once (format re2), so API, CLI and form refuse alike', () => {
  const Schema = Type.Object({ re: RegexString('a test regex') });

  it('describes the field as RE2 syntax', () => {
    expect(Schema.properties.re.description).toMatch(/RE2 syntax/);
    expect(Schema.properties.re.format).toBe('re2');
  });

  it('refuses with RE2 reason, naming the field', () => {
    expect(check(Schema, { re: '(a)\\1' })).toEqual([{ field: '/re', reason: expect.stringMatching(/not a valid RE2 regular expression.*backreferences/) }]);
    expect(check(Schema, { re: 'api)|(.*' })).toEqual([{ field: '/re', reason: expect.stringContaining('unexpected )') }]);
    expect(check(Schema, { re: '[[:alpha:]]\\pL(?i)x' })).toEqual([]);
    expect(() => validate(Schema, { re: '(?<=a)' }, 'thing')).toThrow('invalid thing: /re is not a valid RE2 regular expression');
  });

  it('every regex field of the experiment and the http-fault kind is checked', () => {
    const exp = {
      metadata: { name: 'x' },
      spec: { fault: { kind: 'process-pause', params: {} }, targets: { selector: { processName: '(?=sleep)' } }, duration: '30s' },
    };
    expect(check(ExperimentInput, exp).map((d) => d.field)).toEqual(['/spec/targets/selector/processName']);
    // guard matchers too (the form checks them with the parser the exporter evaluates them with)
    const guarded = { ...exp, spec: { ...exp.spec, targets: { selector: { pids: [1] } }, guards: { alerts: ['alertname="X"', 'service=~"api)|(.*"'] } } };
    expect(check(ExperimentInput, guarded)).toEqual([{ field: '/spec/guards/alerts/1', reason: expect.stringContaining('invalid regular expression (RE2 syntax): unexpected )') }]);
    const fine = { ...guarded, spec: { ...guarded.spec, guards: { alerts: ['service=~"[[:alpha:]]+"', '{env=~"(?i)prod", team!~"\\\\pL+"}'] } } };
    expect(check(ExperimentInput, fine)).toEqual([]);
    const params = kindSpec('http-fault')!.params;
    const bad = check(params, { port: 80, abort: {}, match: { pathRegex: '\\1', headers: { 'X-Env': 'prod)|(.*' } } }, '/spec/fault/params');
    expect(bad.map((d) => d.field).sort()).toEqual(['/spec/fault/params/match/headers/X-Env', '/spec/fault/params/match/pathRegex']);
  });
});

describe('the policy file uses the helper', () => {
  it('protectedProcessNames are RE2, anchored; a refused one names its entry', () => {
    const err = refusal(() => parsePolicy('protectedProcessNames: [sshd, "(a)\\\\1"]'));
    expect(err.details).toEqual([{ field: '/protectedProcessNames/1', reason: expect.stringContaining('backreferences') }]);
    const p = parsePolicy('protectedProcessNames: ["[[:alpha:]]+d", "(a+)+b"]');
    expect(() => p.checkTargets([{ description: 'pid 7', processName: 'sshd' }], 10)).toThrow('protected process sshd');
    expect(() => p.checkTargets([{ description: 'pid 8', processName: 'sshd2' }], 10)).not.toThrow();
    // a hostile name against a hostile protected pattern: answered, not backtracked
    expect(() => p.checkTargets([{ description: 'pid 9', processName: 'a'.repeat(40) }], 10)).not.toThrow();
  });
});
