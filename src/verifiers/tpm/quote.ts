/**
 * TPM 2.0 structures a quote is made of (TPM 2.0 Library Part 2): TPMS_ATTEST with TPMS_QUOTE_INFO, and
 * TPMT_SIGNATURE. Pure byte parsing, big-endian, every length checked.
 */
import { VerificationError } from '../types.js';

export const TPM_GENERATED_VALUE = 0xff544347;
export const TPM_ST_ATTEST_QUOTE = 0x8018;
export const TPM_ALG = { rsassa: 0x0014, rsapss: 0x0016, ecdsa: 0x0018, sha1: 0x0004, sha256: 0x000b, sha384: 0x000c, sha512: 0x000d } as const;

export interface PcrSelection {
  hashAlg: number;
  /** Selected PCR indices, ascending. */
  pcrs: number[];
}

export interface TpmsAttestQuote {
  qualifiedSigner: Uint8Array;
  /** The nonce the verifier asked for (report data). */
  extraData: Uint8Array;
  clock: bigint;
  resetCount: number;
  restartCount: number;
  safe: boolean;
  firmwareVersion: bigint;
  pcrSelect: PcrSelection[];
  pcrDigest: Uint8Array;
}

export type TpmtSignature =
  | { alg: 'rsassa' | 'rsapss'; hashAlg: number; signature: Uint8Array }
  | { alg: 'ecdsa'; hashAlg: number; r: Uint8Array; s: Uint8Array };

function fail(msg: string): never {
  throw new VerificationError('TPM_QUOTE_MALFORMED', msg);
}

class Reader {
  private off = 0;
  constructor(private readonly b: Uint8Array, private readonly what: string) {}
  private need(n: number) {
    if (this.off + n > this.b.length) fail(`${this.what}: truncated at byte ${this.off}`);
  }
  u8(): number { this.need(1); return this.b[this.off++]; }
  u16(): number { this.need(2); const v = (this.b[this.off] << 8) | this.b[this.off + 1]; this.off += 2; return v; }
  u32(): number { this.need(4); const v = new DataView(this.b.buffer, this.b.byteOffset + this.off, 4).getUint32(0); this.off += 4; return v; }
  u64(): bigint { this.need(8); const v = new DataView(this.b.buffer, this.b.byteOffset + this.off, 8).getBigUint64(0); this.off += 8; return v; }
  bytes(n: number): Uint8Array { this.need(n); const v = this.b.slice(this.off, this.off + n); this.off += n; return v; }
  tpm2b(): Uint8Array { return this.bytes(this.u16()); }
  end() { if (this.off !== this.b.length) fail(`${this.what}: ${this.b.length - this.off} trailing bytes`); }
}

export function parseTpmsAttestQuote(msg: Uint8Array): TpmsAttestQuote {
  const r = new Reader(msg, 'TPMS_ATTEST');
  if (r.u32() !== TPM_GENERATED_VALUE) fail('TPMS_ATTEST: magic is not TPM_GENERATED_VALUE');
  if (r.u16() !== TPM_ST_ATTEST_QUOTE) fail('TPMS_ATTEST: type is not TPM_ST_ATTEST_QUOTE');
  const qualifiedSigner = r.tpm2b();
  const extraData = r.tpm2b();
  const clock = r.u64();
  const resetCount = r.u32();
  const restartCount = r.u32();
  const safe = r.u8() === 1;
  const firmwareVersion = r.u64();
  const count = r.u32();
  if (count > 16) fail('TPML_PCR_SELECTION: too many banks');
  const pcrSelect: PcrSelection[] = [];
  for (let i = 0; i < count; i++) {
    const hashAlg = r.u16();
    const size = r.u8();
    if (size > 8) fail('TPMS_PCR_SELECTION: sizeofSelect too large');
    const bits = r.bytes(size);
    const pcrs: number[] = [];
    bits.forEach((byte, j) => { for (let k = 0; k < 8; k++) if (byte & (1 << k)) pcrs.push(j * 8 + k); });
    pcrSelect.push({ hashAlg, pcrs });
  }
  const pcrDigest = r.tpm2b();
  r.end();
  return { qualifiedSigner, extraData, clock, resetCount, restartCount, safe, firmwareVersion, pcrSelect, pcrDigest };
}

export function parseTpmtSignature(b: Uint8Array): TpmtSignature {
  const r = new Reader(b, 'TPMT_SIGNATURE');
  const alg = r.u16();
  const hashAlg = r.u16();
  let sig: TpmtSignature;
  if (alg === TPM_ALG.rsassa || alg === TPM_ALG.rsapss) sig = { alg: alg === TPM_ALG.rsassa ? 'rsassa' : 'rsapss', hashAlg, signature: r.tpm2b() };
  else if (alg === TPM_ALG.ecdsa) sig = { alg: 'ecdsa', hashAlg, r: r.tpm2b(), s: r.tpm2b() };
  else fail(`TPMT_SIGNATURE: unsupported sigAlg 0x${alg.toString(16)}`);
  r.end();
  return sig;
}
