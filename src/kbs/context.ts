/** Everything a request handler needs, resolved once at start (see bootstrap.ts). Tests build it directly. */
import type { AttestationService } from '../as/types.js';
import type { AdminAuthorizer } from './admin.js';
import type { KbsMetrics } from './metrics.js';
import type { KbsPlugin } from './plugins/types.js';
import type { AuthRateLimiter } from './rate-limit.js';
import type { ResourcePolicy } from './resource-policy.js';
import type { SessionStore } from './session.js';
import type { TokenVerifier } from './token/verifier.js';

export interface KbsContext {
  /** Absent: resource-only KBS (passport mode): no /auth, /attest, /attestation-policy, /reference-value. */
  as?: AttestationService;
  sessions: SessionStore;
  tokens: TokenVerifier;
  admin: AdminAuthorizer;
  resourcePolicy: ResourcePolicy;
  plugins: ReadonlyMap<string, KbsPlugin>;
  metrics: KbsMetrics;
  /** JSON pointers tried first for the tee-pubkey (`extra_teekey_paths`). */
  extraTeekeyPaths: string[];
  allowRsa15: boolean;
  payloadRequestSize: number;
  clock: () => Date;
  /** Per-client `/auth` rate limit (`[http_server] auth_rate_limit`); absent = off. */
  authRateLimit?: AuthRateLimiter;
  /**
   * `GET /readyz`: true once the start-up work that needs storage is done and storage answers a ping. Absent: always
   * ready (tests that build a context by hand).
   */
  readiness?: () => Promise<boolean>;
}
