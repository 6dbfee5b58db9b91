/**
 * AS failures become 401 AttestationError with the AS's safe message; storage outages stay 503, and so does a
 * remote AS (`coco_as_grpc`) that cannot be reached or does not answer in time (`AttestationServiceUnavailable`).
 */
import { AttestationServiceError } from '../../as/errors.js';
import { StorageUnavailableError } from '../../storage/types.js';
import { AttestationError, AttestationServiceUnavailable, KbsError } from '../errors.js';
import { RemoteAsError } from '../remote-as/errors.js';

export function asAttestationError(e: unknown, fallback: string): Error {
  if (e instanceof KbsError || e instanceof StorageUnavailableError) return e;
  if (e instanceof AttestationServiceError) return new AttestationError(e.message);
  if (e instanceof RemoteAsError) return remoteAsUnavailable(e) ?? new AttestationError(e.message);
  return new AttestationError(fallback);
}

/** The 503 for a remote AS that was not there to ask; undefined for anything else. */
export function remoteAsUnavailable(e: unknown): KbsError | undefined {
  if (!(e instanceof RemoteAsError) || !e.unavailable) return undefined;
  return new AttestationServiceUnavailable(e.message);
}
