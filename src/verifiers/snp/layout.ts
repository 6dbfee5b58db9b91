/**
 * SEV-SNP ATTESTATION_REPORT byte layout (AMD SEV-SNP ABI spec, "ATTESTATION_REPORT Structure"), versions 2–5.
 * Pure functions: 1184 bytes ⇄ typed struct, and Trustee's sev-crate JSON form → the same bytes. Nothing here knows
 * about certificates, signatures or policy.
 */
import { VerificationError } from '../types.js';

export const REPORT_SIZE = 0x4a0; // 1184
/** The signature covers bytes 0x000–0x29F. */
export const SIGNED_LENGTH = 0x2a0;
export const MIN_REPORT_VERSION = 2;
export const MAX_REPORT_VERSION = 5;

const OFF = {
  version: 0x00, guestSvn: 0x04, policy: 0x08, familyId: 0x10, imageId: 0x20, vmpl: 0x30, sigAlgo: 0x34,
  currentTcb: 0x38, platformInfo: 0x40, keyInfo: 0x48, reportData: 0x50, measurement: 0x90, hostData: 0xc0,
  idKeyDigest: 0xe0, authorKeyDigest: 0x110, reportId: 0x140, reportIdMa: 0x160, reportedTcb: 0x180,
  cpuidFam: 0x188, cpuidMod: 0x189, cpuidStep: 0x18a, chipId: 0x1a0, committedTcb: 0x1e0, currentBuild: 0x1e8,
  currentMinor: 0x1e9, currentMajor: 0x1ea, committedBuild: 0x1ec, committedMinor: 0x1ed, committedMajor: 0x1ee,
  launchTcb: 0x1f0, launchMitVector: 0x1f8, currentMitVector: 0x200, sigR: 0x2a0, sigS: 0x2e8,
} as const;

export type Generation = 'Milan' | 'Genoa' | 'Turin';
export const GENERATIONS: readonly Generation[] = ['Milan', 'Genoa', 'Turin'];

/** A decoded TCB_VERSION. `fmc` exists only on Turin and later. */
export interface TcbVersion {
  fmc?: number;
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
}

export interface FirmwareVersion { major: number; minor: number; build: number }
export interface Cpuid { family: number; model: number; stepping: number }

/** The report as laid out in memory. TCB fields stay raw (8 bytes) because their layout depends on the generation. */
export interface AttestationReport {
  version: number;
  guestSvn: number;
  policy: bigint;
  familyId: Uint8Array;
  imageId: Uint8Array;
  vmpl: number;
  sigAlgo: number;
  currentTcb: Uint8Array;
  platformInfo: bigint;
  keyInfo: number;
  reportData: Uint8Array;
  measurement: Uint8Array;
  hostData: Uint8Array;
  idKeyDigest: Uint8Array;
  authorKeyDigest: Uint8Array;
  reportId: Uint8Array;
  reportIdMa: Uint8Array;
  reportedTcb: Uint8Array;
  /** Present from version 3. */
  cpuid: Cpuid | null;
  chipId: Uint8Array;
  committedTcb: Uint8Array;
  currentVersion: FirmwareVersion;
  committedVersion: FirmwareVersion;
  launchTcb: Uint8Array;
  /** Present from version 5. */
  launchMitVector: bigint | null;
  currentMitVector: bigint | null;
  /** Little-endian, 72 bytes each (48 significant + 24 zero). */
  signatureR: Uint8Array;
  signatureS: Uint8Array;
}

/** A parsed report plus the exact bytes it came from (the signature is checked over `raw[0..0x2A0]`). */
export interface ParsedReport extends AttestationReport {
  raw: Uint8Array;
}

function fail(msg: string): never {
  throw new VerificationError('SNP_REPORT_MALFORMED', msg);
}

