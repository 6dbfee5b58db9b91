// security-cases.md #8: `tee=sample` or an unknown TEE type reaching the production resource policy → deny by default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flattenedDecrypt } from 'jose';
import { samplePolicy } from '../../src/kbs/resource-policy.js';
import { attest, attestationBody, auth, call, ecTeeKey, errorType, handshake } from '../kbs/support/rcar.js';
import { kbsWithSecret, RESOURCE, SECRET } from './support.js';

test('#8 a sample-TEE token is denied by the default resource policy (and released once allow_all is chosen)', async (t) => {
  const { k, setPolicy } = await kbsWithSecret(t, {}, null); // the policy installed at start-up
  const key = ecTeeKey();
  const { cookie, token } = await handshake(k.url, key);
  for (const headers of [{ cookie }, { authorization: `Bearer ${token}` }] as Record<string, string>[]) {
    const r = await call(k.url, 'GET', RESOURCE, { headers });
    assert.equal(r.status, 401);
    assert.equal(errorType(r), 'PolicyDeny');
    assert.ok(!r.text.includes(SECRET));
  }
  // Control: the same token is released once an operator explicitly installs allow_all, so the refusal above
  // came from the default policy and not from a broken token.
  assert.equal(await setPolicy(samplePolicy('allow_all')), 200);
  const r = await call(k.url, 'GET', RESOURCE, { headers: { cookie } });
  assert.equal(r.status, 200);
  assert.equal(Buffer.from((await flattenedDecrypt(r.json, key.privateKey)).plaintext).toString(), SECRET);
});

test('#8 unknown TEE names (and case/whitespace variants of known ones) are refused at /auth and store no session', async (t) => {
  const { k } = await kbsWithSecret(t);
  for (const tee of ['unknown', 'SAMPLE', 'Sample', 'sample ', ' snp', 'snp\u0000', '', 'sample\u200b']) {
    const a = await auth(k.url, { version: '0.4.0', tee, 'extra-params': '' });
    assert.equal(a.reply.status, 401, JSON.stringify(tee));
    assert.equal(errorType(a.reply), 'AttestationError');
    assert.equal(a.setCookie, '', `no session cookie for ${JSON.stringify(tee)}`);
  }
  assert.deepEqual(await (await k.storage.open('kbs_protocol_session')).list(), []);
});

test('#8 a TEE the protocol knows but no verifier serves (cca, csv, dpu) never yields a token', async (t) => {
  const { k } = await kbsWithSecret(t);
  for (const tee of ['cca', 'csv', 'dpu']) {
    const a = await auth(k.url, { version: '0.4.0', tee, 'extra-params': '' });
    if (a.reply.status !== 200) {
      assert.equal(a.reply.status, 401, tee);
      continue;
    }
    // Sample-shaped evidence under another TEE's name must not be verified by the sample verifier.
    const r = await attest(k.url, a.cookie, attestationBody(a.nonce, ecTeeKey()));
    assert.equal(r.status, 401, `${tee}: ${r.text}`);
    assert.equal(errorType(r), 'AttestationError');
    assert.equal(r.json?.token, undefined);
  }
});

test('#8 additional (device) evidence under an unknown TEE name is refused', async (t) => {
  const { k } = await kbsWithSecret(t);
  const key = ecTeeKey();
  const a = await auth(k.url);
  const body = attestationBody(a.nonce, key);
  (body['tee-evidence'] as Record<string, unknown>).additional_evidence = JSON.stringify({ 'evil-gpu': { svn: '1' } });
  const r = await attest(k.url, a.cookie, body);
  assert.equal(r.status, 401);
  assert.equal(errorType(r), 'AttestationError');
  assert.match(r.json.detail, /unknown TEE/);
});
