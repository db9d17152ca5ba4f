import { compilePromRegex, formatSelector, matches, MatcherSyntaxError, parseMatcher, parseSelector, selectorMatches } from '../../../exporter/guards/matchers';

describe('Prometheus matcher syntax', () => {
  it.each([
    ['alertname="HighErrorRate"', 'alertname', '=', 'HighErrorRate'],
    ['service!="db"', 'service', '!=', 'db'],
    ['service=~"api|web"', 'service', '=~', 'api|web'],
    ['service !~ "api.*"', 'service', '!~', 'api.*'],
    ["team='sre'", 'team', '=', 'sre'],
    ['path=~`a\\.b`', 'path', '=~', 'a\\.b'],
    ['msg="a \\"quoted\\" \\\\ value\\n"', 'msg', '=', 'a "quoted" \\ value\n'],
    ['u="\\u00e9\\x41\\101"', 'u', '=', 'éAA'],
    ['alertname=Watchdog', 'alertname', '=', 'Watchdog'],
    ['empty=""', 'empty', '=', ''],
  ])('parses %s', (input, name, op, value) => {
    const m = parseMatcher(input);
    expect(m).toMatchObject({ name, op, value });
  });

  it.each([
    ['', 'expected a label name'],
    ['1abc="x"', 'expected a label name'],
    ['alertname', 'expected one of'],
    ['alertname=="x"', 'expected a quoted value'],
    ['alertname=', 'expected a quoted value'],
    ['a="unterminated', 'unterminated string'],
    ['a="bad \\q escape"', 'unknown escape'],
    ['a=~"("', 'invalid regular expression (RE2 syntax): missing closing ): `(`'],
    ['a="x" b="y"', 'unexpected'],
    ['{a="x"', 'expected "}"'],
    ['a="\\x4"', 'hex digits'],
  ])('rejects %s', (input, reason) => {
    expect(() => parseSelector(input)).toThrow(MatcherSyntaxError);
    expect(() => parseSelector(input)).toThrow(reason);
  });

  it('parses selectors of several matchers, with or without braces', () => {
    expect(parseSelector('{alertname="X", service=~"api|web",}')).toHaveLength(2);
    expect(parseSelector('alertname="X",severity="critical"')).toHaveLength(2);
    expect(formatSelector(parseSelector('{a="1", b!~"2"}'))).toBe('{a="1", b!~"2"}');
    expect(() => parseMatcher('a="1", b="2"')).toThrow('exactly one');
  });

  it('anchors regexes as Prometheus does', () => {
    const m = parseMatcher('service=~"api|web"');
    expect(matches(m, { service: 'api' })).toBe(true);
    expect(matches(m, { service: 'web' })).toBe(true);
    expect(matches(m, { service: 'api-gateway' })).toBe(false);
    expect(matches(m, { service: 'xweb' })).toBe(false);
    expect(matches(parseMatcher('service=~"api.*"'), { service: 'api-gateway' })).toBe(true);
  });

  it('treats a missing label as the empty string', () => {
    expect(matches(parseMatcher('team!="db"'), {})).toBe(true);
    expect(matches(parseMatcher('team=""'), {})).toBe(true);
    expect(matches(parseMatcher('team=~".*"'), {})).toBe(true);
    expect(matches(parseMatcher('team=~".+"'), {})).toBe(false);
    expect(matches(parseMatcher('team="db"'), {})).toBe(false);
    expect(matches(parseMatcher('team!~"d.*"'), { team: 'db' })).toBe(false);
  });

  it('supports the RE2 (?i) flag and lets . match newlines', () => {
    expect(compilePromRegex('(?i)high.*').test('HIGHerror')).toBe(true);
    expect(compilePromRegex('a.b').test('a\nb')).toBe(true);
  });

  it('ANDs the matchers of one selector', () => {
    const sel = parseSelector('{alertname="HighErrorRate", service=~"api|web"}');
    expect(selectorMatches(sel, { alertname: 'HighErrorRate', service: 'api' })).toBe(true);
    expect(selectorMatches(sel, { alertname: 'HighErrorRate', service: 'db' })).toBe(false);
    expect(selectorMatches(sel, { alertname: 'Other', service: 'api' })).toBe(false);
  });
});
