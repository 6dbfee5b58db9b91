/**
 * The one interface every TEE verifier implements (Trustee's `Verifier` trait), plus the registry that verifier
 * folders add themselves to. The AS and the KBS never look inside evidence.
 *
 * Verification is not appraisal: a verifier checks signatures, chains, freshness, TCB and the report-data /
 * init-data binding, and returns claims. Whether those claims are trustworthy is the attestation policy's job.
 */

/** TEE class of a claim set; becomes the submod name prefix (`cpu0`, `gpu0`, …). */
export type TeeClass = 'cpu' | 'gpu' | 'switch' | 'ppcie' | 'dcu' | 'nvidia-dpu';

/** JSON value as produced by JSON.parse. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export interface VerifyInput {
  /** The evidence JSON for this TEE, already parsed from the wire (`primary_evidence` or a device's entry). */
  evidence: Json;
  /** Expected report data (the runtime-data digest), or undefined when the request carried none. */
  expectedReportData?: Uint8Array;
  /** Expected init-data digest, or undefined when the request carried none. */
  expectedInitDataHash?: Uint8Array;
  /** The verification time. Every freshness check (certificate validity, CRL next-update, collateral) uses it. */
  now: Date;
}

export interface ClaimSet {
  claims: JsonObject;
  class: TeeClass;
}

/** Thrown when evidence does not verify. `code` is stable for tests; `message` is safe to show a client. */
export class VerificationError extends Error {
  constructor(readonly code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VerificationError';
  }
}

export interface Verifier {
  /** Verify evidence and return one claim set per attested component. Throws VerificationError on failure. */
  verify(input: VerifyInput): Promise<ClaimSet[]>;
  /** Only IBM SE returns a non-empty supplemental challenge. */
  generateSupplementalChallenge?(teeParameters: string): Promise<string>;
}

/** Context handed to a verifier factory: configuration and the outside world, passed in (never reached for). */
export interface VerifierContext {
  /** The `[attestation_service.verifier_config]` block (Trustee names), possibly empty. */
  config: JsonObject;
  /** Directory for caches (downloaded trust anchors, collateral, VCEKs). */
  cacheDir?: string;
  /** HTTP fetcher for online sources (AMD KDS, Intel PCS). Absent = offline. */
  fetch?: (url: string, init?: { headers?: Record<string, string> }) => Promise<{ status: number; headers: Headers; body: Uint8Array }>;
  /** Logger for warnings (insecure modes). */
  log?: { warn(msg: string): void; info(msg: string): void };
}

export type VerifierFactory = (ctx: VerifierContext) => Verifier | Promise<Verifier>;

const registry = new Map<string, VerifierFactory>();

/** Each verifier folder calls this once for each TEE name it serves (`snp`, `az-snp-vtpm`, …). */
export function registerVerifier(tee: string, factory: VerifierFactory): void {
  if (registry.has(tee)) throw new Error(`verifier for tee "${tee}" registered twice`);
  registry.set(tee, factory);
}

export function verifierFactory(tee: string): VerifierFactory | undefined {
  return registry.get(tee);
}

export function registeredTees(): string[] {
  return [...registry.keys()].sort();
}
