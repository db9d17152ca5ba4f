import { ApiError } from '../../api/errors';

/** Turns what backendSrv rejects with (FetchError) or anything else into an ApiError. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { status?: number; statusText?: string; data?: any; message?: string };
  const status = typeof e?.status === 'number' ? e.status : 0;
  const body = e?.data;
  if (body && typeof body === 'object' && body.error && typeof body.error === 'object' && typeof body.error.message === 'string') {
    return ApiError.foreign(status, String(body.error.code ?? 'error'), body.error.message, body.error.details);
  }
  const message = (body && typeof body === 'object' && (body.message || body.error)) || e?.statusText || e?.message || String(err);
  const code = status === 0 ? 'unreachable' : status === 401 ? 'unauthorized' : status === 403 ? 'forbidden' : status === 404 ? 'not_found' : status >= 500 ? 'bad_gateway' : 'error';
  return ApiError.foreign(status, code, String(message));
}
