/**
 * The KBS error hierarchy: one class per Trustee error variant (specs/trustee.md §1.4), each with the wire type name
 * and HTTP status. Thrown anywhere; turned into problem JSON in exactly one place (`problemFromError`, used by the
 * fastify error handler in server.ts). `detail` must never carry secrets.
 */
export const ERROR_TYPE_PREFIX = 'https://github.com/confidential-containers/kbs/errors/';

export type KbsErrorVariant =
  | 'AdminAuthInitialization'
  | 'AdminAuthAccess'
  | 'AttestationError'
  | 'InvalidRequestPath'
  | 'JweError'
  | 'PluginNotFound'
  | 'PluginInternalError'
  | 'PolicyDeny'
  | 'ParsePolicyError'
  | 'PolicyEngineError'
  | 'RvpsError'
  | 'SerdeError'
  | 'TokenNotFound'
  | 'TokenVerifierError'
  | 'PrometheusError'
  | 'PayloadTooLarge'
  | 'StorageUnavailable'
  | 'AttestationServiceUnavailable'
  | 'TooManySessions'
  | 'TooManyRequests';

export abstract class KbsError extends Error {
  abstract readonly variant: KbsErrorVariant;
  /** Trustee answers almost everything with 401 (its client re-runs RCAR on 401). */
  readonly status: number = 401;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class AdminAuthInitialization extends KbsError {
  readonly variant = 'AdminAuthInitialization' as const;
}
export class AdminAuthAccess extends KbsError {
  readonly variant = 'AdminAuthAccess' as const;
}
export class AttestationError extends KbsError {
  readonly variant = 'AttestationError' as const;
}
export class InvalidRequestPath extends KbsError {
  readonly variant = 'InvalidRequestPath' as const;
  override readonly status = 404;
}
export class JweError extends KbsError {
  readonly variant = 'JweError' as const;
}
export class PluginNotFound extends KbsError {
  readonly variant = 'PluginNotFound' as const;
  override readonly status = 404;
}
export class PluginInternalError extends KbsError {
  readonly variant = 'PluginInternalError' as const;
}
export class PolicyDeny extends KbsError {
  readonly variant = 'PolicyDeny' as const;
  constructor(message = 'request unauthorized') {
    super(message);
  }
}
export class ParsePolicyError extends KbsError {
  readonly variant = 'ParsePolicyError' as const;
}
export class PolicyEngineError extends KbsError {
  readonly variant = 'PolicyEngineError' as const;
}
export class RvpsError extends KbsError {
  readonly variant = 'RvpsError' as const;
}
export class SerdeError extends KbsError {
  readonly variant = 'SerdeError' as const;
}
export class TokenNotFound extends KbsError {
  readonly variant = 'TokenNotFound' as const;
}
export class TokenVerifierError extends KbsError {
  readonly variant = 'TokenVerifierError' as const;
}
export class PrometheusError extends KbsError {
  readonly variant = 'PrometheusError' as const;
}
/** Not a Trustee variant: Trustee's actix returns a bare 413; we keep the problem shape. */
export class PayloadTooLarge extends KbsError {
  readonly variant = 'PayloadTooLarge' as const;
  override readonly status = 413;
}
/** Not a Trustee variant: the storage backend did not answer. */
export class StorageUnavailable extends KbsError {
  readonly variant = 'StorageUnavailable' as const;
  override readonly status = 503;
}

/** Not a Trustee variant: the remote attestation service (`coco_as_grpc`) did not answer; retry later. */
export class AttestationServiceUnavailable extends KbsError {
  readonly variant = 'AttestationServiceUnavailable' as const;
  override readonly status = 503;
}

/**
 * Not a Trustee variant (Trustee has no session cap): this instance already holds `max_sessions` live RCAR
 * sessions. 429 so clients back off; nothing was stored.
 */
export class TooManySessions extends KbsError {
  readonly variant = 'TooManySessions' as const;
  override readonly status = 429;
}

/**
 * Not a Trustee variant (Trustee has no rate limit): this client sent `/auth` faster than
 * `[http_server] auth_rate_limit` allows. 429 with Retry-After; nothing was stored.
 */
export class TooManyRequests extends KbsError {
  readonly variant = 'TooManyRequests' as const;
  override readonly status = 429;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
}

export function problemOf(err: KbsError): Problem {
  return { type: ERROR_TYPE_PREFIX + err.variant, title: err.variant, status: err.status, detail: err.message };
}
