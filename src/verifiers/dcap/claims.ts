/**
 * Trustee's claim names and encodings for `tdx` and `sgx` (deps/verifier/src/{tdx,sgx}/claims.rs and
 * intel_dcap): every quote field as lowercase hex of its raw (little-endian) bytes, TD attribute flags as
 * booleans, and the QVL supplemental data.
 */
import { createHash } from 'node:crypto';
import type { Json, JsonObject } from '../types.js';
import type { QuoteHeader, SgxQuote, TdxQuote } from './quote.js';
import type { VerifiedQuote } from './verify.js';
import type { X509Certificate } from 'node:crypto';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function u16le(n: number): string {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b.toString('hex');
}
function u32le(n: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b.toString('hex');
}

/** TD ATTRIBUTES bits (TDX module ABI): 0 DEBUG, 28 SEPT_VE_DISABLE, 30 PKS, 31 KL, 63 PERFMON. */
export function tdAttributeFlags(attr: Uint8Array): JsonObject {
  const bit = (n: number) => ((attr[n >> 3] >> (n & 7)) & 1) === 1;
  return {
    debug: bit(0),
    key_locker: bit(31),
    perfmon: bit(63),
    protection_keys: bit(30),
    septve_disable: bit(28),
  };
}

function tdxHeader(h: QuoteHeader): JsonObject {
  return {
    version: u16le(h.version),
    att_key_type: u16le(h.attKeyType),
    tee_type: hex(h.raw4),
    reserved: hex(h.raw8),
    vendor_id: hex(h.qeVendorId),
    user_data: hex(h.userData),
  };
}

function sgxHeader(h: QuoteHeader): JsonObject {
  return {
    version: u16le(h.version),
    att_key_type: u16le(h.attKeyType),
    att_key_data_0: hex(h.raw4),
    qe_svn: hex(h.raw8.subarray(0, 2)),
    pce_svn: hex(h.raw8.subarray(2, 4)),
    vendor_id: hex(h.qeVendorId),
    user_data: hex(h.userData),
  };
}

/** Claims that come from the quote alone (Trustee `parse_tdx_claims` without the event log). */
export function tdxQuoteClaims(q: TdxQuote, platformInstanceId?: Uint8Array): JsonObject {
  const b = q.body;
  const body: JsonObject = {
    tcb_svn: hex(b.teeTcbSvn),
    mr_seam: hex(b.mrSeam),
    mrsigner_seam: hex(b.mrSignerSeam),
    seam_attributes: hex(b.seamAttributes),
    td_attributes: hex(b.tdAttributes),
    xfam: hex(b.xfam),
    mr_td: hex(b.mrTd),
    mr_config_id: hex(b.mrConfigId),
    mr_owner: hex(b.mrOwner),
    mr_owner_config: hex(b.mrOwnerConfig),
    rtmr_0: hex(b.rtmr[0]),
    rtmr_1: hex(b.rtmr[1]),
    rtmr_2: hex(b.rtmr[2]),
    rtmr_3: hex(b.rtmr[3]),
    report_data: hex(b.reportData),
  };
  if (b.teeTcbSvn2) body.tee_tcb_svn2 = hex(b.teeTcbSvn2);
  if (b.mrServiceTd) body.mr_servicetd = hex(b.mrServiceTd);
  const quote: JsonObject = { header: tdxHeader(q.header), body };
  if (q.bodyType !== undefined && q.bodySize !== undefined) {
    quote.type = u16le(q.bodyType);
    quote.size = u32le(q.bodySize);
  }
  const claims: JsonObject = {
    quote,
    td_attributes: tdAttributeFlags(b.tdAttributes),
    report_data: hex(b.reportData),
    init_data: hex(b.mrConfigId),
  };
  if (platformInstanceId) claims.platform_instance_id = platformInstanceIdClaim(platformInstanceId);
  return claims;
}

