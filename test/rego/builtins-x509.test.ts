import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { call, callCtx, ctx } from './builtins-helper.js';
import { readTestdata, testdataSkip } from '../support/testdata.js';

const NOW_2025_06 = BigInt(Date.parse('2025-06-01T00:00:00Z')) * 1_000_000n;

interface CertJson {
  Subject: { CommonName: string };
  Issuer: { CommonName: string };
  NotBefore: string;
  NotAfter: string;
  IsCA: boolean;
  SignatureAlgorithm: number;
  SerialNumber: number;
  DNSNames: string[] | null;
}

test('parse_certificates on the AMD Milan VCEK chain (README: VCEK ← SEV-Milan ← ARK-Milan)', { skip: testdataSkip('az-snp-vtpm') }, () => {
  const pem = readTestdata('az-snp-vtpm', 'vcek.pem').toString('utf8');
  const certs = call('crypto.x509.parse_certificates', pem) as unknown as CertJson[];
  assert.deepEqual(
    certs.map((c) => [c.Subject.CommonName, c.Issuer.CommonName]),
    [
      ['SEV-VCEK', 'SEV-Milan'],
      ['SEV-Milan', 'ARK-Milan'],
      ['ARK-Milan', 'ARK-Milan'],
    ],
  );
  assert.equal(certs[0]!.NotBefore, '2023-05-02T21:22:19Z');
  assert.equal(certs[0]!.SerialNumber, 0); // VCEKs have serial number 0 (shared/README)
  assert.equal(certs[0]!.SignatureAlgorithm, 14); // Go's SHA384WithRSAPSS
  assert.equal(certs[2]!.IsCA, true);
  // The same input as base64 of the PEM text, and as base64 DER of one certificate.
  const b64 = Buffer.from(pem).toString('base64');
  assert.equal((call('crypto.x509.parse_certificates', b64) as unknown as CertJson[]).length, 3);
  const der = readTestdata('snp', 'test-vcek.der').toString('base64');
  assert.equal((call('crypto.x509.parse_certificates', der) as unknown as CertJson[])[0]!.Subject.CommonName, 'SEV-VCEK');
});

test('parse_and_verify_certificates on the real chain, with an explicit now; tampered copies fail', { skip: testdataSkip('az-snp-vtpm') }, () => {
  const pem = readTestdata('az-snp-vtpm', 'vcek.pem').toString('utf8');
  const ok = callCtx(ctx(NOW_2025_06), 'crypto.x509.parse_and_verify_certificates', pem) as unknown[];
  assert.equal(ok[0], true);
  assert.equal((ok[1] as unknown[]).length, 3);
  // After the VCEK expires (2030-05-02) the chain no longer verifies.
  const later = BigInt(Date.parse('2031-01-01T00:00:00Z')) * 1_000_000n;
  assert.deepEqual(callCtx(ctx(later), 'crypto.x509.parse_and_verify_certificates', pem), [false, []]);
  // Flip one byte of the leaf's signature (the last bytes of its DER).
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)!;
  const leaf = Buffer.from(blocks[0]!.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
  leaf[leaf.length - 5]! ^= 0x01;
  const tampered = [`-----BEGIN CERTIFICATE-----\n${leaf.toString('base64')}\n-----END CERTIFICATE-----`, blocks[1], blocks[2]].join('\n');
  assert.deepEqual(callCtx(ctx(NOW_2025_06), 'crypto.x509.parse_and_verify_certificates', tampered), [false, []]);
  // The last certificate is the trust anchor as given (Go's roots pool): the ASK alone may anchor the VCEK.
  assert.equal((callCtx(ctx(NOW_2025_06), 'crypto.x509.parse_and_verify_certificates', [blocks[0], blocks[1]].join('\n')) as unknown[])[0], true);
  // But an anchor that did not issue the leaf does not.
  assert.deepEqual(callCtx(ctx(NOW_2025_06), 'crypto.x509.parse_and_verify_certificates', [blocks[0], blocks[2]].join('\n')), [false, []]);
  // A chain whose order is wrong (root first) does not verify.
  assert.deepEqual(callCtx(ctx(NOW_2025_06), 'crypto.x509.parse_and_verify_certificates', [blocks[2], blocks[1], blocks[0]].join('\n')), [false, []]);
});