export function parseReport(bytes: Uint8Array): ParsedReport {
  if (bytes.length !== REPORT_SIZE) fail(`SNP report must be ${REPORT_SIZE} bytes, got ${bytes.length}`);
  const raw = Uint8Array.from(bytes);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const u32 = (o: number) => dv.getUint32(o, true);
  const u64 = (o: number) => dv.getBigUint64(o, true);
  const slice = (o: number, n: number) => raw.slice(o, o + n);
  const version = u32(OFF.version);
  if (version < MIN_REPORT_VERSION || version > MAX_REPORT_VERSION) {
    fail(`unsupported SNP report version ${version} (supported ${MIN_REPORT_VERSION}..${MAX_REPORT_VERSION})`);
  }
  return {
    raw,
    version,
    guestSvn: u32(OFF.guestSvn),
    policy: u64(OFF.policy),
    familyId: slice(OFF.familyId, 16),
    imageId: slice(OFF.imageId, 16),
    vmpl: u32(OFF.vmpl),
    sigAlgo: u32(OFF.sigAlgo),
    currentTcb: slice(OFF.currentTcb, 8),
    platformInfo: u64(OFF.platformInfo),
    keyInfo: u32(OFF.keyInfo),
    reportData: slice(OFF.reportData, 64),
    measurement: slice(OFF.measurement, 48),
    hostData: slice(OFF.hostData, 32),
    idKeyDigest: slice(OFF.idKeyDigest, 48),
    authorKeyDigest: slice(OFF.authorKeyDigest, 48),
    reportId: slice(OFF.reportId, 32),
    reportIdMa: slice(OFF.reportIdMa, 32),
    reportedTcb: slice(OFF.reportedTcb, 8),
    cpuid: version >= 3 ? { family: raw[OFF.cpuidFam], model: raw[OFF.cpuidMod], stepping: raw[OFF.cpuidStep] } : null,
    chipId: slice(OFF.chipId, 64),
    committedTcb: slice(OFF.committedTcb, 8),
    currentVersion: { major: raw[OFF.currentMajor], minor: raw[OFF.currentMinor], build: raw[OFF.currentBuild] },
    committedVersion: { major: raw[OFF.committedMajor], minor: raw[OFF.committedMinor], build: raw[OFF.committedBuild] },
    launchTcb: slice(OFF.launchTcb, 8),
    launchMitVector: version >= 5 ? u64(OFF.launchMitVector) : null,
    currentMitVector: version >= 5 ? u64(OFF.currentMitVector) : null,
    signatureR: slice(OFF.sigR, 72),
    signatureS: slice(OFF.sigS, 72),
  };
}

/** Serializes a report; reserved bytes are zero. `parseReport(serializeReport(r))` gives back `r`. */
export function serializeReport(r: AttestationReport): Uint8Array {
  const out = new Uint8Array(REPORT_SIZE);
  const dv = new DataView(out.buffer);
  const put = (o: number, b: Uint8Array, n: number) => {
    if (b.length !== n) throw new RangeError(`field at 0x${o.toString(16)} must be ${n} bytes`);
    out.set(b, o);
  };
  dv.setUint32(OFF.version, r.version, true);
  dv.setUint32(OFF.guestSvn, r.guestSvn, true);
  dv.setBigUint64(OFF.policy, r.policy, true);
  put(OFF.familyId, r.familyId, 16);
  put(OFF.imageId, r.imageId, 16);
  dv.setUint32(OFF.vmpl, r.vmpl, true);
  dv.setUint32(OFF.sigAlgo, r.sigAlgo, true);
  put(OFF.currentTcb, r.currentTcb, 8);
  dv.setBigUint64(OFF.platformInfo, r.platformInfo, true);
  dv.setUint32(OFF.keyInfo, r.keyInfo, true);
  put(OFF.reportData, r.reportData, 64);
  put(OFF.measurement, r.measurement, 48);
  put(OFF.hostData, r.hostData, 32);
  put(OFF.idKeyDigest, r.idKeyDigest, 48);
  put(OFF.authorKeyDigest, r.authorKeyDigest, 48);
  put(OFF.reportId, r.reportId, 32);
  put(OFF.reportIdMa, r.reportIdMa, 32);
  put(OFF.reportedTcb, r.reportedTcb, 8);
  if (r.version >= 3 && r.cpuid) {
    out[OFF.cpuidFam] = r.cpuid.family;
    out[OFF.cpuidMod] = r.cpuid.model;
    out[OFF.cpuidStep] = r.cpuid.stepping;
  }
  put(OFF.chipId, r.chipId, 64);
  put(OFF.committedTcb, r.committedTcb, 8);
  out[OFF.currentBuild] = r.currentVersion.build;
  out[OFF.currentMinor] = r.currentVersion.minor;
  out[OFF.currentMajor] = r.currentVersion.major;
  out[OFF.committedBuild] = r.committedVersion.build;
  out[OFF.committedMinor] = r.committedVersion.minor;
  out[OFF.committedMajor] = r.committedVersion.major;
  put(OFF.launchTcb, r.launchTcb, 8);
  if (r.version >= 5) {
    dv.setBigUint64(OFF.launchMitVector, r.launchMitVector ?? 0n, true);
    dv.setBigUint64(OFF.currentMitVector, r.currentMitVector ?? 0n, true);
  }
  put(OFF.sigR, r.signatureR, 72);
  put(OFF.sigS, r.signatureS, 72);
  return out;
}

