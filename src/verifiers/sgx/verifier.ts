/**
 * Trustee `sgx` verifier: evidence `{"quote": b64(SGX ECDSA quote v3)}`, verified with Intel DCAP (../dcap).
 * Claims follow Trustee's `sgx` names.
 */
import type { VerifierContext } from '../types.js';
import { createDcapVerifier, type DcapVerifier, type DcapVerifierOptions } from '../dcap/verifier.js';

export function createSgxVerifier(ctx: VerifierContext, opts: DcapVerifierOptions = {}): DcapVerifier {
  return createDcapVerifier('sgx', ctx, opts);
}
