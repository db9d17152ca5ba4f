import express from 'express';
import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pino from 'pino';
import { ERROR_CODES, ErrorBody } from '../../api/errors';
import { openapiDocument } from '../../exporter/openapi';
import { routeTable, type TableDeps } from '../../exporter/routes/table';
import { errorHandler, noRoute } from '../../server-common/http-errors';
import { jsonBody } from '../../server-common/json-body';
import { request } from '../helpers/http';

// One error vocabulary: every `error.code` the exporter and the daemon answer with is a key of
// api/errors.ts ERROR_CODES, every key is answered somewhere, and the error schema and the OpenAPI
// document enumerate exactly those keys. TypeScript already refuses an unknown literal in
// `new ApiError(...)`; what it cannot see is a code that arrives through a cast, `ApiError.foreign`,
// or a body written by hand, so the sources are read for those too.

const ROOT = path.resolve(__dirname, '../..');
const SERVER_DIRS = ['exporter', 'daemon', 'server-common'];
const CODES = Object.keys(ERROR_CODES).sort();

/** What the ApiError shorthands answer with (api/errors.ts). */
const SHORTHANDS: Record<string, string> = {
  invalid: 'invalid_input',
  unprocessable: 'unprocessable',
  notFound: 'not_found',
  conflict: 'conflict',
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
};

/**
 * Places where a code is not a literal, each with why it is still one of ours. Anything else that
 * passes a variable, casts to ErrorCode or writes `{error: {code: ...}}` by hand fails the test.
 */
const NON_LITERAL_ALLOWED: Record<string, string> = {
  'exporter/targets/peers.ts': 'rewrites the field names of an ApiError the target resolver threw (its code is ours)',
  'daemon/manager.ts': 'reports, per fault of a batch, the status and code of the ApiError its removal threw',
  'daemon/routes.ts': 'reports, per fault of a batch, the status and code of the ApiError its renewal threw',
  'exporter/targets/kubernetes/pod-daemon.ts': 'answers an ApiError with its own toBody() (the one error handler is not on this path)',
  'server-common/http-errors.ts': 'the one error handler: answers an ApiError (or internal) with its toBody()',
};

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

const files = SERVER_DIRS.flatMap(sources).map((f) => ({ file: f, text: readFileSync(path.join(ROOT, f), 'utf8') }));

describe('error codes of the exporter and the daemon', () => {
  test('every code they construct is in ERROR_CODES, and every code of ERROR_CODES is constructed somewhere', () => {
    const used = new Map<string, string[]>();
    const note = (code: string, file: string) => used.set(code, [...(used.get(code) ?? []), file]);
    for (const { file, text } of files) {
      for (const m of text.matchAll(/new ApiError\(\s*[^,()]+(?:\([^)]*\))?[^,]*,\s*'([^']+)'/g)) note(m[1], file);
      for (const m of text.matchAll(/ApiError\.(\w+)\(/g)) if (SHORTHANDS[m[1]]) note(SHORTHANDS[m[1]], file);
    }
    const unknown = [...used].filter(([code]) => !(code in ERROR_CODES)).map(([code, where]) => `${code} (${where.join(', ')})`);
    expect(unknown).toEqual([]);
    expect([...used.keys()].sort()).toEqual(CODES);
  });

  test('no code reaches an answer around the vocabulary (foreign codes, casts, hand-written error bodies)', () => {
    const found: string[] = [];
    const allowedSeen = new Set<string>();
    for (const { file, text } of files) {
      text.split('\n').forEach((line, i) => {
        const where = `${file}:${i + 1}: ${line.trim()}`;
        if (/ApiError\.foreign\(/.test(line)) found.push(where);
        const nonLiteral =
          /as ErrorCode\b/.test(line) ||
          /new ApiError\(\s*[^,]+,\s*[^'\s]/.test(line) ||
          /error:\s*\{\s*code:/.test(line) ||
          /\.json\(\s*\{\s*error\b/.test(line) ||
          /\.json\([^)]*toBody\(\)/.test(line);
        if (!nonLiteral) return;
        if (NON_LITERAL_ALLOWED[file]) allowedSeen.add(file);
        else found.push(where);
      });
    }
    expect(found).toEqual([]);
    // an exception whose code is gone goes from the list too
    expect([...allowedSeen].sort()).toEqual(Object.keys(NON_LITERAL_ALLOWED).sort());
  });

  test('the error schema and the OpenAPI document enumerate exactly ERROR_CODES, and every error answer is an ErrorBody', () => {
    const schemaCodes = (s: any) => s.properties.error.properties.code.anyOf.map((c: { const: string }) => c.const).sort();
    expect(schemaCodes(ErrorBody)).toEqual(CODES);
    const doc = openapiDocument(routeTable({} as TableDeps), 'test') as any;
    expect(schemaCodes(doc.components.schemas.ErrorBody)).toEqual(CODES);
    const errorAnswers = Object.values<any>(doc.paths)
      .flatMap((item) => Object.values<any>(item))
      .flatMap((op) => Object.entries<any>(op.responses).filter(([status]) => Number(status) >= 400))
      .map(([, answer]) => answer.content?.['application/json']?.schema);
    expect(errorAnswers.length).toBeGreaterThan(50);
    expect(new Set(errorAnswers.map((s) => JSON.stringify(s)))).toEqual(new Set([JSON.stringify({ $ref: '#/components/schemas/ErrorBody' })]));
  });

  test('the shared error handler answers failures that are not ApiErrors with codes of ERROR_CODES', async () => {
    const app = express();
    app.post('/json', jsonBody({ limit: '1kb' }), (_req, res) => void res.json({}));
    app.get('/crash', () => {
      throw new Error('boom');
    });
    app.use(noRoute());
    app.use(errorHandler({ log: pino({ level: 'silent' }) }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const answers = [
        await request(url, 'POST', '/json', '{not json'),
        await request(url, 'POST', '/json', JSON.stringify({ pad: 'x'.repeat(2000) })),
        await request(url, 'POST', '/json', '['.repeat(100) + ']'.repeat(100)),
        await request(url, 'GET', '/crash'),
        await request(url, 'GET', '/nowhere'),
      ].map((r) => [r.status, r.body.error.code]);
      expect(answers).toEqual([
        [400, 'invalid_input'],
        [413, 'too_large'],
        [400, 'invalid_input'],
        [500, 'internal'],
        [404, 'not_found'],
      ]);
      for (const [, code] of answers) expect(CODES).toContain(code);
    } finally {
      server.close();
    }
  });
});