// ---- TCB_VERSION ------------------------------------------------------------------------------------------------

/** Milan/Genoa: BOOT_LOADER[0] TEE[1] reserved[2..5] SNP[6] MICROCODE[7]. Turin: FMC[0] BOOT_LOADER[1] TEE[2] SNP[3] reserved[4..6] MICROCODE[7]. */
export function decodeTcb(raw: Uint8Array, gen: Generation): TcbVersion {
  if (raw.length !== 8) throw new RangeError('TCB_VERSION is 8 bytes');
  if (gen === 'Turin') return { fmc: raw[0], bootloader: raw[1], tee: raw[2], snp: raw[3], microcode: raw[7] };
  return { bootloader: raw[0], tee: raw[1], snp: raw[6], microcode: raw[7] };
}

export function encodeTcb(t: TcbVersion, gen: Generation): Uint8Array {
  if (gen === 'Turin') return Uint8Array.from([t.fmc ?? 0, t.bootloader, t.tee, t.snp, 0, 0, 0, t.microcode]);
  if (t.fmc !== undefined) throw new RangeError(`${gen} TCB has no FMC component`);
  return Uint8Array.from([t.bootloader, t.tee, 0, 0, 0, 0, t.snp, t.microcode]);
}

export const TCB_COMPONENTS = ['bootloader', 'tee', 'snp', 'microcode', 'fmc'] as const;
export type TcbComponent = (typeof TCB_COMPONENTS)[number];

// ---- Bit fields ---------------------------------------------------------------------------------------------------

export interface GuestPolicy {
  abiMinor: number;
  abiMajor: number;
  smtAllowed: boolean;
  migrateMa: boolean;
  debugAllowed: boolean;
  singleSocket: boolean;
  cxlAllowed: boolean;
  memAes256Xts: boolean;
  raplDisabled: boolean;
  ciphertextHiding: boolean;
  pageSwapDisabled: boolean;
}

const bit = (v: bigint, n: number) => ((v >> BigInt(n)) & 1n) === 1n;

export function decodePolicy(p: bigint): GuestPolicy {
  return {
    abiMinor: Number(p & 0xffn),
    abiMajor: Number((p >> 8n) & 0xffn),
    smtAllowed: bit(p, 16),
    migrateMa: bit(p, 18),
    debugAllowed: bit(p, 19),
    singleSocket: bit(p, 20),
    cxlAllowed: bit(p, 21),
    memAes256Xts: bit(p, 22),
    raplDisabled: bit(p, 23),
    ciphertextHiding: bit(p, 24),
    pageSwapDisabled: bit(p, 25),
  };
}

export interface PlatformInfo {
  smtEnabled: boolean;
  tsmeEnabled: boolean;
  eccEnabled: boolean;
  raplDisabled: boolean;
  ciphertextHidingEnabled: boolean;
  aliasCheckComplete: boolean;
}