async function selfSigned(cn: string, dns: string[]): Promise<string> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cert = new pkijs.Certificate();
  cert.version = 2;
  cert.serialNumber = new asn1js.Integer({ value: 4242 });
  for (const rdn of [cert.subject, cert.issuer]) {
    rdn.typesAndValues.push(new pkijs.AttributeTypeAndValue({ type: '2.5.4.3', value: new asn1js.Utf8String({ value: cn }) }));
  }
  cert.notBefore.value = new Date('2024-01-01T00:00:00Z');
  cert.notAfter.value = new Date('2034-01-01T00:00:00Z');
  const san = new pkijs.GeneralNames({ names: dns.map((d) => new pkijs.GeneralName({ type: 2, value: d })) });
  cert.extensions = [new pkijs.Extension({ extnID: '2.5.29.17', critical: false, extnValue: san.toSchema().toBER(false) })];
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  cert.subjectPublicKeyInfo.fromSchema(asn1js.fromBER(new Uint8Array(spki)).result);
  const jwk = privateKey.export({ format: 'jwk' });
  const key = await webcrypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  await cert.sign(key, 'SHA-256');
  const der = Buffer.from(cert.toSchema(true).toBER(false));
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`;
}

test('parse_certificates on a self-made certificate: names, SANs, serial', async () => {
  const pem = await selfSigned('keybroker-test', ['a.example', 'b.example']);
  const [c] = call('crypto.x509.parse_certificates', pem) as unknown as CertJson[];
  assert.equal(c!.Subject.CommonName, 'keybroker-test');
  assert.deepEqual(c!.DNSNames, ['a.example', 'b.example']);
  assert.equal(c!.SerialNumber, 4242);
  assert.equal(c!.NotAfter, '2034-01-01T00:00:00Z');
  assert.equal(c!.SignatureAlgorithm, 10); // ECDSAWithSHA256
});

test('x509 input errors', () => {
  assert.throws(() => call('crypto.x509.parse_certificates', 'foobar'), /illegal base64/);
  assert.throws(() => call('crypto.x509.parse_certificates', 'YmFkc3RyaW5n'), /x509: malformed certificate/);
});

test('parse_rsa_private_key and parse_private_keys return JWKs', () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const pkcs1 = privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
  const jwk = privateKey.export({ format: 'jwk' });
  const got = call('crypto.x509.parse_rsa_private_key', pkcs1) as Record<string, string>;
  assert.equal(got.kty, 'RSA');
  assert.equal(got.n, jwk.n);
  assert.equal(got.d, jwk.d);
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'sec1' }).toString();
  const keys = call('crypto.parse_private_keys', pkcs1 + ec) as Record<string, string>[];
  assert.deepEqual(keys.map((k) => k.kty), ['RSA', 'EC']);
  assert.throws(() => call('crypto.x509.parse_rsa_private_key', 'invalid'), /illegal base64/);
});

test('parse_and_verify_certificates_with_options: CurrentTime, DNSName, KeyUsages', { skip: testdataSkip('az-snp-vtpm') }, () => {
  const pem = readTestdata('az-snp-vtpm', 'vcek.pem').toString('utf8');
  const fn = 'crypto.x509.parse_and_verify_certificates_with_options';
  const at = (iso: string) => Number(BigInt(Date.parse(iso)) * 1_000_000n);
  // The evaluation clock is far in the future; the option's time decides.
  const c = ctx(BigInt(at('2040-01-01T00:00:00Z')));
  assert.equal((callCtx(c, fn, pem, { CurrentTime: at('2025-06-01T00:00:00Z'), KeyUsages: ['KeyUsageAny'] }) as unknown[])[0], true);
  assert.deepEqual(callCtx(c, fn, pem, { KeyUsages: ['KeyUsageAny'] }), [false, []]);
  assert.deepEqual(callCtx(c, fn, pem, { CurrentTime: at('2025-06-01T00:00:00Z'), DNSName: 'example.com' }), [false, []]);
  assert.throws(() => callCtx(c, fn, pem, { Foo: 1 }), /invalid key option: Foo/);
  assert.throws(() => callCtx(c, fn, pem, { KeyUsages: ['Nope'] }), /invalid entry for 'KeyUsages'/);
});
