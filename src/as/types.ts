/**
 * The Attestation Service as the KBS (and restful-as / grpc-as) see it: Trustee's library API
 * (`attestation_service::AttestationService`, specs/trustee.md §3.1). The KBS never looks inside evidence.
 */
import type { Json } from '../verifiers/types.js';

export type HashAlgorithm = 'sha256' | 'sha384' | 'sha512';

export type RuntimeData =
  | { kind: 'raw'; bytes: Uint8Array }
  /** Structured: JCS-canonicalized and hashed; the JSON is echoed as `runtime_data_claims`. */
  | { kind: 'structured'; json: Json };

export type InitData =
  | { kind: 'digest'; bytes: Uint8Array }
  /** TOML init-data body exactly as sent (its digest is over these bytes). */
  | { kind: 'toml'; toml: string };

export interface VerificationRequest {
  /** TEE name as on the wire (`sample`, `snp`, `tdx`, `az-snp-vtpm`, …). */
  tee: string;
  /** The evidence JSON for that TEE. */
  evidence: Json;
  runtimeData?: RuntimeData;
  runtimeDataHashAlgorithm?: HashAlgorithm;
  initData?: InitData;
}

export interface AttestationService {
  /**
   * Verify every request, run the attestation policy `<policyIds[0]>_<class>` per claim set and issue an EAR token
   * (compact JWS). Throws AttestationError-style errors (see src/as/errors.ts) on failure.
   */
  evaluate(requests: VerificationRequest[], policyIds: string[], now?: Date): Promise<string>;
  /** `policy` is base64url Rego text (wire form); compile-checked before it is stored. */
  setPolicy(policyId: string, policyB64Url: string): Promise<void>;
  listPolicies(): Promise<string[]>;
  getPolicy(policyId: string): Promise<string | undefined>;
  /** `{"keys":[jwk]}` of the token signer. */
  tokenSignerJwks(): Promise<{ keys: Json[] }>;
  /** RVPS `Message` JSON text (§5.1). */
  registerReferenceValue(message: string): Promise<void>;
  queryReferenceValue(id: string): Promise<Json | undefined>;
  /**
   * The challenge's `extra-params` for this TEE (the hash negotiation of specs/trustee.md §2.1), when the backend
   * decides it (Intel Trust Authority); absent: the KBS's own rule (sha512 for SE, `""` otherwise). May throw an
   * AttestationServiceError when the client supports no acceptable hash.
   */
  challengeExtraParams?(tee: string, extraParams: unknown): unknown;
  /** Only IBM SE returns non-empty; others `""`. */
  generateSupplementalChallenge(tee: string, teeParameters: string): Promise<string>;
}