export function sgxQuoteClaims(q: SgxQuote, platformInstanceId?: Uint8Array): JsonObject {
  const b = q.body;
  const claims: JsonObject = {
    header: sgxHeader(q.header),
    body: {
      cpu_svn: hex(b.cpuSvn),
      misc_select: hex(b.miscSelectRaw),
      reserved1: hex(b.reserved1),
      isv_ext_prod_id: hex(b.isvExtProdId),
      'attributes.flags': hex(b.attributes.subarray(0, 8)),
      'attributes.xfrm': hex(b.attributes.subarray(8, 16)),
      mr_enclave: hex(b.mrEnclave),
      reserved2: hex(b.reserved2),
      mr_signer: hex(b.mrSigner),
      reserved3: hex(b.reserved3),
      config_id: hex(b.configId),
      isv_prod_id: u16le(b.isvProdId),
      isv_svn: u16le(b.isvSvn),
      config_svn: u16le(b.configSvn),
      reserved4: hex(b.reserved4),
      isv_family_id: hex(b.isvFamilyId),
      report_data: hex(b.reportData),
    },
    report_data: hex(b.reportData),
    init_data: hex(b.configId),
  };
  if (platformInstanceId) claims.platform_instance_id = platformInstanceIdClaim(platformInstanceId);
  return claims;
}

/** Trustee prints the PCK PlatformInstanceID byte-reversed (checked against parse_tdx_claims_expected.json). */
function platformInstanceIdClaim(id: Uint8Array): string {
  return Buffer.from(id).reverse().toString('hex');
}

const isoSeconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
/** Trustee's spelling (intel_dcap `sgx_type`). */
const SGX_TYPE_NAMES = ['Standard', 'Scalable', 'Scalable with Integrity'];

const rootKeyIds = new WeakMap<X509Certificate, string>();

/**
 * QVL root_key_id: SHA-384 of the root's uncompressed EC point (65 bytes), the tail of the SPKI. Derived once per
 * certificate object (a pure function of its bytes); a verifier's cached chain reuses the same root object.
 */
function rootKeyIdOf(root: X509Certificate): string {
  let id = rootKeyIds.get(root);
  if (id === undefined) {
    const spki = root.publicKey.export({ format: 'der', type: 'spki' });
    id = createHash('sha384').update(spki.subarray(spki.length - 65)).digest('hex');
    rootKeyIds.set(root, id);
  }
  return id;
}

/** QVL supplemental data as Trustee names it. */
export function supplementalClaims(v: VerifiedQuote): JsonObject {
  const rootKeyId = rootKeyIdOf(v.rootCert);
  const claims: { [k: string]: Json } = {
    tcb_status: v.tcb.verdict,
    tcb_date: v.tcb.tcbDate,
    advisory_ids: v.tcb.advisoryIds,
    collateral_expiration_status: v.collateralExpired ? '1' : '0',
    earliest_issue_date: isoSeconds(v.earliestIssueDate),
    latest_issue_date: isoSeconds(v.latestIssueDate),
    earliest_expiration_date: isoSeconds(v.earliestExpirationDate),
    tcb_eval_num: Math.min(v.tcbInfo.tcbEvaluationDataNumber, v.qeIdentity.tcbEvaluationDataNumber),
    platform_provider_id: hex(v.pck.ppid),
    sgx_type: SGX_TYPE_NAMES[v.pck.sgxType] ?? `Unknown (${v.pck.sgxType})`,
    root_key_id: rootKeyId,
  };
  if (v.pckCrlNum !== undefined) claims.pck_crl_num = v.pckCrlNum;
  if (v.rootCaCrlNum !== undefined) claims.root_ca_crl_num = v.rootCaCrlNum;
  // Trustee reports the platform configuration flags only for scalable platforms (sgx_type > 0).
  if (v.pck.sgxType > 0) {
    claims.is_dynamic_platform = v.pck.dynamicPlatform ?? false;
    claims.is_cached_keys = v.pck.cachedKeys ?? false;
    claims.is_smt_enabled = v.pck.smtEnabled ?? false;
  }
  return claims;
}
