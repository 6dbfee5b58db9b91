import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readTestdata, testdataSkip } from '../support/testdata.js';
import { parsePemCertificates, verifyJwkEndorsement, X5cError } from '../../src/kbs/token/x5c.js';
import { makeCa, makeLeaf } from './support/pki.js';
import { generateKeyPairSync } from 'node:crypto';

// Expected outcomes: /work/shared/testdata/README.md (kbs/jwk), Trustee's test_verify_jwk_endorsement_scenarios.
const NOW = new Date('2026-06-01T00:00:00Z');
const EXPECTED: Record<string, true | RegExp> = {
  '01': true,
  '02': /leaf key does not match/,
  '03': /no x5c/,
  '04': /does not lead to a trusted/,
  '05': true,
  '06': true,
  '07': true,
};

for (const [n, ok] of Object.entries(EXPECTED)) {
  test(`x5c scenario ${n} → ${ok === true ? 'ok' : 'fail'}`, { skip: testdataSkip('kbs/jwk') }, () => {
    const jwk = JSON.parse(readTestdata('kbs', 'jwk', `scenario${n}-jwk.json`).toString('utf8'));
    const trusted = parsePemCertificates(readTestdata('kbs', 'jwk', `scenario${n}-trust.pem`).toString('utf8'), 'trust');
    if (ok === true) verifyJwkEndorsement(jwk, trusted, NOW);
    else assert.throws(() => verifyJwkEndorsement(jwk, trusted, NOW), (e: unknown) => e instanceof X5cError && ok.test(e.message));
  });
}

test('x5c scenario 01 fails once the certificates have expired', { skip: testdataSkip('kbs/jwk') }, () => {
  const jwk = JSON.parse(readTestdata('kbs', 'jwk', 'scenario01-jwk.json').toString('utf8'));
  const trusted = parsePemCertificates(readTestdata('kbs', 'jwk', 'scenario01-trust.pem').toString('utf8'), 'trust');
  assert.throws(() => verifyJwkEndorsement(jwk, trusted, new Date('2040-01-01T00:00:00Z')), /not valid at/);
});

test('own PKI: root → intermediate → leaf accepted; tampered and non-CA issuers rejected', async () => {
  const root = await makeCa('root');
  const inter = await makeCa('inter', root);
  const leafKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const leaf = await makeLeaf('leaf', leafKeys.publicKey, inter);
  const jwk = { ...leafKeys.publicKey.export({ format: 'jwk' }), alg: 'ES256', x5c: [leaf.b64, inter.b64] };
  verifyJwkEndorsement(jwk, [root.x509], NOW);
  // Without the intermediate the chain is broken.
  assert.throws(() => verifyJwkEndorsement({ ...jwk, x5c: [leaf.b64] }, [root.x509], NOW), /does not lead/);
  // A foreign root is not trusted.
  const other = await makeCa('other');
  assert.throws(() => verifyJwkEndorsement(jwk, [other.x509], NOW), /does not lead/);
  // A leaf (not a CA) cannot issue.
  const otherKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const fakeLeaf = await makeLeaf('leaf2', otherKeys.publicKey, { ...leaf, isCa: false });
  const jwk2 = { ...otherKeys.publicKey.export({ format: 'jwk' }), alg: 'ES256', x5c: [fakeLeaf.b64, leaf.b64, inter.b64] };
  assert.throws(() => verifyJwkEndorsement(jwk2, [root.x509], NOW), /does not lead/);
  // One flipped bit in the leaf signature.
  const der = Buffer.from(leaf.b64, 'base64');
  der[der.length - 5]! ^= 1;
  assert.throws(() => verifyJwkEndorsement({ ...jwk, x5c: [der.toString('base64'), inter.b64] }, [root.x509], NOW));
  // No trust store at all.
  assert.throws(() => verifyJwkEndorsement(jwk, [], NOW), /no trusted certificates/);
});
