import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import type { Static, TSchema } from '@sinclair/typebox';
import { cidrProblem } from './addresses';
import { ApiError, type ErrorDetail } from './errors';
import { SELECTOR_FORMAT, selectorProblem } from './matchers';
import { RE2_FORMAT, regexProblem } from './regex';
import { DURATION_PATTERN, durationWithinMax, MAX_DURATION_TEXT, parseRate, parseSize, RATE_PATTERN, SIZE_OR_PERCENT_PATTERN, SIZE_PATTERN } from './units';

// One ajv instance for every wire shape. Unknown fields are errors (additionalProperties: false
// in the schemas), defaults are filled in, nothing is coerced: "30" is not 30.
// verbose: errors carry their schema, so a pattern error can say what the pattern means (its description).
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, removeAdditional: false, verbose: true });
(addFormats as unknown as (a: Ajv) => void)(ajv);

// Formats that the patterns cannot fully express (e.g. "99999999999h" overflow, "1.2.3s").
// a duration is also at most MAX_DURATION_MS (api/units.ts), for every duration field of the API
ajv.addFormat('duration', { type: 'string', validate: durationWithinMax });
ajv.addFormat('size', { type: 'string', validate: (s: string) => safe(() => parseSize(s) >= 0) });
ajv.addFormat('rate', { type: 'string', validate: (s: string) => safe(() => parseRate(s) > 0) });
// Every field that takes a regex declares `format: 're2'`: parsed with the engine that will run it
// (api/regex.ts), so the API, the CLI and the panel's form refuse the same patterns, with RE2's reason.
ajv.addFormat(RE2_FORMAT, { type: 'string', validate: (s: string) => regexProblem(s) === undefined });
// Guard selectors (Prometheus label matchers, with RE2 regexes) likewise, so the form checks them too.
ajv.addFormat(SELECTOR_FORMAT, { type: 'string', validate: (s: string) => selectorProblem(s) === undefined });

// Addresses: the pattern takes the shape, this the values (an octet over 255, a prefix over 32, a malformed IPv6).
ajv.addFormat('cidr', { type: 'string', validate: (s: string) => cidrProblem(s) === undefined });

/** What a format error says when the format can say why (RE2's reason, the matcher parser's, the address's). */
const FORMAT_PROBLEMS: Record<string, (s: string) => string | undefined> = { [RE2_FORMAT]: regexProblem, [SELECTOR_FORMAT]: selectorProblem, cidr: cidrProblem };

function safe(fn: () => boolean): boolean {
  try {
    return fn();
  } catch {
    return false;
  }
}

/** The unit patterns say in words what they take: their regular expressions help nobody (API, CLI and form alike). */
const PATTERN_WORDS = new Map<string, string>([
  [DURATION_PATTERN, 'must be a duration such as 500ms, 30s, 5m or 1h30m'],
  [SIZE_OR_PERCENT_PATTERN, 'must be a size such as 256MiB, or a percentage such as 20%'],
  [SIZE_PATTERN, 'must be a size such as 512KiB, 256MiB or 1G'],
  [RATE_PATTERN, 'must be a rate such as 512kbit, 8mbit or 1gbit'],
]);

const cache = new WeakMap<TSchema, ReturnType<Ajv['compile']>>();

function compiled(schema: TSchema) {
  let fn = cache.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    cache.set(schema, fn);
  }
  return fn;
}

/**
 * Compiles schemas ahead of their first use. An ajv compile costs milliseconds; a daemon whose first
 * recover request of its life is an alert's abort would otherwise spend them before its first SIGCONT.
 */
export function precompile(schemas: Iterable<TSchema>): void {
  for (const s of schemas) compiled(s);
}

/** Readable details from ajv errors: which field (JSON pointer under `prefix`) and why. */
export function describeErrors(errors: ErrorObject[] | null | undefined, prefix = ''): ErrorDetail[] {
  const seen = new Set<string>();
  const out: ErrorDetail[] = [];
  // A union of literals (TypeBox's way of writing an enum) fails with one `const` error per member:
  // say them together, as `enum` would. A value its pattern refused fails its format too: the
  // pattern's message says more, so that format error is left out.
  const constants = new Map<string, unknown[]>();
  const patterned = new Set<string>();
  for (const e of errors ?? []) {
    if (e.keyword === 'pattern') patterned.add(e.instancePath);
    if (e.keyword !== 'const') continue;
    const list = constants.get(e.instancePath) ?? [];
    list.push((e.params as { allowedValue: unknown }).allowedValue);
    constants.set(e.instancePath, list);
  }
  for (const e of errors ?? []) {
    if (e.keyword === 'format' && patterned.has(e.instancePath)) continue;
    let field = prefix + e.instancePath;
    let reason = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties') {
      field = `${field}/${(e.params as { additionalProperty: string }).additionalProperty}`;
      reason = 'is not a known field';
    } else if (e.keyword === 'required') {
      field = `${field}/${(e.params as { missingProperty: string }).missingProperty}`;
      reason = 'is required';
    } else if (e.keyword === 'enum') {
      reason = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (e.keyword === 'const') {
      const allowed = constants.get(e.instancePath) ?? [];
      reason = allowed.length === 1 ? `must be ${JSON.stringify(allowed[0])}` : `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (e.keyword === 'format') {
      const format = (e.params as { format: string }).format;
      reason =
        (typeof e.data === 'string' && FORMAT_PROBLEMS[format]?.(e.data)) || (format === 'duration' ? `must be at most ${MAX_DURATION_TEXT}` : `must be a valid ${format}`);
    } else if (e.keyword === 'pattern') {
      const pattern = (e.params as { pattern: string }).pattern;
      const description = (e.parentSchema as { description?: string } | undefined)?.description;
      reason = PATTERN_WORDS.get(pattern) ?? (description ? `must match ${pattern} (${description})` : reason);
    }
    const key = `${field}|${reason}`;
    if (!seen.has(key) && e.keyword !== 'anyOf' && e.keyword !== 'oneOf' && e.keyword !== 'if') {
      seen.add(key);
      out.push({ field: field || '/', reason });
    }
  }
  return out;
}

/** Checks `value` against `schema` (filling defaults in place); throws ApiError 400 naming each bad field. */
export function validate<T extends TSchema>(schema: T, value: unknown, what = 'request', prefix = ''): Static<T> {
  const fn = compiled(schema);
  if (!fn(value)) {
    const details = describeErrors(fn.errors, prefix);
    const first = details[0];
    throw ApiError.invalid(`invalid ${what}: ${first ? `${first.field} ${first.reason}` : 'does not match the schema'}`, details);
  }
  return value as Static<T>;
}

/** Like validate, but returns the details instead of throwing (for forms and dry runs). */
export function check(schema: TSchema, value: unknown, prefix = ''): ErrorDetail[] {
  const fn = compiled(schema);
  return fn(value) ? [] : describeErrors(fn.errors, prefix);
}
