/**
 * `az-tdx-vtpm` evidence as the Trustee attester sends it, decoded once into typed bytes (trustee.md §4):
 *  - v1 / v2: `{"version": 1|2, "tpm_quote": {"signature": hex, "message": hex, "pcrs": [hex]}, "hcl_report": b64url,
 *    "td_quote": b64url}`
 *  - v0 (legacy, no `version`): the same three members with every byte string as a JSON array of numbers.
 */
import { VerificationError, type Json, type JsonObject } from '../types.js';

export type AzTdxEvidenceVersion = 0 | 1 | 2;

/** The vTPM quote: raw RSASSA signature, TPMS_ATTEST message, and the SHA-256 PCR values it claims. */
export interface VtpmQuote {
  signature: Uint8Array;
  message: Uint8Array;
  pcrs: Uint8Array[];
}

export interface AzTdxEvidence {
  version: AzTdxEvidenceVersion;
  tpmQuote: VtpmQuote;
  hclReport: Uint8Array;
  tdQuote: Uint8Array;
}

export class AzTdxEvidenceError extends VerificationError {
  constructor(message: string) {
    super('AZ_EVIDENCE_MALFORMED', message);
    this.name = 'AzTdxEvidenceError';
  }
}

const fail = (msg: string): never => {
  throw new AzTdxEvidenceError(msg);
};

const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function byteArray(v: Json | undefined, what: string): Uint8Array {
  if (!Array.isArray(v) || !v.every((b) => typeof b === 'number' && Number.isInteger(b) && b >= 0 && b <= 255)) {
    fail(`${what} must be an array of bytes`);
  }
  return Uint8Array.from(v as number[]);
}

function hexBytes(v: Json | undefined, what: string): Uint8Array {
  if (typeof v !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(v)) fail(`${what} must be an even-length hex string`);
  return new Uint8Array(Buffer.from(v as string, 'hex'));
}

function b64urlBytes(v: Json | undefined, what: string): Uint8Array {
  // Trustee's attester uses URL-safe base64 with padding; padding is optional here, other alphabets are refused.
  if (typeof v !== 'string' || !/^[A-Za-z0-9_-]*={0,2}$/.test(v) || v.replace(/=+$/, '').length % 4 === 1) {
    fail(`${what} must be URL-safe base64`);
  }
  return new Uint8Array(Buffer.from(v as string, 'base64url'));
}

const PCR_SIZE = 32;
const MAX_PCRS = 24;

function tpmQuote(v: Json | undefined, bytes: (x: Json | undefined, what: string) => Uint8Array): VtpmQuote {
  if (!isObject(v)) return fail('tpm_quote must be an object {signature, message, pcrs}');
  const pcrList = v.pcrs;
  if (!Array.isArray(pcrList) || pcrList.length === 0 || pcrList.length > MAX_PCRS) {
    fail(`tpm_quote.pcrs must hold 1..${MAX_PCRS} PCR values`);
  }
  const pcrs = (pcrList as Json[]).map((p, i) => {
    const b = bytes(p, `tpm_quote.pcrs[${i}]`);
    if (b.length !== PCR_SIZE) fail(`tpm_quote.pcrs[${i}] must be a ${PCR_SIZE}-byte SHA-256 value`);
    return b;
  });
  const signature = bytes(v.signature, 'tpm_quote.signature');
  const message = bytes(v.message, 'tpm_quote.message');
  if (signature.length === 0) fail('tpm_quote.signature is empty');
  if (message.length === 0) fail('tpm_quote.message is empty');
  return { signature, message, pcrs };
}

export function parseAzTdxEvidence(ev: Json): AzTdxEvidence {
  if (!isObject(ev)) return fail('evidence must be a JSON object');
  let out: AzTdxEvidence;
  if (ev.version === undefined) {
    out = { version: 0, tpmQuote: tpmQuote(ev.tpm_quote, byteArray), hclReport: byteArray(ev.hcl_report, 'hcl_report'), tdQuote: byteArray(ev.td_quote, 'td_quote') };
  } else if (ev.version === 1 || ev.version === 2) {
    out = { version: ev.version, tpmQuote: tpmQuote(ev.tpm_quote, hexBytes), hclReport: b64urlBytes(ev.hcl_report, 'hcl_report'), tdQuote: b64urlBytes(ev.td_quote, 'td_quote') };
  } else {
    return fail(`unsupported az-tdx-vtpm evidence version ${JSON.stringify(ev.version)}`);
  }
  if (out.hclReport.length === 0) fail('hcl_report is empty');
  if (out.tdQuote.length === 0) fail('td_quote is empty');
  return out;
}
