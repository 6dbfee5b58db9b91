/**
 * The plain `tpm` verifier: `{ak_public: b64 SPKI, tpm_quote: {signature: b64 TPMT_SIGNATURE, message: b64
 * TPMS_ATTEST, pcrs: [hex]}}` (specs/trustee.md §4).
 *
 * The AK has no certificate. The verifier proves that the quote was signed by the AK carried in the evidence and
 * emits that AK as the `ak_public` claim; whether the AK belongs to a machine the operator trusts is a POLICY
 * decision (default_cpu: `executables` 3 only when `ak_public` ∈ reference value `trusted_aks`). Without that
 * policy check any AK would do. Operators may add a verifier-side allow-list (`trusted_ak_keys_dir`,
 * `trusted_ak_sha256`); when configured, an AK outside it is rejected before anything else is looked at.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../util/config-error.js';
import { VerificationError, type ClaimSet, type Json, type JsonObject, type Verifier, type VerifierContext, type VerifyInput } from '../types.js';
import { parseTpmsAttestQuote, parseTpmtSignature, type TpmsAttestQuote } from './quote.js';
import { checkInitDataPcr, checkNonce, INITDATA_PCR, parsePcrHex, verifyPcrDigest, verifyQuoteSignature } from './verify.js';

const K = 'attestation_service.verifier_config.tpm_verifier';
/** Trustee's current attester resizes the report data to 32 bytes (specs/trustee.md §2.2, `tpm` row). */
export const TPM_REPORT_DATA_SIZE = 32;
/** Earlier Trustee attesters zero-padded it to 64 bytes (tpm/tpm_evidence.json carries such a quote). */
export const TPM_LEGACY_REPORT_DATA_SIZE = 64;

export interface TpmVerifierConfig {
  /**
   * Optional verifier-side AK allow-list: hex SHA-256 of the AK SubjectPublicKeyInfo DER. `undefined` = not
   * configured (every AK whose signature verifies is passed on to the policy); a set, even an empty one, restricts.
   */
  akAllowList: Set<string> | undefined;
}

function loadKeysDir(dir: unknown, max: number, into: Set<string>): void {
  if (typeof dir !== 'string' || dir === '') throw new ConfigError(`${K}.trusted_ak_keys_dir`, 'must be a directory path');
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.pub')).sort();
  } catch {
    throw new ConfigError(`${K}.trusted_ak_keys_dir`, `cannot read directory ${dir}`);
  }
  let loaded = 0;
  for (const n of names) {
    if (loaded >= max) break;
    const p = join(dir, n);
    let pem: string;
    try {
      if (!statSync(p).isFile()) continue;
      pem = readFileSync(p, 'utf8');
    } catch {
      throw new ConfigError(`${K}.trusted_ak_keys_dir`, `cannot read ${p}`);
    }
    // createPublicKey would derive a public key from a private one; a trust directory holds public keys only.
    if (/PRIVATE KEY-----/.test(pem)) throw new ConfigError(`${K}.trusted_ak_keys_dir`, `${p} holds a private key; store only the AK's public key`);
    try {
      const der = createPublicKey({ key: pem, format: 'pem' }).export({ format: 'der', type: 'spki' });
      into.add(createHash('sha256').update(der).digest('hex'));
    } catch {
      throw new ConfigError(`${K}.trusted_ak_keys_dir`, `${p} is not a PEM public key`);
    }
    loaded++;
  }
}

export function parseTpmConfig(vc: JsonObject | undefined, log?: VerifierContext['log']): TpmVerifierConfig {
  const raw = vc?.tpm_verifier ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(K, 'must be an object');
  const max = raw.max_trusted_ak_keys === undefined ? 100 : raw.max_trusted_ak_keys;
  if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 1) throw new ConfigError(`${K}.max_trusted_ak_keys`, 'must be a positive integer');
  let allow: Set<string> | undefined;
  if (raw.trusted_ak_keys_dir !== undefined) loadKeysDir(raw.trusted_ak_keys_dir, max, (allow ??= new Set()));
  if (raw.trusted_ak_sha256 !== undefined) {
    if (!Array.isArray(raw.trusted_ak_sha256)) throw new ConfigError(`${K}.trusted_ak_sha256`, 'must be an array of hex SHA-256 values');
    const set = (allow ??= new Set());
    raw.trusted_ak_sha256.forEach((h, i) => {
      if (typeof h !== 'string' || !/^[0-9a-fA-F]{64}$/.test(h)) throw new ConfigError(`${K}.trusted_ak_sha256[${i}]`, 'must be 64 hex digits');
      set.add(h.toLowerCase());
    });
  }
  if (raw.allow_untrusted_ak !== undefined) {
    // Earlier Keybroker versions refused unlisted AKs unless this was true. AK trust is now the policy's decision.
    if (typeof raw.allow_untrusted_ak !== 'boolean') throw new ConfigError(`${K}.allow_untrusted_ak`, 'must be true or false');
    log?.warn(`${K}.allow_untrusted_ak is obsolete and ignored: the attestation policy decides AK trust (reference value trusted_aks); use trusted_ak_sha256 / trusted_ak_keys_dir to restrict AKs in the verifier`);
  }
  if (allow && allow.size === 0) log?.warn(`${K}: the AK allow-list is configured but empty, every TPM quote will be rejected`);
  return { akAllowList: allow };
}

