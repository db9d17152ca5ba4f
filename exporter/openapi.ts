import type { TObject, TSchema } from '@sinclair/typebox';
import { ERROR_CODES, ErrorBody } from '../api/errors';
import { MAX_JSON_DEPTH } from '../server-common/json-body';
import { neededRole } from './auth/permissions';
import { openapiPath, pathParams, type Route } from './routes/route';

// /api/v1/openapi.json, generated from the route table (as @fastify/swagger collects every route)
// with the same TypeBox schemas the exporter validates with: a route cannot exist without its
// operation, nor an operation without its route.

function plain(schema: TSchema): Record<string, unknown> {
  // TypeBox keeps its symbol keys out of JSON; a round trip leaves plain JSON schema.
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorAnswer = (description: string) => ({ description, content: { 'application/json': { schema: ref('ErrorBody') } } });

function queryParams(schema: TObject | undefined): unknown[] {
  if (!schema) return [];
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties).map(([name, s]) => ({
    name,
    in: 'query',
    required: required.has(name),
    schema: plain(s),
    ...(s.description ? { description: s.description as string } : {}),
  }));
}

export function openapiDocument(routes: Route[], version: string): Record<string, unknown> {
  const schemas: Record<string, unknown> = { ErrorBody: plain(ErrorBody) };
  // A named schema goes to components once and is referenced; an anonymous one is inlined.
  const use = (schema: TSchema, name?: string) => {
    if (!name) return plain(schema);
    schemas[name] ??= plain(schema);
    return ref(name);
  };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const ok = r.response;
    const content = ok.contentType ? { [ok.contentType]: {} } : ok.schema ? { 'application/json': { schema: use(ok.schema, ok.name) } } : undefined;
    const responses: Record<string, unknown> = { [String(ok.status ?? 200)]: { description: ok.description, ...(content ? { content } : {}) } };
    const params = pathParams(r.path);
    if (r.query || r.body || params.length) responses['400'] = errorAnswer('invalid input: details name each field');
    responses['401'] = errorAnswer('no valid token');
    responses['403'] = errorAnswer(`the token's role is too low: needs ${neededRole(r.role)}`);
    if (r.body) responses['413'] = errorAnswer(`body larger than ${r.body.limit ?? '1mb'}`);
    for (const [status, description] of Object.entries(r.errors ?? {})) responses[status] = errorAnswer(description as string);
    const op: Record<string, unknown> = {
      summary: r.summary,
      description: `Role: ${neededRole(r.role)}.`,
      'x-faultline-role': r.role,
      parameters: [...params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })), ...queryParams(r.query)],
      ...(r.body
        ? {
            requestBody: {
              required: true,
              description: `JSON, at most ${r.body.limit ?? '1mb'} and ${MAX_JSON_DEPTH} levels of nesting`,
              content: { 'application/json': { schema: use(r.body.schema, r.body.name) } },
            },
          }
        : {}),
      responses,
    };
    (paths[openapiPath(r.path)] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Faultline exporter API',
      version,
      description: `Every error is an ErrorBody; its code is one of: ${Object.keys(ERROR_CODES).join(', ')}.`,
    },
    components: { schemas, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, basic: { type: 'http', scheme: 'basic' } } },
    security: [{ bearer: [] }, { basic: [] }, {}],
    paths,
  };
}
