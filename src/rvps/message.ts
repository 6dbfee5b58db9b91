/**
 * RVPS register message v0.1.0 (specs/trustee.md §5.1): `{"version": "0.1.0", "type": <extractor>, "payload": string}`.
 * Any other version is rejected.
 */
import { RvpsError } from './errors.js';

export const MESSAGE_VERSION = '0.1.0';

export interface RvpsMessage {
  version: typeof MESSAGE_VERSION;
  type: string;
  payload: string;
}

export function parseRvpsMessage(text: string): RvpsMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new RvpsError('ERR_RVPS_MESSAGE', 'reference value message is not JSON');
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new RvpsError('ERR_RVPS_MESSAGE', 'reference value message must be a JSON object');
  const o = raw as Record<string, unknown>;
  const version = o.version ?? MESSAGE_VERSION;
  if (version !== MESSAGE_VERSION) throw new RvpsError('ERR_RVPS_MESSAGE', `unsupported message version (expected ${MESSAGE_VERSION})`);
  if (typeof o.type !== 'string' || o.type === '') throw new RvpsError('ERR_RVPS_MESSAGE', 'message "type" must be a non-empty string');
  if (typeof o.payload !== 'string') throw new RvpsError('ERR_RVPS_MESSAGE', 'message "payload" must be a string');
  return { version: MESSAGE_VERSION, type: o.type, payload: o.payload };
}
