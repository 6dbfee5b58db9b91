/**
 * Errors raised by the Attestation Service. `message` is always safe to show a client (the KBS turns it into a 401
 * `AttestationError`); `code` is stable for tests. Secrets never appear in either.
 */
export type AsErrorCode =
  | 'ERR_AS_BAD_REQUEST'
  | 'ERR_AS_UNKNOWN_TEE'
  | 'ERR_AS_VERIFICATION'
  | 'ERR_AS_POLICY_NOT_FOUND'
  | 'ERR_AS_POLICY_INVALID'
  | 'ERR_AS_POLICY_EVAL'
  | 'ERR_AS_INVALID_POLICY_ID'
  | 'ERR_AS_INIT_DATA'
  | 'ERR_AS_RUNTIME_DATA'
  | 'ERR_AS_TOKEN'
  | 'ERR_AS_RVPS'
  | 'ERR_AS_INTERNAL';

export class AttestationServiceError extends Error {
  constructor(readonly code: AsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AttestationServiceError';
  }
}
