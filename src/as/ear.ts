/**
 * EAR (Entity Attestation Result) token broker (specs/trustee.md §2.7): one ES256 JWS per evaluation, one submod per
 * verified claim set, each carrying an AR4SI trustworthiness vector produced by the attestation policy.
 */
import { sign } from 'node:crypto';
import type { Json, JsonObject, TeeClass } from '../verifiers/types.js';
import type { TokenBrokerConfig } from './config.js';
import type { TokenSigner } from './signer.js';
import { AttestationServiceError } from './errors.js';

/** AR4SI trust-claim names, in Trustee's token order. */
export const TRUST_CLAIM_NAMES = [
  'instance-identity',
  'configuration',
  'executables',
  'file-system',
  'hardware',
  'runtime-opaque',
  'storage-opaque',
  'sourced-data',
] as const;
export type TrustClaimName = (typeof TRUST_CLAIM_NAMES)[number];
export type TrustVector = Partial<Record<TrustClaimName, number>>;

export type EarStatus = 'none' | 'affirming' | 'warning' | 'contraindicated';
const STATUS_RANK: Record<EarStatus, number> = { none: 0, affirming: 1, warning: 2, contraindicated: 3 };

/** AR4SI tier of one trust-claim value (draft-ietf-rats-ar4si §2.3.1). */
export function tierOf(v: number): EarStatus {
  if (v >= -1 && v <= 1) return 'none';
  if ((v >= 2 && v <= 31) || (v <= -2 && v >= -32)) return 'affirming';
  if ((v >= 32 && v <= 95) || (v <= -33 && v >= -96)) return 'warning';
  return 'contraindicated';
}

/** Worst tier over the claims that are set. */
export function statusOf(tv: TrustVector): EarStatus {
  let worst: EarStatus = 'none';
  for (const name of TRUST_CLAIM_NAMES) {
    const v = tv[name];
    if (v === undefined) continue;
    const t = tierOf(v);
    if (STATUS_RANK[t] > STATUS_RANK[worst]) worst = t;
  }
  return worst;
}

export interface PolicyExtension {
  name: string;
  key: number;
  value: Json;
}

/**
 * Turn `data.policy.trust_claims` into a trust vector: an object of int8 values keyed by the eight AR4SI names.
 * Missing rule → every claim 0 (Trustee); unknown names and non-integers are errors (Trustee panics / errors).
 */
export function parseTrustClaims(raw: unknown): TrustVector {
  if (raw === undefined) {
    return Object.fromEntries(TRUST_CLAIM_NAMES.map((n) => [n, 0])) as TrustVector;
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new AttestationServiceError('ERR_AS_POLICY_EVAL', 'policy trust_claims must be an object');
  }
  const tv: TrustVector = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!(TRUST_CLAIM_NAMES as readonly string[]).includes(k)) {
      throw new AttestationServiceError('ERR_AS_POLICY_EVAL', `policy trust_claims: unknown claim "${k.slice(0, 40)}"`);
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < -128 || v > 127) {
      throw new AttestationServiceError('ERR_AS_POLICY_EVAL', `policy trust_claims: "${k}" must be an integer in -128..127`);
    }
    tv[k as TrustClaimName] = v;
  }
  if (Object.keys(tv).length === 0) throw new AttestationServiceError('ERR_AS_POLICY_EVAL', 'policy set no trust claims');
  return tv;
}

const RESERVED_APPRAISAL_KEYS = new Set(['ear.status', 'ear.trustworthiness-vector', 'ear.appraisal-policy-id', 'ear.veraison.annotated-evidence']);

