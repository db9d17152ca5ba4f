import { ApiError } from '../api/errors';

// A JSON body nested deeper than any request the daemon takes is refused before it is parsed: a body
// of 10 000 `[` parses, then overflows the stack of whatever walks it (the validator), a 500 instead
// of a 400. The scan is one pass over the bytes, skipping strings, so it costs what reading them does.

/** Deeper than every wire shape of the daemon (a fault request is at most ~6 levels). */
export const MAX_JSON_DEPTH = 32;

/** The deepest nesting of objects/arrays in a JSON text (strings skipped, escapes honoured). */
export function jsonDepth(buf: Uint8Array, stopAbove = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) {
        max = depth;
        if (max > stopAbove) return max;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** express.json's `verify` hook: throws a 400 (ApiError, kept as is by body-parser) for a body nested too deep. */
export function verifyDepth(_req: unknown, _res: unknown, buf: Buffer): void {
  if (jsonDepth(buf, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw ApiError.invalid(`invalid JSON body: nested deeper than ${MAX_JSON_DEPTH} levels`, [{ field: '/', reason: `is nested deeper than ${MAX_JSON_DEPTH} levels` }]);
  }
}
