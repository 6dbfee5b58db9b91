/**
 * Decrypts the KBS resource response (flattened JWE, specs/trustee.md §2.4) with the TEE private key. Only the
 * key-management algorithm of this key and `A256GCM` are accepted, so a response that tries another algorithm (or a
 * downgrade to RSA1_5) is rejected instead of decrypted, and so is a compressed (`zip`) payload.
 */
import { flattenedDecrypt } from 'jose';
import { KbsClientError, reason } from './errors.js';
import type { TeeKeyPair } from './tee-key.js';
import type { FlattenedJweResponse } from './wire.js';

export async function decryptResponse(jwe: FlattenedJweResponse, key: TeeKeyPair): Promise<Buffer> {
  try {
    const { plaintext } = await flattenedDecrypt(jwe, key.privateKey, {
      keyManagementAlgorithms: [key.alg],
      contentEncryptionAlgorithms: ['A256GCM'],
      // The KBS never compresses; refusing "zip" outright closes the decompression-bomb door (security-cases §19).
      maxDecompressedLength: 0,
    });
    return Buffer.from(plaintext);
  } catch (e) {
    const code = typeof e === 'object' && e !== null && 'code' in e ? ` (${String((e as { code: unknown }).code)})` : '';
    throw new KbsClientError('resource', 'ERR_DECRYPT', `cannot decrypt the resource JWE${code}: ${reason(e)}`, { cause: e });
  }
}
