/** AS failures become 401 AttestationError with the AS's safe message; storage outages stay 503. */
import { AttestationServiceError } from '../../as/errors.js';
import { StorageUnavailableError } from '../../storage/types.js';
import { AttestationError, KbsError } from '../errors.js';

export function asAttestationError(e: unknown, fallback: string): Error {
  if (e instanceof KbsError || e instanceof StorageUnavailableError) return e;
  if (e instanceof AttestationServiceError) return new AttestationError(e.message);
  return new AttestationError(fallback);
}
