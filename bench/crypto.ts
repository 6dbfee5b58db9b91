/** Raw cryptography costs measured in the same run, as the denominators of every ratio the benchmarks print. */
import { createSign, createVerify, generateKeyPairSync, sign, verify } from 'node:crypto';
import { measure, type Sample } from './harness.js';

export interface CryptoBaseline {
  ecdsaP384Verify: Sample;
  ecdsaP256Verify: Sample;
  es256Sign: Sample;
  ecdhP256: Sample;
}

export async function benchCrypto(): Promise<CryptoBaseline> {
  const msg = Buffer.alloc(0x2a0, 7);
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const sig384 = sign('sha384', msg, p384.privateKey);
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const sig256 = sign('sha256', msg, { key: p256.privateKey, dsaEncoding: 'ieee-p1363' });
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { diffieHellman } = await import('node:crypto');
  const ecdsaP384Verify = await measure('ECDSA P-384 verify (SHA-384)', () => {
    if (!verify('sha384', msg, p384.publicKey, sig384)) throw new Error('bad');
  });
  const ecdsaP256Verify = await measure('ECDSA P-256 verify (SHA-256)', () => {
    if (!verify('sha256', msg, { key: p256.publicKey, dsaEncoding: 'ieee-p1363' }, sig256)) throw new Error('bad');
  });
  const es256Sign = await measure('ECDSA P-256 sign (ES256)', () => sign('sha256', msg, { key: p256.privateKey, dsaEncoding: 'ieee-p1363' }));
  const ecdhP256 = await measure('ECDH P-256 key agreement', () => diffieHellman({ privateKey: other.privateKey, publicKey: p256.publicKey }));
  void createSign;
  void createVerify;
  return { ecdsaP384Verify, ecdsaP256Verify, es256Sign, ecdhP256 };
}
