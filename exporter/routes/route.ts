import type { Static, TObject, TSchema } from '@sinclair/typebox';
import type { Request, Response } from 'express';
import type { Access } from '../auth/permissions';

// What one exporter route is: declared once, read by the router (path, role, body, query), by the
// OpenAPI document (everything) and by the tests (every route × role × spelling). The model is
// fastify's route options (method, url, schema, handler) read after routing.

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** What a handler gets besides req/res: the validated query and body, path params, the caller's actor name. */
export interface Input<Q, B> {
  req: Request;
  res: Response;
  query: Q;
  body: B;
  params: Record<string, string>;
  actor: string;
}

export interface RouteSpec<Q extends TObject, B extends TSchema> {
  method: Method;
  /** express path, matched case-sensitively and strictly (no trailing slash): `/api/v1/experiments/:namespace/:name`. */
  path: string;
  /** Who may call it (exporter/auth/permissions.ts), checked on this route after routing. */
  role: Access;
  summary: string;
  /** Query parameters: validated before the handler (400 naming `/query/<field>`). */
  query?: Q;
  /**
   * A JSON body: parsed only for routes that declare one, at most `limit` (default 1mb) and
   * MAX_JSON_DEPTH deep. With `what` the router validates it against `schema` ("invalid <what>:
   * ...", a missing body as `{}` so the answer names the missing fields); without, the handler
   * does (experiments and workflows: engine-side, with the kind's params).
   */
  body?: { schema: B; name?: string; what?: string; limit?: string };
  /**
   * The answer on success: a JSON `schema`, or another `contentType`. `name`: the schema's name under
   * `components.schemas` in the OpenAPI document (shared schemas are referenced, not repeated).
   */
  response: { status?: 200 | 201; description: string; schema?: TSchema; name?: string; contentType?: string };
  /** Failures worth naming besides the 400/401/403 every route may give. */
  errors?: Partial<Record<404 | 409 | 413 | 422 | 502 | 503, string>>;
  /**
   * Returns the answer (sent as JSON with `response.status`), or writes to `res` itself and
   * returns undefined (streams, HTML, text). Keep it a thin call into the engine.
   */
  handler: (i: Input<Static<Q>, Static<B>>) => unknown;
}

/** A route with its types erased, as the table holds it. */
export type Route = RouteSpec<TObject, TSchema>;

/** Declares a route; the generics type the handler's query and body from the schemas. */
export function route<Q extends TObject = TObject, B extends TSchema = TSchema>(r: RouteSpec<Q, B>): Route {
  return r as unknown as Route;
}

/** The object a `/…/:namespace/:name` path names. */
export interface NamedRef {
  namespace: string;
  name: string;
}

export const namedRef = (p: Record<string, string>): NamedRef => ({ namespace: p.namespace, name: p.name });

/**
 * GET and DELETE of one namespaced object at `path` (`/…/:namespace/:name`): experiments and
 * workflows have the same pair. `noun` names it in the answers' descriptions and the 404.
 */
export function getAndDelete(
  path: string,
  noun: string,
  one: { schema: TSchema; name: string },
  get: [summary: string, handler: (ref: NamedRef) => unknown],
  del: [summary: string, handler: (ref: NamedRef, actor: string) => unknown],
): Route[] {
  const errors = { 404: `no such ${noun}` };
  return [
    route({ method: 'GET', path, role: 'viewer', summary: get[0], response: { description: `the ${noun}`, ...one }, errors, handler: ({ params }) => get[1](namedRef(params)) }),
    route({ method: 'DELETE', path, role: 'operator', summary: del[0], response: { description: `the deleted ${noun}`, ...one }, errors, handler: ({ params, actor }) => del[1](namedRef(params), actor) }),
  ];
}

/** `/experiments/:namespace/:name` → `/experiments/{namespace}/{name}` (OpenAPI's spelling). */
export function openapiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** The names of a path's parameters, in order. */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]);
}
