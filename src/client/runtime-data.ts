/**
 * Runtime-data binding, client side (specs/trustee.md §2.2; guest-components `rcar_client.rs`
 * `get_composite_evidence`):
 *   device report data  = H(JCS({"nonce", "tee-pubkey"}))
 *   primary report data = H(JCS({"additional-evidence": <the additional_evidence string, "" if none>,
 *                                "nonce", "tee-pubkey"}))
 * with H the negotiated hash (sha384 by default). The device evidence is collected first, because the primary
 * digest covers the exact additional-evidence string that is sent.
 */
import { createHash } from 'node:crypto';
import { canonicalize } from '../util/jcs.js';
import type { TeePubKey } from './tee-key.js';
import type { HashAlgorithm, RuntimeData } from './wire.js';

export function runtimeData(nonce: string, teePubkey: TeePubKey): RuntimeData {
  return { nonce, 'tee-pubkey': teePubkey };
}

export function digestCanonical(value: unknown, alg: HashAlgorithm): Buffer {
  return createHash(alg).update(canonicalize(value), 'utf8').digest();
}

export function deviceReportData(rd: RuntimeData, alg: HashAlgorithm): Buffer {
  return digestCanonical({ nonce: rd.nonce, 'tee-pubkey': rd['tee-pubkey'] }, alg);
}

export function primaryReportData(rd: RuntimeData, additionalEvidence: string, alg: HashAlgorithm): Buffer {
  return digestCanonical(
    { 'additional-evidence': additionalEvidence, nonce: rd.nonce, 'tee-pubkey': rd['tee-pubkey'] },
    alg,
  );
}
