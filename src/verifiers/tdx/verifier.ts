/**
 * Trustee `tdx` verifier: evidence `{"quote": b64(TD quote v4/v5), "cc_eventlog": b64 | null}`, verified with
 * Intel DCAP (../dcap). Claims follow Trustee's `tdx` names.
 */
import type { VerifierContext } from '../types.js';
import { createDcapVerifier, type DcapVerifier, type DcapVerifierOptions } from '../dcap/verifier.js';

export function createTdxVerifier(ctx: VerifierContext, opts: DcapVerifierOptions = {}): DcapVerifier {
  return createDcapVerifier('tdx', ctx, opts);
}
