// security-cases.md #15: foreign issuer — untrusted signer, unknown kid, attacker-hosted jku/x5u (must not even be
// fetched), a `crit` header we do not understand. The JWS are assembled by hand: jose refuses to *sign* an unknown
// `crit`, so a test built with SignJWT could silently skip that case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { b64url } from '../kbs/support/harness.js';
import { call, ecTeeKey, errorType } from '../kbs/support/rcar.js';
import { kbsWithSecret, RESOURCE, SECRET } from './support.js';

function es256(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

const claims = () => ({
  exp: Math.floor(Date.now() / 1000) + 300,
  submods: { cpu0: { 'ear.status': 'affirming' } },
  'tee-pubkey': ecTeeKey().jwk,
});

async function trustedSignerKbs(t: Parameters<typeof kbsWithSecret>[0]) {
  const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ctx = await kbsWithSecret(t, { trustedSignerKeys: [signer.publicKey] });
  const jwk = { ...signer.publicKey.export({ format: 'jwk' }), alg: 'ES256' };
  const get = (token: string) => call(ctx.k.url, 'GET', RESOURCE, { headers: { authorization: `Bearer ${token}` } });
  return { ...ctx, signer, jwk, get };
}

test('#15 a crit header we do not understand is refused even from a trusted signer', async (t) => {
  const { signer, jwk, get } = await trustedSignerKbs(t);
  // Control: the same hand-made JWS without crit is accepted.
  const ok = await get(es256({ alg: 'ES256', jwk }, claims(), signer.privateKey));
  assert.equal(ok.status, 200, ok.text);
  // Unknown names, a JWT claim name, a JWS-defined name (RFC 7515 §4.1.11 forbids it), an empty list, a non-list.
  // (`b64` is left out on purpose: jose understands RFC 7797, and b64=true is the ordinary encoding.)
  for (const crit of [['x-unknown'], ['exp'], ['alg'], [], 'x-unknown']) {
    const header = { alg: 'ES256', jwk, crit, 'x-unknown': true, exp: 1 };
    const r = await get(es256(header, claims(), signer.privateKey));
    assert.equal(r.status, 401, JSON.stringify(crit));
    assert.equal(errorType(r), 'TokenVerifierError');
    assert.ok(!r.text.includes(SECRET));
  }
});

test('#15 attacker-hosted jku / x5u are never fetched and do not make a token trusted', async (t) => {
  const { jwk: trustedJwk, get } = await trustedSignerKbs(t);
  const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const attackerJwk = { ...attacker.publicKey.export({ format: 'jwk' }), alg: 'ES256', kid: 'attacker' };
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [attackerJwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as { port: number }).port;
  const jku = `http://127.0.0.1:${port}/jwks.json`;
  const x5u = `http://127.0.0.1:${port}/chain.pem`;

  const headers: Array<Record<string, unknown>> = [
    { alg: 'ES256', kid: 'attacker', jku },
    { alg: 'ES256', jku },
    { alg: 'ES256', x5u },
    { alg: 'ES256', jwk: attackerJwk, jku },
    { alg: 'ES256', jwk: { ...attackerJwk, x5u }, x5u },
    // The trusted signer's public key in the header but the signature by the attacker: still refused.
    { alg: 'ES256', jwk: trustedJwk, jku },
  ];
  for (const h of headers) {
    const r = await get(es256(h, claims(), attacker.privateKey));
    assert.equal(r.status, 401, JSON.stringify(h));
    assert.equal(errorType(r), 'TokenVerifierError', JSON.stringify(h));
  }
  assert.deepEqual(hits, [], 'the KBS fetched an attacker-supplied URL');
});

test('#15 a token from an untrusted AS (valid signature, unknown key or kid) is refused', async (t) => {
  const { get } = await trustedSignerKbs(t);
  const foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const fjwk = { ...foreign.publicKey.export({ format: 'jwk' }), alg: 'ES256' };
  for (const h of [{ alg: 'ES256', jwk: fjwk }, { alg: 'ES256', kid: 'unknown' }, { alg: 'ES256', kid: '../../admin-key.pem' }, { alg: 'ES256' }]) {
    const r = await get(es256(h, claims(), foreign.privateKey));
    assert.equal(r.status, 401, JSON.stringify(h));
    assert.equal(errorType(r), 'TokenVerifierError');
  }
});