function fail(code: string, msg: string): never {
  throw new VerificationError(code, msg);
}

function b64(v: Json | undefined, what: string): Uint8Array {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) fail('TPM_QUOTE_MALFORMED', `${what} must be standard base64`);
  return new Uint8Array(Buffer.from(v, 'base64'));
}

/** Regularize to n bytes: zero-pad or truncate (Trustee's `resize`). */
export function resize(data: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(data.subarray(0, n));
  return out;
}

/**
 * The AK as the policy will see it. Only the canonical encoding is accepted (base64 that re-encodes to itself, a DER
 * SPKI that re-exports to itself), so that the `ak_public` claim compared against `trusted_aks` is exactly the key
 * that verified the signature, and one key has one spelling.
 */
export interface AttestationKey {
  key: KeyObject;
  /** Standard base64 of the SPKI DER: the `ak_public` claim. */
  b64: string;
  /** Hex SHA-256 of the SPKI DER (what the verifier-side allow-list holds). */
  sha256: string;
}

export function parseAkPublic(v: Json | undefined): AttestationKey {
  const der = b64(v, 'ak_public');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  } catch {
    fail('TPM_QUOTE_MALFORMED', 'ak_public is not a DER SubjectPublicKeyInfo');
  }
  const canonical = key.export({ format: 'der', type: 'spki' });
  if (!canonical.equals(der) || canonical.toString('base64') !== v) fail('TPM_QUOTE_MALFORMED', 'ak_public is not the canonical base64 of a DER SubjectPublicKeyInfo');
  return { key, b64: v as string, sha256: createHash('sha256').update(der).digest('hex') };
}

/**
 * extraData must be the expected report data resized to 32 bytes (Trustee's rule), or zero-padded to 64 bytes as
 * earlier attesters sent it. Either way it is a deterministic function of the fresh digest: no weaker binding.
 */
export function checkTpmReportData(quote: TpmsAttestQuote, expected: Uint8Array): void {
  const n = quote.extraData.length;
  if (n !== TPM_REPORT_DATA_SIZE && n !== TPM_LEGACY_REPORT_DATA_SIZE) fail('TPM_NONCE_MISMATCH', `TPM quote nonce must be ${TPM_REPORT_DATA_SIZE} or ${TPM_LEGACY_REPORT_DATA_SIZE} bytes, got ${n}`);
  checkNonce(quote, resize(expected, n));
}

export function pcrClaims(pcrs: Uint8Array[], covered: number[]): JsonObject {
  const out: JsonObject = {};
  for (const i of covered) out[`pcr${String(i).padStart(2, '0')}`] = Buffer.from(pcrs[i]).toString('hex');
  return out;
}

export class TpmVerifier implements Verifier {
  private readonly cfg: TpmVerifierConfig;

  constructor(ctx: VerifierContext) {
    this.cfg = parseTpmConfig(ctx.config, ctx.log);
  }

  async verify(input: VerifyInput): Promise<ClaimSet[]> {
    const ev = input.evidence;
    if (typeof ev !== 'object' || ev === null || Array.isArray(ev)) fail('TPM_QUOTE_MALFORMED', 'TPM evidence must be a JSON object');
    const q = ev.tpm_quote;
    if (typeof q !== 'object' || q === null || Array.isArray(q)) fail('TPM_QUOTE_MALFORMED', 'tpm_quote must be an object');
    const ak = parseAkPublic(ev.ak_public);
    if (this.cfg.akAllowList && !this.cfg.akAllowList.has(ak.sha256)) fail('TPM_AK_UNTRUSTED', 'the AK is not in the verifier AK allow-list');
    const message = b64(q.message, 'tpm_quote.message');
    const quote = parseTpmsAttestQuote(message);
    verifyQuoteSignature(message, parseTpmtSignature(b64(q.signature, 'tpm_quote.signature')), ak.key);
    const pcrs = parsePcrHex(q.pcrs, 'tpm_quote.pcrs');
    const covered = verifyPcrDigest(quote, pcrs);
    if (input.expectedReportData) checkTpmReportData(quote, input.expectedReportData);
    if (input.expectedInitDataHash) checkInitDataPcr(pcrs, covered, input.expectedInitDataHash);
    const claims: JsonObject = {
      ak_public: ak.b64,
      ak_sha256: ak.sha256,
      report_data: Buffer.from(quote.extraData).toString('hex'),
      ...(covered.includes(INITDATA_PCR) ? { init_data: Buffer.from(pcrs[INITDATA_PCR]).toString('hex') } : {}),
      ...pcrClaims(pcrs, covered),
    };
    return [{ claims, class: 'cpu' }];
  }
}
