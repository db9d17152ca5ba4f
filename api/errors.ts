import { Type, type Static } from '@sinclair/typebox';

/** Every error body on the wire: `{error: {code, message, details}}`. */
export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'machine-readable code, e.g. invalid_input, not_found, conflict' }),
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
 * `throw new ApiError(...)` and the one error middleware writes the body.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }

  static invalid(message: string, details?: ErrorDetail[]): ApiError {
    return new ApiError(400, 'invalid_input', message, details);
  }
  static unprocessable(message: string, details?: ErrorDetail[]): ApiError {
    return new ApiError(422, 'unsupported', message, details);
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
