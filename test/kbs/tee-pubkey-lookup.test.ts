import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { CompactSign, flattenedDecrypt } from 'jose';
import { DEFAULT_TEEKEY_PATHS, findTeePubKey, jsonPointer } from '../../src/kbs/tee-pubkey-lookup.js';
import { startKbs, b64url } from './support/harness.js';
import { call, errorType } from './support/rcar.js';
import { samplePolicy } from '../../src/kbs/resource-policy.js';

test('jsonPointer follows RFC 6901: escapes, array indices, missing steps, the whole document', () => {
  const doc = { 'a/b': { 'm~n': [10, { k: 'v' }] }, arr: ['x', 'y'], '': { z: 1 } };
  assert.equal(jsonPointer(doc, '/a~1b/m~0n/0'), 10);
  assert.equal(jsonPointer(doc, '/a~1b/m~0n/1/k'), 'v');
  assert.equal(jsonPointer(doc, '/arr/1'), 'y');
  assert.equal(jsonPointer(doc, '/arr/01'), undefined, 'leading zero is not an index');
  assert.equal(jsonPointer(doc, '/arr/-'), undefined);
  assert.equal(jsonPointer(doc, '/arr/2'), undefined);
  assert.equal(jsonPointer(doc, '//z'), 1, 'the empty member name');
  assert.equal(jsonPointer(doc, '/missing/deeper'), undefined);
  assert.equal(jsonPointer(doc, 'no-slash'), undefined);
  assert.equal(jsonPointer(doc, ''), doc);
  assert.equal(jsonPointer({ toString: 1 }, '/constructor'), undefined, 'inherited members are not members');
});

test('findTeePubKey: extra paths first, then the defaults in order; null counts as absent', () => {
  const key1 = { kty: 'EC', x: '1' };
  const key2 = { kty: 'EC', x: '2' };
  const tdx = { tdx: { attester_runtime_data: { 'tee-pubkey': key1 } }, 'tee-pubkey': key2 };
  assert.equal(findTeePubKey(tdx, []), key1, 'the first default path wins over /tee-pubkey');
  assert.equal(findTeePubKey({ 'tee-pubkey': key2 }, []), key2);
  assert.equal(findTeePubKey({ custom: { k: key1 }, 'tee-pubkey': key2 }, ['/custom/k']), key1, 'extra path before defaults');
  assert.equal(findTeePubKey({ custom: { k: null }, 'tee-pubkey': key2 }, ['/custom/k']), key2, 'null is skipped');
  const extra = ['/nope', '/custom/k'];
  assert.equal(findTeePubKey({ custom: { k: key1 } }, extra), key1);
  assert.equal(findTeePubKey({ custom: { k: key2 } }, extra), key2, 'the same list again (compiled once) still reads the new document');
  assert.equal(findTeePubKey({}, extra), undefined);
  assert.equal(DEFAULT_TEEKEY_PATHS.at(-1), '/tee-pubkey');
});

test('extra_teekey_paths: a token carrying the tee-pubkey at a configured pointer gets its resource encrypted to that key', async (t) => {
  const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tee = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = tee.publicKey.export({ format: 'jwk' });
  const teePub = { kty, crv, x, y, alg: 'ECDH-ES+A256KW' };
  const kbs = await startKbs({
    attestation_service: { type: 'none' },
    attestation_token: { insecure_header_jwk: true, extra_teekey_paths: ['/custom~1claims/keys/0'] },
  });
  t.after(() => kbs.stop());
  const admin = { authorization: `Bearer ${kbs.adminToken}` };
  assert.equal((await call(kbs.url, 'POST', '/kbs/v0/resource/r/t/s', { body: 'extra path secret', headers: admin })).status, 200);
  assert.equal((await call(kbs.url, 'POST', '/kbs/v0/resource-policy', { body: JSON.stringify({ policy: b64url(samplePolicy('allow_all')) }), headers: admin })).status, 200);

  const jwk = signer.publicKey.export({ format: 'jwk' });
  const sign = (claims: object) =>
    new CompactSign(Buffer.from(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 300, ...claims })))
      .setProtectedHeader({ alg: 'ES256', jwk: { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, y: jwk.y! } })
      .sign(signer.privateKey);

  const good = await sign({ 'custom/claims': { keys: [teePub] } });
  const r = await call(kbs.url, 'GET', '/kbs/v0/resource/r/t/s', { headers: { authorization: `Bearer ${good}` } });
  assert.equal(r.status, 200, r.text);
  const { plaintext } = await flattenedDecrypt(r.json, tee.privateKey, { keyManagementAlgorithms: ['ECDH-ES+A256KW'] });
  assert.equal(Buffer.from(plaintext).toString(), 'extra path secret');

  // An object member named "0" is what the pointer names too (RFC 6901): found.
  const member0 = await sign({ 'custom/claims': { keys: { 0: teePub } } });
  assert.equal((await call(kbs.url, 'GET', '/kbs/v0/resource/r/t/s', { headers: { authorization: `Bearer ${member0}` } })).status, 200);
  // The key one level off the configured pointer is not found anywhere: no tee-pubkey → refused, nothing released.
  const wrongPlace = await sign({ 'custom/claims': { key: teePub }, other: teePub });
  const r2 = await call(kbs.url, 'GET', '/kbs/v0/resource/r/t/s', { headers: { authorization: `Bearer ${wrongPlace}` } });
  assert.equal(r2.status, 401, r2.text);
  assert.equal(errorType(r2), 'TokenVerifierError');
  // Something that is not a key at the pointer: the first present pointer wins (as Trustee), and it is refused.
  const notAKey = await sign({ 'custom/claims': { keys: [[teePub]] }, 'tee-pubkey': teePub });
  const r3 = await call(kbs.url, 'GET', '/kbs/v0/resource/r/t/s', { headers: { authorization: `Bearer ${notAKey}` } });
  assert.notEqual(r3.status, 200, r3.text);
  assert.equal(errorType(r3), 'JweError');
});