/** `data.policy.extensions`: array of `{name, key, value}`; missing → none. */
export function parseExtensions(raw: unknown): PolicyExtension[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new AttestationServiceError('ERR_AS_POLICY_EVAL', 'policy extensions must be an array');
  return raw.map((e) => {
    if (e === null || typeof e !== 'object' || Array.isArray(e)) throw new AttestationServiceError('ERR_AS_POLICY_EVAL', 'policy extension must be an object');
    const { name, key, value } = e as Record<string, unknown>;
    if (typeof name !== 'string' || name === '' || RESERVED_APPRAISAL_KEYS.has(name)) {
      throw new AttestationServiceError('ERR_AS_POLICY_EVAL', 'policy extension needs a non-reserved string name');
    }
    if (typeof key !== 'number' || !Number.isInteger(key) || key < -(2 ** 31) || key >= 2 ** 31) {
      throw new AttestationServiceError('ERR_AS_POLICY_EVAL', `policy extension "${name.slice(0, 40)}": key must be an i32`);
    }
    return { name, key, value: (value === undefined ? null : value) as Json };
  });
}

export interface Appraisal {
  class: TeeClass;
  trustVector: TrustVector;
  /** The policy input document (§3.6). */
  annotatedEvidence: JsonObject;
  extensions: PolicyExtension[];
}

export interface EarIssueInput {
  appraisals: Appraisal[];
  /** First requested policy id (Trustee reports this, not the per-class id evaluated). */
  policyId: string;
  now: Date;
}

export class EarTokenBroker {
  /** base64url of the protected header `{"alg":"ES256","typ":"JWT","jwk":{…}}`: fixed for this signer, built once. */
  private readonly headerB64: string;

  constructor(
    private readonly cfg: TokenBrokerConfig,
    private readonly signer: TokenSigner,
  ) {
    this.headerB64 = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT', jwk: { ...signer.publicJwk } }), 'utf8').toString('base64url');
  }

  jwks(): { keys: Json[] } {
    return { keys: [{ ...this.signer.publicJwk } as unknown as Json] };
  }

  /** Build the EAR claims set (exported for tests and for the KBS's documentation). */
  payload(input: EarIssueInput): JsonObject {
    if (input.appraisals.length === 0) throw new AttestationServiceError('ERR_AS_TOKEN', 'no appraisal to put in a token');
    const iat = Math.floor(input.now.getTime() / 1000);
    const counters = new Map<string, number>();
    const submods: JsonObject = {};
    for (const a of input.appraisals) {
      const n = counters.get(a.class) ?? 0;
      counters.set(a.class, n + 1);
      const tv: JsonObject = {};
      for (const name of TRUST_CLAIM_NAMES) {
        const v = a.trustVector[name];
        if (v !== undefined) tv[name] = v;
      }
      const appraisal: JsonObject = {
        'ear.status': statusOf(a.trustVector),
        'ear.trustworthiness-vector': tv,
        'ear.appraisal-policy-id': input.policyId,
        'ear.veraison.annotated-evidence': a.annotatedEvidence,
      };
      for (const ext of a.extensions) appraisal[ext.name] = ext.value;
      submods[`${a.class}${n}`] = appraisal;
    }
    return {
      eat_profile: this.cfg.profileName,
      iat,
      'ear.verifier-id': { developer: this.cfg.developerName, build: this.cfg.buildName },
      submods,
      exp: iat + this.cfg.durationMin * 60,
      iss: this.cfg.issuerName,
    };
  }

  /**
   * Compact JWS (RFC 7515 §7.1), ES256 (RFC 7518 §3.4: ECDSA P-256 SHA-256, signature R ‖ S, 32 bytes each) on
   * node:crypto with the signer's KeyObject: BASE64URL(header) '.' BASE64URL(UTF-8 claims JSON) '.' BASE64URL(sig).
   * Same bytes as jose's CompactSign with that header (test/as/ear-signing.test.ts), without WebCrypto's async job.
   */
  async issue(input: EarIssueInput): Promise<string> {
    const payload = this.payload(input);
    const signingInput = `${this.headerB64}.${Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url')}`;
    const sig = sign('sha256', Buffer.from(signingInput, 'ascii'), { key: this.signer.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${signingInput}.${sig.toString('base64url')}`;
  }
}
