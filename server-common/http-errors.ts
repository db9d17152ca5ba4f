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

/** body-parser's failures (they carry `type` and `status`) in our vocabulary. */
function fromBodyParser(err: { type?: string; status?: number; limit?: number; message?: string }): ApiError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return ApiError.invalid(`invalid JSON body: ${err.message}`, [{ field: '/', reason: 'is not valid JSON' }]);
    case 'entity.too.large':
      return new ApiError(413, 'too_large', `request body is larger than ${err.limit ?? 'the limit of'} bytes`);
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
    let e = err instanceof ApiError ? err : fromBodyParser((err ?? {}) as Record<string, never>);
    if (!e) {
      o.log.error({ err, method: req.method, path: req.path }, 'request failed');
      e = new ApiError(500, 'internal', (err as Error)?.message ?? String(err));
    } else if (o.logRefusals && e.status < 500) {
      o.log.info({ method: req.method, path: req.path, status: e.status, message: e.message }, 'request refused');
    }
    // A stream (SSE, a report) that fails after its head went out can only be cut.
    if (res.headersSent) return void res.end();
    res.status(e.status).json(e.toBody());
  };
}