export function decodePlatformInfo(p: bigint): PlatformInfo {
  return {
    smtEnabled: bit(p, 0),
    tsmeEnabled: bit(p, 1),
    eccEnabled: bit(p, 2),
    raplDisabled: bit(p, 3),
    ciphertextHidingEnabled: bit(p, 4),
    aliasCheckComplete: bit(p, 5),
  };
}

export type SigningKeyKind = 'vcek' | 'vlek' | 'none';

export interface KeyInfo {
  authorKeyEn: boolean;
  maskChipKey: boolean;
  signingKey: SigningKeyKind;
}

/** Offset 0x48: AUTHOR_KEY_EN bit 0, MASK_CHIP_KEY bit 1, SIGNING_KEY bits 4:2 (0 VCEK, 1 VLEK, 7 none). */
export function decodeKeyInfo(k: number): KeyInfo {
  const sk = (k >>> 2) & 7;
  if (sk !== 0 && sk !== 1 && sk !== 7) fail(`reserved SIGNING_KEY value ${sk}`);
  return { authorKeyEn: (k & 1) === 1, maskChipKey: (k & 2) === 2, signingKey: sk === 0 ? 'vcek' : sk === 1 ? 'vlek' : 'none' };
}

/**
 * Generation from CPUID (report v3+). Family 0x19: Milan models 0x00–0x0F, Genoa 0x10–0x1F and 0xA0–0xAF;
 * family 0x1A: Turin models 0x00–0x11. Anything else is unknown and rejected.
 */
export function generationFromCpuid(c: Cpuid): Generation {
  if (c.family === 0x19) {
    if (c.model <= 0x0f) return 'Milan';
    if ((c.model >= 0x10 && c.model <= 0x1f) || (c.model >= 0xa0 && c.model <= 0xaf)) return 'Genoa';
  } else if (c.family === 0x1a) {
    if (c.model <= 0x11) return 'Turin';
  }
  throw new VerificationError(
    'SNP_UNKNOWN_GENERATION',
    `unknown SNP processor (cpuid family 0x${c.family.toString(16)} model 0x${c.model.toString(16)})`,
  );
}

// ---- Trustee's sev-crate JSON form --------------------------------------------------------------------------------

type JsonRecord = Record<string, unknown>;

function jField(o: JsonRecord, k: string): unknown {
  if (!(k in o)) fail(`attestation_report.${k} is missing`);
  return o[k];
}

function jInt(v: unknown, name: string, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) fail(`attestation_report.${name} must be an integer 0..${max}`);
  return v;
}

function jU64(v: unknown, name: string): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  // JSON numbers above 2^53 lose precision in JSON.parse; refuse rather than silently verify different bytes.
  fail(`attestation_report.${name} must be a non-negative integer below 2^53`);
}

function jBytes(v: unknown, name: string, n: number): Uint8Array {
  if (!Array.isArray(v) || v.length !== n) fail(`attestation_report.${name} must be an array of ${n} bytes`);
  const out = new Uint8Array(n);
  v.forEach((b, i) => { out[i] = jInt(b, `${name}[${i}]`, 255); });
  return out;
}

function jTcb(v: unknown, name: string, gen: Generation | null): Uint8Array {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`attestation_report.${name} must be an object`);
  const o = v as JsonRecord;
  const fmcRaw = o.fmc;
  const fmc = fmcRaw === null || fmcRaw === undefined ? undefined : jInt(fmcRaw, `${name}.fmc`, 255);
  const t: TcbVersion = {
    bootloader: jInt(o.bootloader, `${name}.bootloader`, 255),
    tee: jInt(o.tee, `${name}.tee`, 255),
    snp: jInt(o.snp, `${name}.snp`, 255),
    microcode: jInt(o.microcode, `${name}.microcode`, 255),
  };
  const g: Generation = gen ?? 'Milan';
  if (g === 'Turin') {
    if (fmc === undefined) fail(`attestation_report.${name}.fmc is required on Turin`);
    t.fmc = fmc;
  } else if (fmc !== undefined) {
    fail(`attestation_report.${name}.fmc is only valid on Turin`);
  }
  return encodeTcb(t, g);
}

