// Prometheus label matchers: `name="value"`, `name!="value"`, `name=~"regex"`, `name!~"regex"`.
//
// A guard entry is one selector: a single matcher, or several separated by commas (optionally in
// braces, `{alertname="X", service=~"api|web"}`), which must all match (as in a PromQL selector
// or an Alertmanager route). Values are quoted as PromQL strings ("…", '…' with Go escapes, or
// `raw`); an unquoted value (amtool style, `alertname=HighErrorRate`) is accepted too.
// Regexes are RE2 syntax, fully anchored, as Prometheus does (`^(?s:re)$`), and a missing label is the empty
// string, so `team!="db"` matches alerts without a team label.

import { parseUserRegex, RegexSyntaxError, type UserRegex } from './regex';

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
  /** Compiled, anchored regex (RE2) for =~ and !~. */
  regex?: UserRegex;
}

export type Selector = Matcher[];

export class MatcherSyntaxError extends Error {
  constructor(
    readonly input: string,
    readonly position: number,
    reason: string,
  ) {
    super(`${reason} at position ${position + 1} of ${JSON.stringify(input)}`);
    this.name = 'MatcherSyntaxError';
  }
}

const NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;
const OPS: MatchOp[] = ['=~', '!~', '!=', '='];
const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };

/** Parses one selector (one or more comma-separated matchers, optionally in braces). */
export function parseSelector(input: string): Selector {
  const p = new Parser(input);
  p.skipSpace();
  const braced = p.eat('{');
  const out: Matcher[] = [];
  for (;;) {
    p.skipSpace();
    if (braced && p.peek() === '}' && out.length > 0) break; // trailing comma allowed in braces, as in PromQL
    out.push(p.matcher());
    p.skipSpace();
    if (!p.eat(',')) break;
  }
  p.skipSpace();
  if (braced && !p.eat('}')) p.fail('expected "}" or ","');
  p.skipSpace();
  if (!p.done()) p.fail(`unexpected ${JSON.stringify(p.peek())}`);
  return out;
}

/** Parses exactly one matcher (no commas, no braces). */
export function parseMatcher(input: string): Matcher {
  const sel = parseSelector(input);
  if (sel.length !== 1 || input.trim().startsWith('{')) throw new MatcherSyntaxError(input, 0, 'expected exactly one matcher');
  return sel[0];
}

export function matches(m: Matcher, labels: Record<string, string>): boolean {
  const v = labels[m.name] ?? '';
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return m.regex!.test(v);
    case '!~':
      return !m.regex!.test(v);
  }
}

/** True when every matcher of the selector matches the label set. */
export function selectorMatches(sel: Selector, labels: Record<string, string>): boolean {
  return sel.every((m) => matches(m, labels));
}

export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.op}${JSON.stringify(m.value)}`;
}

export function formatSelector(sel: Selector): string {
  return sel.length === 1 ? formatMatcher(sel[0]) : `{${sel.map(formatMatcher).join(', ')}}`;
}

/**
 * Compiles a Prometheus regex as Prometheus does: RE2 syntax (`(?i)`, `[[:alpha:]]`, `\pL`), the
 * whole value must match, `.` matches newlines (`^(?s:re)$`). The pattern is parsed alone before it
 * is anchored, so `api)|(.*` is refused rather than matching every value. RE2 runs in linear time:
 * an alert label is written by whoever can reach Alertmanager, and must not stall the exporter.
 */
export function compilePromRegex(source: string): UserRegex {
  return parseUserRegex(source, true);
}

class Parser {
  private pos = 0;
  constructor(private readonly input: string) {}

  done(): boolean {
    return this.pos >= this.input.length;
  }
  peek(): string {
    return this.input[this.pos] ?? '';
  }
  eat(s: string): boolean {
    if (this.input.startsWith(s, this.pos)) {
      this.pos += s.length;
      return true;
    }
    return false;
  }
  skipSpace(): void {
    while (/\s/.test(this.peek()) && !this.done()) this.pos++;
  }
  fail(reason: string): never {
    throw new MatcherSyntaxError(this.input, this.pos, reason);
  }

  matcher(): Matcher {
    NAME.lastIndex = this.pos;
    const nm = NAME.exec(this.input);
    if (!nm) this.fail('expected a label name');
    this.pos += nm[0].length;
    this.skipSpace();
    const op = OPS.find((o) => this.eat(o));
    if (!op) this.fail('expected one of =, !=, =~, !~');
    this.skipSpace();
    const valueAt = this.pos;
    const value = this.value();
    const m: Matcher = { name: nm[0], op, value };
    if (op === '=~' || op === '!~') {
      try {
        m.regex = compilePromRegex(value);
      } catch (err) {
        throw new MatcherSyntaxError(this.input, valueAt, err instanceof RegexSyntaxError ? `invalid regular expression (RE2 syntax): ${err.detail}` : `invalid regular expression (${(err as Error).message})`);
      }
    }
    return m;
  }

  private value(): string {
    const q = this.peek();
    if (q === '`') {
      const end = this.input.indexOf('`', this.pos + 1);
      if (end < 0) this.fail('unterminated raw string');
      const v = this.input.slice(this.pos + 1, end);
      this.pos = end + 1;
      return v;
    }
    if (q === '"' || q === "'") return this.quoted(q);
    // Unquoted (amtool style): up to a comma, brace or whitespace; `a=""` is how to say empty.
    const m = /[^\s,{}"'`=!~]+/y;
    m.lastIndex = this.pos;
    const v = m.exec(this.input);
    if (!v) this.fail('expected a quoted value');
    this.pos += v[0].length;
    return v[0];
  }

  private quoted(q: string): string {
    this.pos++;
    let out = '';
    for (;;) {
      if (this.done()) this.fail('unterminated string');
      const c = this.input[this.pos];
      if (c === q) {
        this.pos++;
        return out;
      }
      if (c === '\n') this.fail('newline in string');
      if (c !== '\\') {
        out += c;
        this.pos++;
        continue;
      }
      const e = this.input[this.pos + 1];
      if (e === undefined) this.fail('unterminated escape');
      if (e in SIMPLE_ESCAPES) {
        out += SIMPLE_ESCAPES[e];
        this.pos += 2;
      } else if (e === 'x' || e === 'u' || e === 'U') {
        const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = this.input.slice(this.pos + 2, this.pos + 2 + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) this.fail(`\\${e} needs ${n} hex digits`);
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) this.fail('escape is not a valid code point');
        out += String.fromCodePoint(cp);
        this.pos += 2 + n;
      } else if (/[0-7]/.test(e)) {
        const oct = this.input.slice(this.pos + 1, this.pos + 4);
        if (!/^[0-7]{3}$/.test(oct) || parseInt(oct, 8) > 255) this.fail('octal escape needs three digits up to \\377');
        out += String.fromCharCode(parseInt(oct, 8));
        this.pos += 4;
      } else {
        this.fail(`unknown escape sequence \\${e}`);
      }
    }
  }
}

/** The format name of schema fields that hold one guard selector (api/validate.ts checks it with parseSelector). */
export const SELECTOR_FORMAT = 'prom-selector';

/** Why `input` is not a selector (a phrase that follows the field name), or undefined when it parses. */
export function selectorProblem(input: string): string | undefined {
  try {
    parseSelector(input);
    return undefined;
  } catch (err) {
    if (err instanceof MatcherSyntaxError) return err.message;
    throw err;
  }
}
