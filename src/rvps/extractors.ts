/**
 * Reference-value extractors: turn a message payload into named reference values. `sample` takes base64 of a JSON
 * object and yields one reference value per key (no signature: whoever may register is trusted, so registration
 * must sit behind admin authentication). `swid` and `corim` are not implemented yet.
 */
import type { Json } from '../verifiers/types.js';
import { RvpsError } from './errors.js';

export interface ExtractedValue {
  name: string;
  value: Json;
}

export type Extractor = (payload: string) => ExtractedValue[];

const B64 = /^[A-Za-z0-9+/]*={0,2}$|^[A-Za-z0-9_-]*={0,2}$/;

export const sampleExtractor: Extractor = (payload) => {
  const p = payload.trim();
  if (!B64.test(p)) throw new RvpsError('ERR_RVPS_EXTRACTOR', 'sample payload must be base64');
  let obj: unknown;
  try {
    obj = JSON.parse(Buffer.from(p, p.includes('-') || p.includes('_') ? 'base64url' : 'base64').toString('utf8'));
  } catch {
    throw new RvpsError('ERR_RVPS_EXTRACTOR', 'sample payload is not base64 of JSON');
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new RvpsError('ERR_RVPS_EXTRACTOR', 'sample payload must be a JSON object');
  return Object.entries(obj as Record<string, Json>).map(([name, value]) => {
    if (name === '') throw new RvpsError('ERR_RVPS_EXTRACTOR', 'reference value name must not be empty');
    return { name, value };
  });
};

export function extractorFor(type: string): Extractor {
  if (type === 'sample') return sampleExtractor;
  throw new RvpsError('ERR_RVPS_EXTRACTOR', `unsupported extractor type "${type.slice(0, 40)}"`);
}
