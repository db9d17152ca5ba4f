import { Type, type StringOptions } from '@sinclair/typebox';
import { RE2JS } from 're2js';
import { ApiError } from './errors';

// The one way a regular expression written by a user meets data: process selectors, guard matchers,
// http-fault path and header rules, target filters, in the exporter, the daemon, the proxy child and
// the panel's form. JavaScript's RegExp backtracks: `^(a+)+Q` over 31 'a's blocks the event loop for
// seconds, so a single hostile selector or alert label would freeze a service that must always be
// able to stop chaos. RE2 (here re2js, a pure-JS port that also runs in the browser bundle) matches
// in time linear in the input, and its syntax is what Prometheus and Alertmanager take, so a matcher
// means the same here as there. What RE2 cannot express (backreferences, lookarounds) is refused
// with a reason, never silently approximated by another engine.
//
// Browser-safe: imports nothing of ours outside api/.

/** The format name schemas give to fields that take a regex (api/validate.ts checks it with RE2). */
export const RE2_FORMAT = 're2';

/** What every schema description of a regex field ends with, so users know which dialect it takes. */
export const RE2_SYNTAX = 'RE2 syntax, as in Prometheus (https://github.com/google/re2/wiki/Syntax)';

/** A schema field that takes a regex: checked with RE2 by the validator, documented as RE2 syntax. */
export function RegexString(description: string, options: StringOptions = {}) {
  return Type.String({ minLength: 1, ...options, format: RE2_FORMAT, description: `${description}; ${RE2_SYNTAX}` });
}

/** A compiled user regex. Only testing is offered: nothing here can take more than linear time. */
export interface UserRegex {
  /** The pattern as the user wrote it. */
  readonly source: string;
  /** Whether the whole input must match (Prometheus/Alertmanager matchers) or any part of it. */
  readonly anchored: boolean;
  test(input: string): boolean;
}

export interface UserRegexOptions {
  /**
   * Match the whole input, as Prometheus does with `^(?s:re)$`: `.` also matches a newline. The
   * pattern is parsed alone first and anchored by the engine, not by wrapping the text, so a
   * pattern such as `api)|(.*` cannot escape the anchors (it is refused: it does not parse).
   */
  anchored: boolean;
  /** JSON pointer of the field the pattern came from, named in the 400 when it is refused. */
  field: string;
}

/** A pattern RE2 cannot parse: `reason` reads after the field name ("/x is not ..."). */
export class RegexSyntaxError extends Error {
  /** "is not a valid RE2 regular expression: <what RE2 says> (<why, for constructs from JavaScript>)" */
  readonly reason: string;
  constructor(
    readonly source: string,
    /** What RE2 says, with the hint: "missing closing ): `(`". */
    readonly detail: string,
  ) {
    const reason = `is not a valid RE2 regular expression: ${detail}`;
    super(`${JSON.stringify(source)} ${reason}`);
    this.name = 'RegexSyntaxError';
    this.reason = reason;
  }
}

// Hints for what people bring from JavaScript/PCRE: RE2's own message names the construct, this says why.
const HINTS: [RegExp, string][] = [
  [/^invalid or unsupported Perl syntax: `\(\?[=!]/, 'RE2 has no lookahead'],
  [/^invalid named capture: `\(\?<[=!]/, 'RE2 has no lookbehind'],
  [/^invalid escape sequence: `\\[1-9]`/, 'RE2 has no backreferences'],
  [/^invalid escape sequence: `\\u`/, 'write \\x{263A} for a code point'],
  [/^invalid nested repetition operator: `[*+?}][+]`/, 'RE2 has no possessive quantifiers'],
  [/^invalid repeat count/, 'a count is at most 1000, nested counts multiplied too'],
];

function parse(source: string, flags: number): RE2JS {
  try {
    return RE2JS.compile(source, flags);
  } catch (err) {
    // re2js applies DOTALL by prefixing `(?s)`, which its message then quotes: say it of the pattern as written.
    if (flags !== 0) parse(source, 0);
    const raw = (err as Error).message.replace(/^error parsing regexp: /, '');
    const hint = HINTS.find(([re]) => re.test(raw))?.[1];
    throw new RegexSyntaxError(source, `${raw}${hint ? ` (${hint})` : ''}`);
  }
}

/**
 * Parses `source` with RE2 and returns a matcher; throws RegexSyntaxError (no field) when RE2 cannot
 * parse it. For callers that report errors their own way (the guard matcher parser).
 */
export function parseUserRegex(source: string, anchored: boolean): UserRegex {
  // DOTALL for anchored patterns is Prometheus' `(?s:…)`; inline flags such as (?-s) or (?i) still apply.
  const re = parse(source, anchored ? RE2JS.DOTALL : 0);
  return anchored
    ? { source, anchored, test: (input: string) => re.testExact(input) }
    : { source, anchored, test: (input: string) => re.test(input) };
}

/** Compiles a user regex; a pattern RE2 cannot parse is a 400 naming `opts.field`. */
export function compileUserRegex(source: string, opts: UserRegexOptions): UserRegex {
  try {
    return parseUserRegex(source, opts.anchored);
  } catch (err) {
    if (!(err instanceof RegexSyntaxError)) throw err;
    throw ApiError.invalid(`invalid request: ${opts.field} ${err.reason}`, [{ field: opts.field, reason: err.reason }]);
  }
}

/** Why RE2 refuses `source` (a phrase that follows the field name), or undefined when it parses. */
export function regexProblem(source: string): string | undefined {
  try {
    parse(source, 0);
    return undefined;
  } catch (err) {
    if (err instanceof RegexSyntaxError) return err.reason;
    throw err;
  }
}
