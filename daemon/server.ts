import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express from 'express';
import type { Logger } from 'pino';
import type { TSchema } from '@sinclair/typebox';
import { ApiError } from '../api/errors';
import { precompile, validate } from '../api/validate';
import { answerFor, bodyTooLarge, errorHandler, invalidJson, noRoute } from '../server-common/http-errors';
import { jsonBody, refuseDeepJson } from '../server-common/json-body';
import type { Capabilities } from './capabilities';
import type { FaultManager } from './manager';
import type { Protection } from './resolve/protect';
import type { DaemonMetrics } from './daemon-metrics';
import { DAEMON_API, requestSchemas, type Answer, type DaemonRoute } from './routes';

// The daemon's HTTP server: health and metrics, the token check, bounded JSON bodies, then every row of
// its route table (daemon/routes.ts). Every error leaves as `{error: {code, message, details}}`, through
// the handler the exporter uses too (server-common/http-errors.ts), or on the stop path the same body
// written by serveStopPath.

/** Largest request body (bytes). */
const BODY_LIMIT = 256 * 1024;
/** A fault request is at most ~6 levels deep: 32 leaves room and refuses a body built to overflow a walk. */
const BODY_MAX_DEPTH = 32;
/** The stop path: what an exporter's abort sends every daemon at once (api/daemon.ts DAEMON_ROUTES.recover). */
const STOP_PATH = '/v1/recover';

export interface ServerDeps {
  manager: FaultManager;
  metrics: DaemonMetrics;
  caps: Capabilities;
  protection: Protection;
  token?: string;
  version: string;
  startedAt: Date;
  log: Logger;
  /** The watchdog's pid and whether its recover code is loaded (undefined: running without one). */
  watchdog?: () => { pid: number; armed: boolean } | undefined;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/i.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function createApp(d: ServerDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // counted by route pattern, never by raw path, so fault ids cannot grow the label set
  app.use((req, res, next) => {
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      d.metrics.httpRequests.inc({ method: req.method, route, code: String(res.statusCode) });
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.use((req, _res, next) => {
    if (d.token && !tokenMatches(req.headers.authorization, d.token)) return next(ApiError.unauthorized());
    next();
  });

  app.use(jsonBody({ limit: `${BODY_LIMIT}b`, maxDepth: BODY_MAX_DEPTH }));

  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', d.metrics.registry.contentType);
    res.send(await d.metrics.registry.metrics());
  });

  for (const r of DAEMON_API) {
    app[r.method](r.path, async (req, res) => {
      const raw = r.input?.from === 'query' ? { ...req.query } : (req.body ?? (r.input?.optional ? {} : undefined));
      const { status, body } = await serveRow(d, r, raw, req.params as Record<string, string>);
      res.status(status ?? 200).json(body);
    });
  }

  app.use(noRoute());
  app.use(errorHandler(errorLog(d)));
  return app;
}

/**
 * The daemon's request listener: `POST /v1/recover`, the stop path, is served by serveStopPath below;
 * everything else, other spellings of that path included, by express (createApp).
 *
 * Why a path of its own: an alert's abort is usually the first recover request of a daemon's life, so
 * every line on its way runs cold, and express's middleware chain and body parser were most of it. On
 * one daemon at rest, the CPU from the request's arrival to the first of 18 SIGCONTs: 3.4–4.2 ms for its
 * first recover through express, 1.7–2.3 ms this way (docs/architecture.md, "At fleet scale"). The same row of the route table runs, after the same token check, body bounds and
 * validation, with the same answers, errors and metrics label.
 */
export function createHandler(d: ServerDeps): RequestListener {
  const app = createApp(d);
  const stop = DAEMON_API.find((r) => r.method === 'post' && r.path === STOP_PATH)!;
  return (req, res) => {
    // an encoded body (gzip) is express's: its body parser inflates it
    if (req.method === 'POST' && req.url === STOP_PATH && req.headers['content-encoding'] === undefined) serveStopPath(d, stop, req, res);
    else void app(req, res);
  };
}

/** How the daemon logs a failed request: refusals too (a confused client shows in its log). */
const errorLog = (d: ServerDeps) => ({ log: d.log, logRefusals: true });

/** A row of the route table on its raw input: validated against the row's schema, then handled. */
function serveRow(d: ServerDeps, r: DaemonRoute, raw: unknown, params: Record<string, string>): Answer | Promise<Answer> {
  return r.handle(d, r.input && validate(r.input.schema, raw, r.input.what), params);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** One table row served without express: what its middleware and errorHandler do, in the same words. */
function serveStopPath(d: ServerDeps, r: DaemonRoute, req: IncomingMessage, res: ServerResponse): void {
  res.on('finish', () => d.metrics.httpRequests.inc({ method: 'POST', route: r.path, code: String(res.statusCode) }));
  const fail = (err: unknown) => {
    const e = answerFor(err, errorLog(d), { method: 'POST', path: r.path });
    if (!res.headersSent) sendJson(res, e.status, e.toBody());
  };
  if (d.token && !tokenMatches(req.headers.authorization, d.token)) return fail(ApiError.unauthorized());
  if (Number(req.headers['content-length'] ?? 0) > BODY_LIMIT) {
    res.setHeader('Connection', 'close'); // the body is not read
    return fail(bodyTooLarge(BODY_LIMIT));
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > BODY_LIMIT && !refused) {
      refused = true;
      res.setHeader('Connection', 'close'); // the rest is not read
      fail(bodyTooLarge(BODY_LIMIT));
      req.pause();
    } else if (!refused) chunks.push(c);
  });
  req.on('end', () => {
    if (refused) return;
    void (async () => {
      const buf = Buffer.concat(chunks);
      refuseDeepJson(buf, BODY_MAX_DEPTH);
      let body: unknown = {}; // an empty body, as express.json gives it
      const text = buf.toString('utf8');
      if (text.trim()) {
        try {
          // express.json's strict mode: an object or an array, nothing else
          if (!/^\s*[[{]/.test(text)) throw new SyntaxError(`${JSON.stringify(text.trim().slice(0, 20))} is not an object or an array`);
          body = JSON.parse(text);
        } catch (err) {
          throw invalidJson((err as Error).message);
        }
      }
      const { status, body: answer } = await serveRow(d, r, body, {});
      sendJson(res, status ?? 200, answer);
    })().catch(fail);
  });
}

/**
 * Compiles every request schema the daemon validates (its route table's, and each kind's params), off the
 * start path (setImmediate after listening): an alert's abort is often a daemon's first recover request,
 * and compiling its schema then cost ~3 ms before the first SIGCONT, each daemon of a node pool at once.
 */
export function precompileRequestSchemas(kindParams: Iterable<TSchema>): void {
  precompile([...requestSchemas(), ...kindParams]);
}
