import express, { type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { precompile, validate } from '../../api/validate';
import { errorHandler, noRoute } from '../../server-common/http-errors';
import { jsonBody } from '../../server-common/json-body';
import { actorOf, authorize } from '../auth/middleware';
import type { Route } from './route';

// The express side of the route table: one case-sensitive, strict router (so `/api/v1/FREEZE`,
// `/api/v1/%66reeze`, `//api/v1/freeze` and `/api/v1/freeze/` are no route at all, answered 404),
// and per route, in order: the role check on the matched route, the JSON body (only where the
// route takes one), query and body validation, the handler.

const lower = { GET: 'get', POST: 'post', PUT: 'put', DELETE: 'delete' } as const;

export function routerOf(routes: Route[]): express.Router {
  // Every schema a route validates is compiled now, not on its first request: an ajv compile costs
  // milliseconds, and the first alert webhook of an exporter's life spent 8.6 ms compiling its
  // notification's schema before the first recover could leave (profiled, an abort of 1000 runs).
  // The whole table costs ~45 ms, once per process (compiled schemas are cached).
  precompile(routes.flatMap((r) => [...(r.query ? [r.query] : []), ...(r.body?.what ? [r.body.schema] : [])]));
  const router = express.Router({ caseSensitive: true, strict: true });
  for (const r of routes) {
    const chain: RequestHandler[] = [authorize(r.role, `${r.method} ${r.path}`)];
    if (r.body) chain.push(jsonBody({ limit: r.body.limit ?? '1mb' }));
    chain.push(async (req, res) => {
      const query = r.query ? validate(r.query, { ...req.query }, 'query', '/query') : {};
      const body: unknown = r.body?.what ? validate(r.body.schema, req.body ?? {}, r.body.what) : req.body;
      const params = Object.fromEntries(Object.entries(req.params as Record<string, string>).map(([k, v]) => [k, String(v)]));
      const out = await r.handler({ req, res, query, body, params, actor: actorOf(req) });
      if (out !== undefined && !res.headersSent) res.status(r.response.status ?? 200).json(out);
    });
    router[lower[r.method]](r.path, ...chain);
  }
  return router;
}

/** An express app serving `routes` behind `authenticate`, with 404s and errors in the one error shape. */
export function appOf(o: { routes: Route[]; authenticate: RequestHandler; log: Logger }): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.use(o.authenticate);
  app.use(routerOf(o.routes));
  app.use(noRoute());
  app.use(errorHandler({ log: o.log }));
  return app;
}
