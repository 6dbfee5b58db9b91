/**
 * One error class for the whole client. `step` says which part of the exchange failed (so the CLI can print
 * "attest: …"), `code` is a stable string tests and callers match on, and for HTTP failures `status`, `problemType`
 * (the Trustee error variant, e.g. `PolicyDeny`) and `detail` carry what the server said (specs/trustee.md §1.4).
 * Messages never contain key material or tokens.
 */
export type ClientStep =
  | 'input' // bad arguments or files given by the user
  | 'key' // TEE key generation / loading
  | 'auth' // POST /kbs/v0/auth
  | 'evidence' // collecting evidence from the attesters
  | 'attest' // POST /kbs/v0/attest
  | 'resource' // GET /kbs/v0/resource/… and the JWE decryption
  | 'admin' // admin endpoints
  | 'keygen'; // admin key pair / token generation

export type ClientErrorCode =
  | 'ERR_INPUT'
  | 'ERR_TEE_KEY'
  | 'ERR_HTTP' // transport failure (connection refused, TLS, …)
  | 'ERR_UNAUTHORIZED' // 401
  | 'ERR_NOT_FOUND' // 404
  | 'ERR_SERVER' // any other non-200 status
  | 'ERR_PROTOCOL' // a 200 response whose body is not what the protocol says
  | 'ERR_EVIDENCE'
  | 'ERR_DECRYPT'
  | 'ERR_KEYGEN';

export interface ClientErrorInit {
  status?: number;
  problemType?: string;
  detail?: string;
  cause?: unknown;
}

export class KbsClientError extends Error {
  readonly status?: number;
  /** Last path segment of the RFC 7807 `type` URI, e.g. `PolicyDeny`. */
  readonly problemType?: string;
  /** The server's `detail` text. */
  readonly detail?: string;

  constructor(
    readonly step: ClientStep,
    readonly code: ClientErrorCode,
    message: string,
    init: ClientErrorInit = {},
  ) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'KbsClientError';
    this.status = init.status;
    this.problemType = init.problemType;
    this.detail = init.detail;
  }
}

/** Text of an unknown thrown value, for wrapping library errors (which never carry our secrets). */
export function reason(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
