import type { ErrorDetail } from './types';

// Every failure the panel shows goes through here, so the user reads what happened and what to do
// instead of "Bad Gateway" or "[object Object]". The raw message of the exporter is kept as well.

export type PanelErrorKind = 'unreachable' | 'unauthorized' | 'forbidden' | 'invalid' | 'not-found' | 'conflict' | 'unsupported' | 'failed';

export class PanelError extends Error {
  constructor(
    readonly kind: PanelErrorKind,
    readonly title: string,
    message: string,
    readonly status?: number,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'PanelError';
  }
}

interface ErrorShape {
  status?: number;
  code?: string;
  message?: string;
  details?: ErrorDetail[];
}

/** Pulls status, code, message and details out of whatever was thrown (ApiError, Grafana FetchError, SSE errors, TypeError). */
function shapeOf(err: unknown): ErrorShape {
  if (err === null || typeof err !== 'object') return { message: typeof err === 'string' ? err : undefined };
  const e = err as Record<string, unknown>;
  const status = typeof e.status === 'number' ? e.status : undefined;
  // The exporter's body may sit in .data (Grafana's backendSrv), .body (a string), or be the error itself.
  let body: unknown = e.data ?? e.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      body = undefined;
    }
  }
  const wire = (body as { error?: ErrorShape } | undefined)?.error;
  const grafanaMessage = (body as { message?: string } | undefined)?.message;
  return {
    status,
    code: wire?.code ?? (typeof e.code === 'string' ? e.code : undefined),
    message: wire?.message ?? grafanaMessage ?? (typeof e.message === 'string' ? e.message : undefined),
    details: wire?.details ?? (Array.isArray(e.details) ? (e.details as ErrorDetail[]) : []),
  };
}

/**
 * Turns anything thrown while doing `action` ("launch the experiment", "stop web/latency") into a
 * PanelError with a title and a sentence that says what to do.
 */
export function toPanelError(err: unknown, action: string): PanelError {
  if (err instanceof PanelError) return err;
  const { status, code, message, details = [] } = shapeOf(err);
  const said = message ? ` The exporter said: ${message}` : '';
  if (status === undefined || status === 0 || status === 502 || status === 503 || status === 504 || err instanceof TypeError) {
    return new PanelError(
      'unreachable',
      'Cannot reach the Faultline exporter',
      `Could not ${action}: the exporter did not answer through the data source. Check that it is running and that the data source URL is right, then try again.`,
      status,
    );
  }
  if (status === 401) {
    return new PanelError('unauthorized', 'The exporter rejected the data source token', `Could not ${action}. An admin can set a valid API token in the Faultline data source settings.${said}`, status);
  }
  if (status === 403) {
    return new PanelError(
      'forbidden',
      'Not allowed',
      `You are not allowed to ${action}. Launching, pausing and stopping chaos needs the Editor role in Grafana and an exporter token with operator rights.${said}`,
      status,
    );
  }
  if (status === 404) {
    return new PanelError('not-found', 'Not found', `Could not ${action}: it no longer exists (someone may have deleted it).${said}`, status);
  }
  if (status === 409) return new PanelError('conflict', 'Conflict', message ?? `Could not ${action}: it conflicts with the current state.`, status, details);
  if (status === 400 || code === 'invalid_input') {
    return new PanelError('invalid', 'Some fields need attention', message ?? 'The exporter refused the input.', status, details);
  }
  if (status === 422) return new PanelError('unsupported', 'Not supported here', message ?? `Could not ${action}.`, status, details);
  return new PanelError('failed', `Could not ${action}`, message ?? `The exporter answered with HTTP ${status}.`, status, details);
}
