import type { Static } from '@sinclair/typebox';
import type { HttpMatch } from '../../api/proxy';
import { ApiError, type ErrorDetail } from '../../api/errors';
import { parseUserRegex, RegexSyntaxError, type UserRegex } from '../../api/regex';

// Which requests an http-fault acts on: method, path (glob or regex, query excluded) and headers
// (name → regex over the whole value), all RE2 syntax. Compiled once; a bad pattern is a 400 naming its field.

/** What matching looks at: a request head (header names in lower case). */
export interface RequestInfo {
  method?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
}

export type RequestMatcher = (req: RequestInfo) => boolean;

/** The relay thread's tokens for a glob's `*`, `**` and `?` (daemon/native/http-frame.h); any other token is a byte. */
export const GLOB_TOKENS = { star: 0x100, doubleStar: 0x101, one: 0x102 } as const;

type GlobToken = (typeof GLOB_TOKENS)[keyof typeof GLOB_TOKENS];

/** A glob read once for both of its matchers: its wildcards, and every other character as itself. */
function globParts(glob: string): (GlobToken | string)[] {
  const parts: (GlobToken | string)[] = [];
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      parts.push(GLOB_TOKENS.doubleStar);
      i++;
    } else if (c === '*') parts.push(GLOB_TOKENS.star);
    else if (c === '?') parts.push(GLOB_TOKENS.one);
    else parts.push(c);
  }
  return parts;
}

const GLOB_REGEX: Record<GlobToken, string> = { [GLOB_TOKENS.star]: '[^/]*', [GLOB_TOKENS.doubleStar]: '.*', [GLOB_TOKENS.one]: '[^/]' };

/**
 * Glob over a URL path: `*` and `?` stay within a segment, `**` crosses segments. Run by RE2 like
 * every user pattern: `/**a**a**a**b` backtracks polynomially in a JavaScript RegExp.
 */
export function globToRegExp(glob: string): UserRegex {
  const re = globParts(glob)
    .map((p) => (typeof p === 'number' ? GLOB_REGEX[p] : p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return parseUserRegex(re, true);
}

/**
 * A path glob as the native relay matches it (the same language as globToRegExp): undefined when a
 * character is not one byte of a latin1 path, which the relay leaves to RE2 here.
 */
export function globTokens(glob: string): number[] | undefined {
  const tokens: number[] = [];
  for (const p of globParts(glob)) {
    const t = typeof p === 'number' ? p : p.charCodeAt(0);
    if (typeof p === 'string' && t > 0xff) return undefined;
    tokens.push(t);
  }
  return tokens;
}

/**
 * What of a match the native relay can rule requests out by: its methods, its path glob, and the
 * headers its regexes read (a request without one of them never matches). Undefined when it has none
 * of these (every request could match: the relay would hand each connection over at once). Names the
 * relay cannot hold (over 62 bytes, past 64 of them) are left out: a subset still only rules out
 * requests that cannot match.
 */
export function relayPrefilter(match: Static<typeof HttpMatch> | undefined): { methods?: string[]; glob?: number[]; headers?: string[] } | undefined {
  const fits = (names: string[]) => names.filter((n) => n.length > 0 && n.length <= 62).slice(0, 64);
  const upper = match?.methods?.length ? [...new Set(match.methods.map((m) => m.toUpperCase()))] : [];
  // a method the relay cannot hold could be the request's: then no method can be ruled out
  const methods = upper.length && fits(upper).length === upper.length ? upper : undefined;
  const glob = match?.path !== undefined ? globTokens(match.path) : undefined;
  const names = fits(matchedHeaderNames(match));
  const headers = names.length ? names : undefined;
  if (!methods && !glob && !headers) return undefined;
  return { ...(methods && { methods }), ...(glob && { glob }), ...(headers && { headers }) };
}

// RE2 (api/regex.ts): linear in the request head, so a hostile rule cannot stall the proxy child,
// and parsed before it is anchored, so `prod)|(.*` is refused instead of matching any value.
function compileRegex(source: string, field: string, anchored: boolean, details: ErrorDetail[]): UserRegex | undefined {
  try {
    return parseUserRegex(source, anchored);
  } catch (err) {
    if (!(err instanceof RegexSyntaxError)) throw err;
    details.push({ field, reason: err.reason });
    return undefined;
  }
}

/** The (lower-case) header names a matcher reads: the only ones the proxy extracts from a request. */
export function matchedHeaderNames(match: Static<typeof HttpMatch> | undefined): string[] {
  return Object.keys(match?.headers ?? {}).map((name) => name.toLowerCase());
}

export function compileMatcher(match: Static<typeof HttpMatch> | undefined, prefix = '/params/match'): RequestMatcher {
  const details: ErrorDetail[] = [];
  const methods = match?.methods?.length ? new Set(match.methods.map((m) => m.toUpperCase())) : undefined;
  const path = match?.path ? globToRegExp(match.path) : undefined;
  const pathRegex = match?.pathRegex ? compileRegex(match.pathRegex, `${prefix}/pathRegex`, false, details) : undefined;
  const headers = Object.entries(match?.headers ?? {}).map(([name, value]) => ({
    name: name.toLowerCase(),
    re: compileRegex(value, `${prefix}/headers/${name}`, true, details),
  }));
  if (details.length) throw ApiError.invalid(`invalid request: ${details[0].field} ${details[0].reason}`, details);
  return (req) => {
    if (methods && !methods.has(req.method ?? '')) return false;
    if (path || pathRegex) {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const p = q < 0 ? url : url.slice(0, q);
      if (path && !path.test(p)) return false;
      if (pathRegex && !pathRegex.test(p)) return false;
    }
    for (const h of headers) {
      const v = req.headers[h.name];
      const value = Array.isArray(v) ? v.join(', ') : v;
      if (value === undefined || !h.re?.test(value)) return false;
    }
    return true;
  };
}
