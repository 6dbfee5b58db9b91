/**
 * Test-only forge for Azure vTPM evidence with the tests' own keys: an RSA AK, the HCL report around it, and a
 * TPM2_Quote (TPMS_ATTEST) it signs. Layouts are written from the specs (TPM 2.0 Library Part 2 §10.12 TPMS_ATTEST;
 * Azure HCL report: 32-byte "HCLA" header, 1184-byte hardware area, 20-byte IGVM request header, variable data),
 * independently of src/.
 */
import { createHash, generateKeyPairSync, sign, constants, type KeyObject } from 'node:crypto';

export interface RsaAk {
  priv: KeyObject;
  pub: KeyObject;
  jwk: { kty: string; n: string; e: string };
}

export function rsaAk(): RsaAk {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' }) as { kty: string; n: string; e: string };
  return { priv: privateKey, pub: publicKey, jwk };
}

/** The HCL variable data: a JSON document with the AK as JWK `HCLAkPub`, and optionally `user-data` (hex). */
export function varData(ak: RsaAk, userData?: string, extra: Record<string, unknown> = {}): Buffer {
  const doc: Record<string, unknown> = {
    keys: [{ kid: 'HCLAkPub', key_ops: ['sign'], kty: 'RSA', e: ak.jwk.e, n: ak.jwk.n }],
    'vm-configuration': { 'secure-boot': true, 'tpm-enabled': true, 'vmUniqueId': 'test-vm' },
    ...extra,
  };
  if (userData !== undefined) doc['user-data'] = userData;
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

/** 1024-byte TDREPORT: REPORTMACSTRUCT (report_type 0x81 at 0, report_data at 128) + TEE_TCB_INFO + TDINFO. */
function tdReport(reportData: Buffer): Buffer {
  const b = Buffer.alloc(1024);
  b[0] = 0x81;
  reportData.copy(b, 128);
  return b;
}

export function hclReport(p: { varData: Buffer; reportType?: number; hashType?: number; tdReportData: Buffer }): Buffer {
  const header = Buffer.alloc(32);
  header.write('HCLA', 0, 'latin1');
  header.writeUInt32LE(2, 4); // HCL report version
  header.writeUInt32LE(1184 + 20 + p.varData.length, 8);
  header.writeUInt32LE(2, 12);
  const hw = Buffer.alloc(1184);
  tdReport(p.tdReportData).copy(hw, 0);
  const igvm = Buffer.alloc(20);
  igvm.writeUInt32LE(20 + p.varData.length, 0); // data size
  igvm.writeUInt32LE(1, 4); // version
  igvm.writeUInt32LE(p.reportType ?? 4, 8); // 4 = TDX
  igvm.writeUInt32LE(p.hashType ?? 1, 12); // 1 = SHA-256
  igvm.writeUInt32LE(p.varData.length, 16);
  return Buffer.concat([header, hw, igvm, p.varData]);
}

const tpm2b = (b: Buffer) => {
  const l = Buffer.alloc(2);
  l.writeUInt16BE(b.length);
  return Buffer.concat([l, b]);
};

/** TPMS_ATTEST for TPM2_Quote over the SHA-256 bank, selecting `selected` PCRs. */
export function tpmsAttest(nonce: Buffer, pcrs: Buffer[], selected: number[]): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt32BE(0xff544347, 0); // TPM_GENERATED_VALUE
  head.writeUInt16BE(0x8018, 4); // TPM_ST_ATTEST_QUOTE
  const signer = Buffer.concat([Buffer.from([0x00, 0x0b]), createHash('sha256').update('test AK name').digest()]);
  const clock = Buffer.alloc(17 + 8);
  clock.writeBigUInt64BE(123456789n, 0); // clock
  clock.writeUInt32BE(1, 8); // resetCount
  clock.writeUInt32BE(0, 12); // restartCount
  clock[16] = 1; // safe
  clock.writeBigUInt64BE(0x2020031200120003n, 17); // firmwareVersion
  const bitmap = Buffer.alloc(3);
  for (const i of selected) bitmap[i >> 3] |= 1 << (i & 7);
  const sel = Buffer.concat([Buffer.from([0, 0, 0, 1, 0x00, 0x0b, 3]), bitmap]);
  const h = createHash('sha256');
  for (const i of [...selected].sort((a, b) => a - b)) h.update(pcrs[i]);
  return Buffer.concat([head, tpm2b(signer), tpm2b(nonce), clock, sel, tpm2b(h.digest())]);
}

export function signQuote(ak: RsaAk, message: Buffer): Buffer {
  return sign('sha256', message, { key: ak.priv, padding: constants.RSA_PKCS1_PADDING });
}

/** 24 distinct PCR values; PCR8 as given (the init-data PCR). */
export function pcrBank(pcr8: Buffer = Buffer.alloc(32)): Buffer[] {
  return Array.from({ length: 24 }, (_, i) => (i === 8 ? pcr8 : createHash('sha256').update(`pcr${i}`).digest()));
}
