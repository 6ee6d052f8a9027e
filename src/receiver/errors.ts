/** Why a request was refused; stable strings, safe to log and to answer with. */
export type RefusalReason = 'missing_header' | 'malformed' | 'bad_signature' | 'stale_timestamp' | 'wrong_key';

/**
 * Thrown by the verifiers: the request does not come from the relay (or was changed, or replayed
 * late). `reason` says which check failed; the message says it in words, never with a secret.
 *
 * @example
 * try { verify('standard', req, { secret }) } catch (e) {
 *   if (e instanceof VerifyError) return reply(401, e.reason);
 *   throw e;
 * }
 */
export class VerifyError extends Error {
  override readonly name = 'VerifyError';
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
  }
}

/** Thrown by parse(): the body is not what the format sends. */
export class ParseError extends Error {
  override readonly name = 'ParseError';
}
