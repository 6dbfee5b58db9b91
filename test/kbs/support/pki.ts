/** Test PKI made with our own keys: CAs and leaves (ECDSA P-256), as node X509Certificate + base64 DER. */
import 'reflect-metadata'; // @peculiar/x509 needs Reflect metadata
import { webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface TestCert {
  name: string;
  b64: string;
  pem: string;
  x509: X509Certificate;
  keys: webcrypto.CryptoKeyPair;
  isCa: boolean;
}

const NOT_BEFORE = new Date('2025-01-01T00:00:00Z');
const NOT_AFTER = new Date('2035-01-01T00:00:00Z');

function wrap(name: string, cert: x509.X509Certificate, keys: webcrypto.CryptoKeyPair, isCa: boolean): TestCert {
  const b64 = Buffer.from(cert.rawData).toString('base64');
  return { name, b64, pem: cert.toString('pem'), x509: new X509Certificate(Buffer.from(cert.rawData)), keys, isCa };
}

export async function makeCa(name: string, issuer?: TestCert): Promise<TestCert> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const extensions = [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)];
  const cert = issuer
    ? await x509.X509CertificateGenerator.create({ subject: `CN=${name}`, issuer: issuer.x509.subject.replace(/\n/g, ', '), publicKey: keys.publicKey, signingKey: issuer.keys.privateKey, notBefore: NOT_BEFORE, notAfter: NOT_AFTER, extensions, signingAlgorithm: EC })
    : await x509.X509CertificateGenerator.createSelfSigned({ name: `CN=${name}`, keys, notBefore: NOT_BEFORE, notAfter: NOT_AFTER, extensions, signingAlgorithm: EC });
  return wrap(name, cert, keys, true);
}

export async function makeLeaf(name: string, publicKey: KeyObject, issuer: TestCert): Promise<TestCert> {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const alg = publicKey.asymmetricKeyType === 'rsa' ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } : EC;
  const pub = await webcrypto.subtle.importKey('spki', spki, alg, true, ['verify']);
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${name}`,
    issuer: issuer.x509.subject.replace(/\n/g, ', '),
    publicKey: pub,
    signingKey: issuer.keys.privateKey,
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
    signingAlgorithm: EC,
  });
  return wrap(name, cert, issuer.keys, false);
}

export interface TestTlsServerCert {
  /** PEM of the self-signed CA that issued the server certificate (what a client must trust). */
  caPem: string;
  /** PEM of the server certificate (SAN: the given DNS name). */
  certPem: string;
  /** PKCS#8 PEM of the server's private key. */
  keyPem: string;
}

/** A TLS server certificate for `dnsName` (default `localhost`) under a fresh test CA, valid around now. */
export async function makeTlsServerCert(dnsName = 'localhost'): Promise<TestTlsServerCert> {
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 3_600_000);
  const caKeys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=test TLS CA', keys: caKeys, signingAlgorithm: EC, notBefore, notAfter,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  const leafKeys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    subject: `CN=${dnsName}`, issuer: ca.subject, publicKey: leafKeys.publicKey, signingKey: caKeys.privateKey, signingAlgorithm: EC, notBefore, notAfter,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: dnsName }])],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey)).toString('base64').replace(/(.{64})/g, '$1\n');
  return { caPem: ca.toString('pem'), certPem: leaf.toString('pem'), keyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8}\n-----END PRIVATE KEY-----\n` };
}
