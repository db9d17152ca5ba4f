import express, { type RequestHandler } from 'express';
import { ApiError } from '../api/errors';

// JSON request bodies with two bounds: size (body-parser's limit) and nesting depth. A body nested
// thousands of levels deep is valid JSON, but every recursive walk after parsing (validation, error
// descriptions, copies) may overflow the stack on it: refuse it before parsing with a 400 instead.

/** Deepest nesting of objects and arrays a request body may have (documented in the README). */
export const MAX_JSON_DEPTH = 64;

/** The nesting depth of JSON text, counted on the raw bytes (linear, strings skipped); stops counting past `max`. */
export function jsonDepth(buf: Uint8Array, max = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > deepest) deepest = depth;
      if (deepest > max) return deepest;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/** Throws the 400 for a body nested deeper than `maxDepth`, before anything parses it. */
export function refuseDeepJson(buf: Uint8Array, maxDepth: number): void {
  if (jsonDepth(buf, maxDepth) > maxDepth) {
    throw ApiError.invalid(`invalid JSON body: nested deeper than ${maxDepth} levels`, [{ field: '/', reason: `is nested deeper than ${maxDepth} levels of objects and arrays` }]);
  }
}

/** Parses any request body as JSON (whatever its content type: curl and webhooks vary), bounded in size and depth. */
export function jsonBody(o: { limit: string; maxDepth?: number }): RequestHandler {
  const maxDepth = o.maxDepth ?? MAX_JSON_DEPTH;
  return express.json({ limit: o.limit, type: () => true, verify: (_req, _res, buf) => refuseDeepJson(buf, maxDepth) });
}
