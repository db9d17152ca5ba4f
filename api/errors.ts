import { Type, type Static } from '@sinclair/typebox';

/**
 * Every `error.code` Faultline's servers (exporter and daemon) answer with, and what it means. One
 * list, so a client can switch on a code and the OpenAPI document can enumerate them; the HTTP
 * status says the class of failure, the code which one, `details` which field.
 */
export const ERROR_CODES = {
  invalid_input: '400: the request is malformed; details name each offending field',
  unauthorized: '401: no valid token (or, without tokens, a client that is not on loopback)',
  forbidden: "403: the token's role is too low for this route",
  policy_violation: '403 (409 for maxConcurrentExperiments): the blast radius policy refuses this request',
  not_found: '404: no such route or resource',
  conflict: '409: not possible in the current state (phase, freeze, firing guard, name taken)',
  aborted: '409: the fault was deleted while it was being set up',
  too_large: '413: the request body is larger than the route accepts',
  unprocessable: '422: valid input that cannot be carried out here: the kind is unsupported on the selected daemons, or a target is invalid, gone or protected',
  internal: '500: an unexpected failure (logged by the server)',
  inject_failed: '500: the daemon could not apply the fault (nothing is left applied)',
  recover_failed: '500: the daemon could not revert the fault (it keeps it journaled and retries)',
  daemon_error: '502: a daemon answered with an error',
  unavailable: '503: the server is shutting down',
  not_leader: '503: this exporter replica is on standby (Kubernetes leader election)',
  guard_unavailable: "503: a PromQL guard's pre-flight query failed, so the experiment was not started",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Every error body on the wire: `{error: {code, message, details}}`. */
export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.Union(
        (Object.keys(ERROR_CODES) as ErrorCode[]).map((c) => Type.Literal(c)),
        { description: Object.entries(ERROR_CODES).map(([c, meaning]) => `${c}: ${meaning}`).join('\n') },
      ),
      message: Type.String(),
      details: Type.Optional(
        Type.Array(
          Type.Object({
            field: Type.String({ description: 'JSON pointer of the offending field, e.g. /params/percent' }),
            reason: Type.String(),
          }),
        ),
      ),
    }),
  },
  { $id: 'ErrorBody' },
);
export type ErrorBody = Static<typeof ErrorBody>;
export type ErrorDetail = { field: string; reason: string };

/**
 * An error that carries its HTTP status, so every handler ends the same way:
 * `throw new ApiError(...)` and the one error handler (server-common/http-errors.ts) writes the body.
 * Servers may only use the codes of ERROR_CODES; `ApiError.foreign` is for codes that are not ours.
 */
export class ApiError extends Error {
  /** An ErrorCode from Faultline's servers; anything from `foreign`. */
  readonly code: string;

  constructor(
    readonly status: number,
    code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }

  /**
   * An error whose code is not one of ours: a client rebuilding what it received (a proxy's own
   * error, a newer server), or a service with its own vocabulary (the demo app).
   */
  static foreign(status: number, code: string, message: string, details?: ErrorDetail[]): ApiError {
    const e = new ApiError(status, 'internal', message, details);
    (e as { code: string }).code = code;
    return e;
  }

  toBody(): { error: { code: string; message: string; details?: ErrorDetail[] } } {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }

  static invalid(message: string, details?: ErrorDetail[]): ApiError {
    return new ApiError(400, 'invalid_input', message, details);
  }
  static unprocessable(message: string, details?: ErrorDetail[]): ApiError {
    return new ApiError(422, 'unprocessable', message, details);
  }
  static notFound(message: string): ApiError {
    return new ApiError(404, 'not_found', message);
  }
  static conflict(message: string, details?: ErrorDetail[]): ApiError {
    return new ApiError(409, 'conflict', message, details);
  }
  static unauthorized(message = 'a valid bearer token is required'): ApiError {
    return new ApiError(401, 'unauthorized', message);
  }
  static forbidden(message: string): ApiError {
    return new ApiError(403, 'forbidden', message);
  }
}
