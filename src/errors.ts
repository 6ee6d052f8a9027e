/**
 * The error catalogue: every error the API answers with has a stable code and its HTTP status.
 * Clients match on `code`; `message` is for people and may change.
 */
export const ERRORS = {
  malformed_json: 400,
  bad_request: 400,
  unauthorized: 401,
  /** A state-changing request made with the session cookie lacks its X-CSRF-Token. */
  csrf_failed: 403,
  not_found: 404,
  conflict: 409,
  request_timeout: 408,
  payload_too_large: 413,
  unsupported_media_type: 415,
  invalid: 422,
  throttled: 429,
  headers_too_large: 431,
  storage_unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class ApiError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** For 422: the field at fault, as a JSON path such as `events[2]` or `headers.X-Foo`. */
    readonly field?: string,
  ) {
    super(message);
    this.statusCode = ERRORS[code];
  }
}

export const notFound = (what: string): ApiError => new ApiError('not_found', `${what} not found`);
export const invalid = (field: string, message: string): ApiError =>
  new ApiError('invalid', `${field}: ${message}`, field);
