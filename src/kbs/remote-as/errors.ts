/**
 * Failures of the remote Attestation Service that are not the AS's verdict: it could not be reached, it did not
 * answer within the per-request timeout, or the call has no gRPC counterpart. The KBS maps the first two to 503
 * `AttestationServiceUnavailable` (src/kbs/routes/as-errors.ts); `message` is always safe to show a client — the
 * address and the transport's own error text go to the log only.
 */
export type RemoteAsErrorCode = 'ERR_REMOTE_AS_UNAVAILABLE' | 'ERR_REMOTE_AS_TIMEOUT' | 'ERR_REMOTE_AS_UNSUPPORTED';

export class RemoteAsError extends Error {
  constructor(readonly code: RemoteAsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RemoteAsError';
  }

  /** The AS was not there to ask (as opposed to answering no): the client should retry later. */
  get unavailable(): boolean {
    return this.code === 'ERR_REMOTE_AS_UNAVAILABLE' || this.code === 'ERR_REMOTE_AS_TIMEOUT';
  }
}