function jVersion(v: unknown, name: string): FirmwareVersion {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`attestation_report.${name} must be an object`);
  const o = v as JsonRecord;
  return { major: jInt(o.major, `${name}.major`, 255), minor: jInt(o.minor, `${name}.minor`, 255), build: jInt(o.build, `${name}.build`, 255) };
}

/**
 * Rebuilds the 1184-byte report from the serde JSON form of `sev::firmware::guest::AttestationReport` (what the
 * CoCo attester sends). Reserved fields are not in the JSON and are zero in the rebuilt report; the signature check
 * then decides whether the rebuild is what the hardware signed.
 */
export function reportBytesFromSevJson(json: unknown): Uint8Array {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('attestation_report must be an object');
  const o = json as JsonRecord;
  const version = jInt(jField(o, 'version'), 'version', 0xffffffff);
  if (version < MIN_REPORT_VERSION || version > MAX_REPORT_VERSION) fail(`unsupported SNP report version ${version}`);
  let cpuid: Cpuid | null = null;
  if (version >= 3) {
    cpuid = {
      family: jInt(jField(o, 'cpuid_fam_id'), 'cpuid_fam_id', 255),
      model: jInt(jField(o, 'cpuid_mod_id'), 'cpuid_mod_id', 255),
      stepping: jInt(jField(o, 'cpuid_step'), 'cpuid_step', 255),
    };
  }
  const gen = cpuid ? generationFromCpuid(cpuid) : null;
  const sig = jField(o, 'signature');
  if (typeof sig !== 'object' || sig === null) fail('attestation_report.signature must be an object');
  const s = sig as JsonRecord;
  const report: AttestationReport = {
    version,
    guestSvn: jInt(jField(o, 'guest_svn'), 'guest_svn', 0xffffffff),
    policy: jU64(jField(o, 'policy'), 'policy'),
    familyId: jBytes(jField(o, 'family_id'), 'family_id', 16),
    imageId: jBytes(jField(o, 'image_id'), 'image_id', 16),
    vmpl: jInt(jField(o, 'vmpl'), 'vmpl', 0xffffffff),
    sigAlgo: jInt(jField(o, 'sig_algo'), 'sig_algo', 0xffffffff),
    currentTcb: jTcb(jField(o, 'current_tcb'), 'current_tcb', gen),
    platformInfo: jU64(jField(o, 'plat_info'), 'plat_info'),
    keyInfo: jInt(jField(o, 'key_info'), 'key_info', 0xffffffff),
    reportData: jBytes(jField(o, 'report_data'), 'report_data', 64),
    measurement: jBytes(jField(o, 'measurement'), 'measurement', 48),
    hostData: jBytes(jField(o, 'host_data'), 'host_data', 32),
    idKeyDigest: jBytes(jField(o, 'id_key_digest'), 'id_key_digest', 48),
    authorKeyDigest: jBytes(jField(o, 'author_key_digest'), 'author_key_digest', 48),
    reportId: jBytes(jField(o, 'report_id'), 'report_id', 32),
    reportIdMa: jBytes(jField(o, 'report_id_ma'), 'report_id_ma', 32),
    reportedTcb: jTcb(jField(o, 'reported_tcb'), 'reported_tcb', gen),
    cpuid,
    chipId: jBytes(jField(o, 'chip_id'), 'chip_id', 64),
    committedTcb: jTcb(jField(o, 'committed_tcb'), 'committed_tcb', gen),
    currentVersion: jVersion(jField(o, 'current'), 'current'),
    committedVersion: jVersion(jField(o, 'committed'), 'committed'),
    launchTcb: jTcb(jField(o, 'launch_tcb'), 'launch_tcb', gen),
    launchMitVector: version >= 5 ? jU64(jField(o, 'launch_mit_vector'), 'launch_mit_vector') : null,
    currentMitVector: version >= 5 ? jU64(jField(o, 'current_mit_vector'), 'current_mit_vector') : null,
    signatureR: jBytes(jField(s, 'r'), 'signature.r', 72),
    signatureS: jBytes(jField(s, 's'), 'signature.s', 72),
  };
  return serializeReport(report);
}
