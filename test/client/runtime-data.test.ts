import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { deviceReportData, digestCanonical, primaryReportData, runtimeData } from '../../src/client/runtime-data.js';
import { collectEvidence, detectAttesters, sampleAttester, type Attester } from '../../src/client/attester.js';
import { KbsClientError } from '../../src/client/errors.js';
import type { EcTeePubKey, RsaTeePubKey } from '../../src/client/tee-key.js';

const sha = (alg: string, s: string) => createHash(alg).update(s, 'utf8').digest();

const ec: EcTeePubKey = { kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW', x: 'xX-_', y: 'yY_-' };
const rsa: RsaTeePubKey = { kty: 'RSA', alg: 'RSA-OAEP-256', n: 'nnnn', e: 'AQAB' };
const nonce = 'M2Zx1X5m2eYt8Cw3Xw2O3p1V7B6y0JQk5yZ3ZkQ9u4E=';

test('JCS + SHA-384 vector from specs/trustee.md §2.2', () => {
  assert.equal(
    digestCanonical({ b: 1, a: 'test', c: { d: 'e' } }, 'sha384').toString('hex'),
    'e71ce8e70d814ba6639c3612ebee0ff1f76f650f8dbb5e47157e0f3f525cd22c4597480a186427c813ca941da78870c3',
  );
});

test('primary report data = sha384 over the canonical {additional-evidence, nonce, tee-pubkey} (EC member order alg,crv,kty,x,y)', () => {
  // The canonical text written out by hand from §2.2, not produced by the code under test.
  const text = `{"additional-evidence":"","nonce":"${nonce}","tee-pubkey":{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"xX-_","y":"yY_-"}}`;
  assert.deepEqual(primaryReportData(runtimeData(nonce, ec), '', 'sha384'), sha('sha384', text));
  assert.equal(primaryReportData(runtimeData(nonce, ec), '', 'sha384').length, 48);
});

test('RSA tee-pubkey canonical member order is alg,e,kty,n; other hashes follow the negotiation', () => {
  const add = '{"sampledevice":{"svn":"2","report_data":"AA=="}}';
  const text = `{"additional-evidence":${JSON.stringify(add)},"nonce":"n","tee-pubkey":{"alg":"RSA-OAEP-256","e":"AQAB","kty":"RSA","n":"nnnn"}}`;
  assert.deepEqual(primaryReportData(runtimeData('n', rsa), add, 'sha512'), sha('sha512', text));
  assert.deepEqual(primaryReportData(runtimeData('n', rsa), add, 'sha256'), sha('sha256', text));
});

test('device report data = hash over the canonical {nonce, tee-pubkey} only', () => {
  const text = `{"nonce":"${nonce}","tee-pubkey":{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"xX-_","y":"yY_-"}}`;
  assert.deepEqual(deviceReportData(runtimeData(nonce, ec), 'sha384'), sha('sha384', text));
});

test('sample attester: {"svn":"1","report_data": b64(primary digest)}, additional_evidence ""', async () => {
  const ev = await collectEvidence(detectAttesters({}), runtimeData(nonce, ec), 'sha384');
  assert.equal(ev.additional_evidence, '');
  const text = `{"additional-evidence":"","nonce":"${nonce}","tee-pubkey":{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"xX-_","y":"yY_-"}}`;
  assert.deepEqual(ev.primary_evidence, { svn: '1', report_data: sha('sha384', text).toString('base64') });
});

test('ENABLE_SAMPLE_DEVICE (even empty) adds sampledevice; the primary digest covers the exact device string', async () => {
  assert.equal(detectAttesters({}).devices.length, 0);
  assert.equal(detectAttesters({ ENABLE_SAMPLE_DEVICE: '' }).devices[0]?.tee, 'sampledevice');
  const ev = await collectEvidence(detectAttesters({ ENABLE_SAMPLE_DEVICE: '1' }), runtimeData(nonce, ec), 'sha384');
  const devText = `{"nonce":"${nonce}","tee-pubkey":{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"xX-_","y":"yY_-"}}`;
  const devices = JSON.parse(ev.additional_evidence);
  assert.deepEqual(devices, { sampledevice: { svn: '2', report_data: sha('sha384', devText).toString('base64') } });
  const primaryText = `{"additional-evidence":${JSON.stringify(ev.additional_evidence)},"nonce":"${nonce}","tee-pubkey":{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"xX-_","y":"yY_-"}}`;
  assert.equal((ev.primary_evidence as { report_data: string }).report_data, sha('sha384', primaryText).toString('base64'));
});

test('an attester failure is an evidence-step error naming the attester', async () => {
  const broken: Attester = {
    tee: 'tdx',
    async getEvidence() {
      throw new Error('no /dev/tdx_guest');
    },
  };
  await assert.rejects(
    collectEvidence({ primary: sampleAttester, devices: [broken] }, runtimeData('n', ec), 'sha384'),
    (e: unknown) => e instanceof KbsClientError && e.step === 'evidence' && /tdx attester failed: no \/dev\/tdx_guest/.test(e.message),
  );
});
