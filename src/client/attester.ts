/**
 * Attesters: where evidence comes from. An `Attester` turns report data (the runtime-data digest) into TEE evidence
 * JSON. This build has only the software `sample` attester (primary, class cpu) and `sampledevice` (an additional
 * device, class gpu, enabled by env `ENABLE_SAMPLE_DEVICE` as in guest-components); a hardware attester is one more
 * object implementing the interface.
 */
import { KbsClientError, reason } from './errors.js';
import { deviceReportData, primaryReportData } from './runtime-data.js';
import type { CompositeEvidence, HashAlgorithm, RuntimeData } from './wire.js';

export interface Attester {
  /** kbs-types `Tee` name sent in `/auth` (primary) or used as the key in `additional_evidence` (device). */
  readonly tee: string;
  getEvidence(reportData: Uint8Array): Promise<unknown>;
}

/** guest-components `attester/src/sample`: `{"svn": "1", "report_data": b64(report data)}`. */
export const sampleAttester: Attester = {
  tee: 'sample',
  async getEvidence(reportData) {
    return { svn: '1', report_data: Buffer.from(reportData).toString('base64') };
  },
};

/** guest-components `attester/src/sample_device`: `{"svn": "2", "report_data": b64(report data)}`. */
export const sampleDeviceAttester: Attester = {
  tee: 'sampledevice',
  async getEvidence(reportData) {
    return { svn: '2', report_data: Buffer.from(reportData).toString('base64') };
  },
};

export interface AttesterSet {
  primary: Attester;
  devices: Attester[];
}

/**
 * What this machine can attest with. No hardware TEE is detected by this build, so the primary attester is
 * `sample` (the reference client's fallback too). `ENABLE_SAMPLE_DEVICE` set to any value, even empty, adds the
 * sample device (Rust `env::var(..).is_ok()`).
 */
export function detectAttesters(env: Readonly<Record<string, string | undefined>>): AttesterSet {
  const devices: Attester[] = [];
  if (env.ENABLE_SAMPLE_DEVICE !== undefined) devices.push(sampleDeviceAttester);
  return { primary: sampleAttester, devices };
}

/**
 * Builds `tee-evidence`: device evidence over H(JCS({nonce, tee-pubkey})) first, then the primary evidence over
 * H(JCS({additional-evidence, nonce, tee-pubkey})) with the exact string sent (specs/trustee.md §2.2).
 */
export async function collectEvidence(
  attesters: AttesterSet,
  rd: RuntimeData,
  alg: HashAlgorithm,
): Promise<CompositeEvidence> {
  let additional = '';
  if (attesters.devices.length > 0) {
    const deviceData = deviceReportData(rd, alg);
    const map: Record<string, unknown> = {};
    for (const device of attesters.devices) {
      if (Object.hasOwn(map, device.tee)) {
        throw new KbsClientError('evidence', 'ERR_EVIDENCE', `two device attesters for ${device.tee}`);
      }
      map[device.tee] = await evidenceFrom(device, deviceData);
    }
    additional = JSON.stringify(map);
  }
  const primary = await evidenceFrom(attesters.primary, primaryReportData(rd, additional, alg));
  return { primary_evidence: primary, additional_evidence: additional };
}

async function evidenceFrom(attester: Attester, reportData: Buffer): Promise<unknown> {
  try {
    return await attester.getEvidence(reportData);
  } catch (e) {
    throw new KbsClientError('evidence', 'ERR_EVIDENCE', `${attester.tee} attester failed: ${reason(e)}`, { cause: e });
  }
}
