import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader, flattenedDecrypt } from 'jose';
import { startKbs, b64url } from './support/harness.js';
import { call, errorType, handshake, rsaTeeKey } from './support/rcar.js';
import { makeCa, makeLeaf } from './support/pki.js';
import { samplePolicy } from '../../src/kbs/resource-policy.js';

// Trustee kbs/test `test-passport`: the issuer KBS signs EAR tokens with a key whose certificate chains to a CA;
// an independent resource-only KBS trusts only that CA and serves resources to the Bearer token.
test('passport mode: token from one KBS, resource from another that trusts the signer CA through x5c', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-passport-'));
  const ca = await makeCa('token CA');
  const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const leaf = await makeLeaf('token signer', signer.publicKey, ca);
  writeFileSync(join(dir, 'token.key'), signer.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'token-chain.pem'), leaf.pem + '\n' + ca.pem + '\n');
  writeFileSync(join(dir, 'ca.pem'), ca.pem);
  const other = await makeCa('other CA');
  writeFileSync(join(dir, 'other.pem'), other.pem);

  const issuer = await startKbs({
    attestation_service: { attestation_token_broker: { signer: { key_path: join(dir, 'token.key'), cert_path: join(dir, 'token-chain.pem') } } },
  });
  t.after(() => issuer.stop());
  const resourceKbs = await startKbs({ attestation_service: { type: 'none' }, attestation_token: { trusted_certs_paths: [join(dir, 'ca.pem')] } });
  t.after(() => resourceKbs.stop());
  const strangerKbs = await startKbs({ attestation_service: { type: 'none' }, attestation_token: { trusted_certs_paths: [join(dir, 'other.pem')] } });
  t.after(() => strangerKbs.stop());

  const key = rsaTeeKey();
  const { token } = await handshake(issuer.url, key);
  const h = decodeProtectedHeader(token);
  assert.equal(h.alg, 'ES256');
  assert.ok(Array.isArray(h.jwk?.x5c) && h.jwk.x5c.length === 2);
  assert.deepEqual(createPublicKey({ key: h.jwk as any, format: 'jwk' }).export({ type: 'spki', format: 'der' }), signer.publicKey.export({ type: 'spki', format: 'der' }));

  for (const k of [resourceKbs, strangerKbs]) {
    const admin = { authorization: `Bearer ${k.adminToken}` };
    assert.equal((await call(k.url, 'POST', '/kbs/v0/resource/one/two/three', { body: 'passport secret', headers: admin })).status, 200);
    assert.equal((await call(k.url, 'POST', '/kbs/v0/resource-policy', { body: JSON.stringify({ policy: b64url(samplePolicy('allow_all')) }), headers: admin })).status, 200);
  }
  // A resource-only KBS has no RCAR endpoints.
  assert.equal((await call(resourceKbs.url, 'POST', '/kbs/v0/auth', { body: '{}' })).status, 404);

  const r = await call(resourceKbs.url, 'GET', '/kbs/v0/resource/one/two/three', { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200, r.text);
  const { plaintext } = await flattenedDecrypt(r.json, key.privateKey, { keyManagementAlgorithms: ['RSA-OAEP-256'] });
  assert.equal(Buffer.from(plaintext).toString(), 'passport secret');

  const r2 = await call(strangerKbs.url, 'GET', '/kbs/v0/resource/one/two/three', { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r2.status, 401);
  assert.equal(errorType(r2), 'TokenVerifierError');
});

test('a resource-only KBS without any token trust material refuses to start', async () => {
  await assert.rejects(startKbs({ attestation_service: { type: 'none' } }), /no token trust material/);
});
