// security-cases.md #11: runtime-data canonicalisation games — duplicate keys, non-canonical text, other hash
// algorithms, truncation. The evidence binds sha384(JCS({additional-evidence, nonce, tee-pubkey})) (specs/trustee.md
// §2.2); whatever the request text looks like, the key the KBS later encrypts to must be the key the evidence bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { decodeJwt, flattenedDecrypt } from 'jose';
import { canonicalize } from '../../src/util/jcs.js';
import { attestationBody, auth, call, ecTeeKey, errorType, type TeeKey } from '../kbs/support/rcar.js';
import { kbsWithSecret, RESOURCE, SECRET } from './support.js';

const jwkText = (k: TeeKey) => `"kty":"EC","crv":"${k.jwk.crv}","alg":"${k.jwk.alg}","x":"${k.jwk.x}","y":"${k.jwk.y}"`;

/** /attest with the tee-pubkey object written by hand, so it can carry duplicate members. */
function rawBody(nonce: string, pubkeyMembers: string, boundTo: TeeKey): string {
  const evidence = attestationBody(nonce, boundTo)['tee-evidence'];
  return `{"runtime-data":{"nonce":${JSON.stringify(nonce)},"tee-pubkey":{${pubkeyMembers}}},"tee-evidence":${JSON.stringify(evidence)}}`;
}

test('#11 duplicate tee-pubkey members: the attacker key never becomes the key the KBS encrypts to', async (t) => {
  const { k } = await kbsWithSecret(t);
  const victim = ecTeeKey();
  const attacker = ecTeeKey();

  // Evidence binds the victim's key; the JSON names the attacker's key last (the value JSON.parse keeps).
  let a = await auth(k.url);
  let r = await call(k.url, 'POST', '/kbs/v0/attest', {
    body: rawBody(a.nonce, `${jwkText(victim)},${jwkText(attacker).replace('"kty":"EC","crv":"P-256","alg":"ECDH-ES+A256KW",', '')}`, victim),
    headers: { 'content-type': 'application/json', cookie: a.cookie },
  });
  assert.equal(r.status, 401, r.text);
  assert.equal(errorType(r), 'AttestationError');

  // The other order: the victim's coordinates are the last ones. Refusing is fine; accepting is fine only if the
  // token and the released JWE are bound to the victim's key, never to the attacker's.
  a = await auth(k.url);
  r = await call(k.url, 'POST', '/kbs/v0/attest', {
    body: rawBody(a.nonce, `${jwkText(attacker)},"x":"${victim.jwk.x}","y":"${victim.jwk.y}"`, victim),
    headers: { 'content-type': 'application/json', cookie: a.cookie },
  });
  if (r.status === 200) {
    const claims = decodeJwt(r.json.token) as any;
    assert.deepEqual(claims.submods.cpu0['ear.veraison.annotated-evidence'].runtime_data_claims['tee-pubkey'], victim.jwk);
    const res = await call(k.url, 'GET', RESOURCE, { headers: { cookie: a.cookie } });
    assert.equal(res.status, 200);
    await assert.rejects(flattenedDecrypt(res.json, attacker.privateKey));
    assert.equal(Buffer.from((await flattenedDecrypt(res.json, victim.privateKey)).plaintext).toString(), SECRET);
  } else {
    assert.equal(r.status, 401);
  }
});

test('#11 duplicate nonce members: a stale nonce hidden before the fresh one does not slip through', async (t) => {
  const { k } = await kbsWithSecret(t);
  const key = ecTeeKey();
  const old = await auth(k.url);
  const a = await auth(k.url);
  // Evidence bound to the other session's nonce, request text naming both (the fresh one last).
  const evidence = attestationBody(old.nonce, key)['tee-evidence'];
  const body = `{"runtime-data":{"nonce":${JSON.stringify(old.nonce)},"nonce":${JSON.stringify(a.nonce)},"tee-pubkey":${JSON.stringify(key.jwk)}},"tee-evidence":${JSON.stringify(evidence)}}`;
  const r = await call(k.url, 'POST', '/kbs/v0/attest', { body, headers: { 'content-type': 'application/json', cookie: a.cookie } });
  assert.equal(r.status, 401);
  assert.equal(errorType(r), 'AttestationError');
});

test('#11 report_data truncated, zero-padded, or over non-canonical text is refused; the canonical digest is accepted', async (t) => {
  const { k } = await kbsWithSecret(t);
  const key = ecTeeKey();
  const canonical = (n: string) => canonicalize({ 'additional-evidence': '', nonce: n, 'tee-pubkey': key.jwk });
  const variants: Array<[string, (n: string) => Buffer]> = [
    ['sha384 truncated to 32 bytes', (n) => createHash('sha384').update(canonical(n)).digest().subarray(0, 32)],
    ['sha384 zero-padded to 64 bytes', (n) => Buffer.concat([createHash('sha384').update(canonical(n)).digest(), Buffer.alloc(16)])],
    ['sha512 of the canonical text', (n) => createHash('sha512').update(canonical(n)).digest()],
    ['sha384 of the keys in insertion order', (n) => createHash('sha384').update(JSON.stringify({ nonce: n, 'tee-pubkey': key.jwk, 'additional-evidence': '' })).digest()],
    ['sha384 of JCS with a trailing newline', (n) => createHash('sha384').update(canonical(n) + '\n').digest()],
    ['sha384 without additional-evidence', (n) => createHash('sha384').update(canonicalize({ nonce: n, 'tee-pubkey': key.jwk })).digest()],
  ];
  for (const [name, digest] of variants) {
    const a = await auth(k.url);
    const body = attestationBody(a.nonce, key);
    body['tee-evidence'].primary_evidence.report_data = digest(a.nonce).toString('base64');
    const r = await call(k.url, 'POST', '/kbs/v0/attest', { body: JSON.stringify(body), headers: { 'content-type': 'application/json', cookie: a.cookie } });
    assert.equal(r.status, 401, name);
    assert.equal(errorType(r), 'AttestationError', name);
  }
  // Control: the canonical digest — sent in pretty-printed, reordered request text — is accepted, because the
  // binding is over JCS and not over the bytes on the wire.
  const a = await auth(k.url);
  const body = attestationBody(a.nonce, key);
  const reordered = { 'tee-evidence': body['tee-evidence'], 'runtime-data': { 'tee-pubkey': { y: key.jwk.y, x: key.jwk.x, alg: key.jwk.alg, crv: key.jwk.crv, kty: key.jwk.kty }, nonce: a.nonce } };
  const r = await call(k.url, 'POST', '/kbs/v0/attest', { body: JSON.stringify(reordered, null, 3), headers: { 'content-type': 'application/json', cookie: a.cookie } });
  assert.equal(r.status, 200, r.text);
});
