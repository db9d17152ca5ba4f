import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { ApiError } from '../api/errors';

// The one way an HTTP error leaves the exporter and the daemon: every failure becomes
// `{error: {code, message, details}}` (api/errors.ts) with its status. Lives outside both so
// neither imports the other (api/ stays free of server code: the browser bundles it).

/** What no route matched: 404 naming the method and path. */
export function noRoute(): RequestHandler {
  return (req, _res, next) => next(ApiError.notFound(`no route ${req.method} ${req.path}`));
}

/** A request body over `limit` bytes: 413 (body-parser's `entity.too.large`, and the daemon's stop path). */
export function bodyTooLarge(limit?: number): ApiError {
  return new ApiError(413, 'too_large', `request body is larger than ${limit ?? 'the limit of'} bytes`);
}

/** A request body that is not JSON (or not the JSON a strict parser takes): 400 naming the body. */
export function invalidJson(message: string | undefined): ApiError {
  return ApiError.invalid(`invalid JSON body: ${message}`, [{ field: '/', reason: 'is not valid JSON' }]);
}

/** body-parser's failures (they carry `type` and `status`) in our vocabulary. */
function fromBodyParser(err: { type?: string; status?: number; limit?: number; message?: string }): ApiError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return invalidJson(err.message);
    case 'entity.too.large':
      return bodyTooLarge(err.limit);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return ApiError.invalid(`unsupported request body encoding: ${err.message}`, [{ field: 'Content-Encoding', reason: String(err.message) }]);
    case 'request.aborted':
    case 'request.size.invalid':
      return ApiError.invalid(`incomplete request body: ${err.message}`, [{ field: '/', reason: 'the body ended early or its length is wrong' }]);
    default:
      return undefined;
  }
}

/**
 * express recognises an error handler by its four parameters. Unexpected errors are logged with
 * the request and answered 500 `internal`; refusals (4xx) are logged at info when `logRefusals`.
 */
export function errorHandler(o: { log: Logger; logRefusals?: boolean }): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const e = answerFor(err, o, req);
    // A stream (SSE, a report) that fails after its head went out can only be cut.
    if (res.headersSent) return void res.end();
    res.status(e.status).json(e.toBody());
  };
}

/**
 * What a failed request is answered with, logged the way errorHandler logs it: an unexpected error as
 * 500 `internal` (at error), a refusal (4xx) at info when `logRefusals`. Also for a route served
 * without express (the daemon's stop path).
 */
export function answerFor(err: unknown, o: { log: Logger; logRefusals?: boolean }, req: { method: string; path: string }): ApiError {
  const e = err instanceof ApiError ? err : fromBodyParser((err ?? {}) as Record<string, never>);
  if (!e) {
    o.log.error({ err, method: req.method, path: req.path }, 'request failed');
    return new ApiError(500, 'internal', (err as Error)?.message ?? String(err));
  }
  if (o.logRefusals && e.status < 500) o.log.info({ method: req.method, path: req.path, status: e.status, message: e.message }, 'request refused');
  return e;
}
