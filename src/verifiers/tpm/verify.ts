/**
 * Quote verification shared by `tpm`, `az-snp-vtpm` and `az-tdx-vtpm`: the AK signature over TPMS_ATTEST, the PCR
 * digest over the PCR values the quote selects, the nonce, and Trustee's PCR8 init-data rule.
 */
import { createHash, verify as cryptoVerify, constants, type KeyObject } from 'node:crypto';
import { VerificationError } from '../types.js';
import { TPM_ALG, type TpmsAttestQuote, type TpmtSignature } from './quote.js';
import { bytesEqual } from '../../util/bytes.js';

function fail(code: string, msg: string): never {
  throw new VerificationError(code, msg);
}

const HASHES: Record<number, string> = { [TPM_ALG.sha1]: 'sha1', [TPM_ALG.sha256]: 'sha256', [TPM_ALG.sha384]: 'sha384', [TPM_ALG.sha512]: 'sha512' };
const eq = bytesEqual;

/** The AK's signature over the raw TPMS_ATTEST bytes. SHA-1 is refused. */
export function verifyQuoteSignature(message: Uint8Array, sig: TpmtSignature, ak: KeyObject): void {
  const hash = HASHES[sig.hashAlg];
  if (!hash || hash === 'sha1') fail('TPM_SIGNATURE_INVALID', `unsupported quote signature hash 0x${sig.hashAlg.toString(16)}`);
  let ok = false;
  try {
    if (sig.alg === 'rsassa') {
      ok = ak.asymmetricKeyType === 'rsa' && cryptoVerify(hash, message, { key: ak, padding: constants.RSA_PKCS1_PADDING }, sig.signature);
    } else if (sig.alg === 'rsapss') {
      ok = ak.asymmetricKeyType === 'rsa' && cryptoVerify(hash, message, { key: ak, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, sig.signature);
    } else if (sig.alg === 'ecdsa') {
      const n = ak.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? 32 : ak.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 48 : 0;
      if (ak.asymmetricKeyType === 'ec' && n && sig.r.length <= n && sig.s.length <= n) {
        const pad = (x: Uint8Array) => Buffer.concat([Buffer.alloc(n - x.length), x]);
        ok = cryptoVerify(hash, message, { key: ak, dsaEncoding: 'ieee-p1363' }, Buffer.concat([pad(sig.r), pad(sig.s)]));
      }
    }
  } catch {
    ok = false;
  }
  if (!ok) fail('TPM_SIGNATURE_INVALID', 'TPM quote signature does not verify with the AK');
}

/**
 * The quote's pcrDigest = H(selected PCR values, in selection order). Only one SHA-256 bank is supported (what the
 * attesters produce). Returns the indices the quote covers: only those are attested.
 */
export function verifyPcrDigest(quote: TpmsAttestQuote, pcrs: Uint8Array[]): number[] {
  if (quote.pcrSelect.length !== 1 || quote.pcrSelect[0].hashAlg !== TPM_ALG.sha256) fail('TPM_PCR_MISMATCH', 'quote must select exactly one SHA-256 PCR bank');
  const sel = quote.pcrSelect[0].pcrs;
  if (sel.length === 0) fail('TPM_PCR_MISMATCH', 'quote selects no PCRs');
  const h = createHash('sha256');
  for (const i of sel) {
    const v = pcrs[i];
    if (!v) fail('TPM_PCR_MISMATCH', `quote selects PCR ${i} but the evidence does not carry it`);
    h.update(v);
  }
  if (!eq(new Uint8Array(h.digest()), quote.pcrDigest)) fail('TPM_PCR_MISMATCH', 'PCR values do not match the quote digest');
  return sel;
}

/** Trustee's init-data rule: PCR8 = SHA-256(32 zero bytes ‖ digest), with a 32-byte digest. */
export function expectedInitDataPcr(digest: Uint8Array): Uint8Array {
  if (digest.length !== 32) fail('TPM_INIT_DATA_MISMATCH', `init-data digest must be 32 bytes (sha256) for a TPM, got ${digest.length}`);
  return new Uint8Array(createHash('sha256').update(new Uint8Array(32)).update(digest).digest());
}

export const INITDATA_PCR = 8;

export function checkInitDataPcr(pcrs: Uint8Array[], covered: number[], digest: Uint8Array): void {
  if (!covered.includes(INITDATA_PCR)) fail('TPM_INIT_DATA_MISMATCH', 'quote does not cover PCR8');
  if (!eq(pcrs[INITDATA_PCR], expectedInitDataPcr(digest))) fail('TPM_INIT_DATA_MISMATCH', "PCR8 doesn't match the expected init-data digest");
}

export function checkNonce(quote: TpmsAttestQuote, expected: Uint8Array): void {
  if (!eq(quote.extraData, expected)) fail('TPM_NONCE_MISMATCH', "TPM quote nonce doesn't match the expected report data");
}

export function parsePcrHex(list: unknown, what: string): Uint8Array[] {
  if (!Array.isArray(list) || list.length === 0 || list.length > 24) fail('TPM_QUOTE_MALFORMED', `${what} must be an array of 1..24 PCR values`);
  return list.map((p, i) => {
    if (typeof p !== 'string' || !/^[0-9a-fA-F]{64}$/.test(p)) fail('TPM_QUOTE_MALFORMED', `${what}[${i}] must be 64 hex digits`);
    return new Uint8Array(Buffer.from(p, 'hex'));
  });
}
