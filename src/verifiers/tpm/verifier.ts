/**
 * The plain `tpm` verifier: `{ak_public: b64 SPKI, tpm_quote: {signature: b64 TPMT_SIGNATURE, message: b64
 * TPMS_ATTEST, pcrs: [hex]}}`. The AK has no certificate, so it must be one the operator trusts (default deny).
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../util/config-error.js';
import { VerificationError, type ClaimSet, type Json, type JsonObject, type Verifier, type VerifierContext, type VerifyInput } from '../types.js';
import { parseTpmsAttestQuote, parseTpmtSignature } from './quote.js';
import { checkInitDataPcr, checkNonce, INITDATA_PCR, parsePcrHex, verifyPcrDigest, verifyQuoteSignature } from './verify.js';

const K = 'attestation_service.verifier_config.tpm_verifier';
/** Trustee's attester pads report data to 64 bytes. */
export const TPM_REPORT_DATA_SIZE = 64;

export interface TpmVerifierConfig {
  trustedAkSha256: Set<string>;
  allowUntrustedAk: boolean;
}

export function parseTpmConfig(vc: JsonObject | undefined): TpmVerifierConfig {
  const raw = vc?.tpm_verifier ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(K, 'must be an object');
  const trusted = new Set<string>();
  const max = raw.max_trusted_ak_keys === undefined ? 100 : raw.max_trusted_ak_keys;
  if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 1) throw new ConfigError(`${K}.max_trusted_ak_keys`, 'must be a positive integer');
  if (raw.trusted_ak_keys_dir !== undefined) {
    const dir = raw.trusted_ak_keys_dir;
    if (typeof dir !== 'string' || dir === '') throw new ConfigError(`${K}.trusted_ak_keys_dir`, 'must be a directory path');
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith('.pub')).sort().slice(0, max);
    } catch {
      throw new ConfigError(`${K}.trusted_ak_keys_dir`, `cannot read directory ${dir}`);
    }
    for (const n of names) {
      const p = join(dir, n);
      if (!statSync(p).isFile()) continue;
      try {
        const der = createPublicKey(readFileSync(p, 'utf8')).export({ format: 'der', type: 'spki' });
        trusted.add(createHash('sha256').update(der).digest('hex'));
      } catch {
        throw new ConfigError(`${K}.trusted_ak_keys_dir`, `${p} is not a PEM public key`);
      }
    }
  }
  if (raw.trusted_ak_sha256 !== undefined) {
    if (!Array.isArray(raw.trusted_ak_sha256)) throw new ConfigError(`${K}.trusted_ak_sha256`, 'must be an array of hex SHA-256 values');
    raw.trusted_ak_sha256.forEach((h, i) => {
      if (typeof h !== 'string' || !/^[0-9a-fA-F]{64}$/.test(h)) throw new ConfigError(`${K}.trusted_ak_sha256[${i}]`, 'must be 64 hex digits');
      trusted.add(h.toLowerCase());
    });
  }
  const allow = raw.allow_untrusted_ak ?? false;
  if (typeof allow !== 'boolean') throw new ConfigError(`${K}.allow_untrusted_ak`, 'must be true or false');
  return { trustedAkSha256: trusted, allowUntrustedAk: allow };
}

function fail(code: string, msg: string): never {
  throw new VerificationError(code, msg);
}

function b64(v: Json | undefined, what: string): Uint8Array {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) fail('TPM_QUOTE_MALFORMED', `${what} must be standard base64`);
  return new Uint8Array(Buffer.from(v, 'base64'));
}

/** Regularize to n bytes: zero-pad or truncate (Trustee's `resize`). */
export function resize(data: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(data.subarray(0, n));
  return out;
}

export function pcrClaims(pcrs: Uint8Array[], covered: number[]): JsonObject {
  const out: JsonObject = {};
  for (const i of covered) out[`pcr${String(i).padStart(2, '0')}`] = Buffer.from(pcrs[i]).toString('hex');
  return out;
}

export class TpmVerifier implements Verifier {
  private readonly cfg: TpmVerifierConfig;

  constructor(ctx: VerifierContext) {
    this.cfg = parseTpmConfig(ctx.config);
    if (this.cfg.allowUntrustedAk) ctx.log?.warn('tpm_verifier.allow_untrusted_ak: any AK is accepted; the quote proves nothing unless policy pins the AK (insecure)');
  }

  async verify(input: VerifyInput): Promise<ClaimSet[]> {
    const ev = input.evidence;
    if (typeof ev !== 'object' || ev === null || Array.isArray(ev)) fail('TPM_QUOTE_MALFORMED', 'TPM evidence must be a JSON object');
    const q = ev.tpm_quote;
    if (typeof q !== 'object' || q === null || Array.isArray(q)) fail('TPM_QUOTE_MALFORMED', 'tpm_quote must be an object');
    const akDer = b64(ev.ak_public, 'ak_public');
    let ak: KeyObject;
    try {
      ak = createPublicKey({ key: Buffer.from(akDer), format: 'der', type: 'spki' });
    } catch {
      fail('TPM_QUOTE_MALFORMED', 'ak_public is not a DER SubjectPublicKeyInfo');
    }
    const akSha = createHash('sha256').update(akDer).digest('hex');
    if (!this.cfg.trustedAkSha256.has(akSha) && !this.cfg.allowUntrustedAk) fail('TPM_AK_UNTRUSTED', 'the AK is not one of the trusted AK keys');
    const message = b64(q.message, 'tpm_quote.message');
    const quote = parseTpmsAttestQuote(message);
    verifyQuoteSignature(message, parseTpmtSignature(b64(q.signature, 'tpm_quote.signature')), ak);
    const pcrs = parsePcrHex(q.pcrs, 'tpm_quote.pcrs');
    const covered = verifyPcrDigest(quote, pcrs);
    if (input.expectedReportData) checkNonce(quote, resize(input.expectedReportData, TPM_REPORT_DATA_SIZE));
    if (input.expectedInitDataHash) checkInitDataPcr(pcrs, covered, input.expectedInitDataHash);
    const claims: JsonObject = {
      ak_public: ev.ak_public as string,
      ak_sha256: akSha,
      report_data: Buffer.from(quote.extraData).toString('hex'),
      ...(covered.includes(INITDATA_PCR) ? { init_data: Buffer.from(pcrs[INITDATA_PCR]).toString('hex') } : {}),
      ...pcrClaims(pcrs, covered),
    };
    return [{ claims, class: 'cpu' }];
  }
}
