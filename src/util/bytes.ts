/** Byte helpers shared by every verifier. */
import { timingSafeEqual } from 'node:crypto';

/**
 * Constant-time equality of two byte strings (security-cases.md #31): the time taken depends only on the lengths,
 * never on where the first difference is. Different lengths compare unequal at once (lengths are not secret).
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
