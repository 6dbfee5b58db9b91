import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { webcrypto, KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import './support/reflect-polyfill.js';
import * as x509 from '@peculiar/x509';
import { HttpTransport } from '../../src/client/http.js';
import { KbsClient } from '../../src/client/kbs-client.js';
import { KbsClientError } from '../../src/client/errors.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** A self-signed P-256 server certificate for 127.0.0.1, made by the test. */
async function selfSigned(): Promise<{ certPem: string; keyPem: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=kbs-client test',
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 86400_000),
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    signingAlgorithm: alg,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])],
  });
  const keyPem = KeyObject.from(keys.privateKey).export({ format: 'pem', type: 'pkcs8' }).toString();
  return { certPem: cert.toString('pem'), keyPem };
}

let server: https.Server | undefined;
after(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

test('--cert-file adds a trust root for an HTTPS KBS; without it the TLS handshake is refused', async () => {
  const { certPem, keyPem } = await selfSigned();
  const seen: string[] = [];
  server = https.createServer({ cert: certPem, key: keyPem }, (req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.setHeader('set-cookie', 'kbs-session-id=abc; Expires=Wed, 01 Jan 2031 00:00:00 GMT');
    res.end(JSON.stringify({ nonce: 'bm9uY2U=', 'extra-params': '' }));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const trusted = new HttpTransport({ url, extraCaPem: [certPem] });
  const ch = await new KbsClient({ transport: trusted }).auth();
  assert.equal(ch.nonce, 'bm9uY2U=');
  assert.equal(trusted.cookie('kbs-session-id'), 'abc');

  await assert.rejects(
    new KbsClient({ transport: new HttpTransport({ url }) }).auth(),
    (e: unknown) => e instanceof KbsClientError && e.code === 'ERR_HTTP' && e.step === 'auth',
  );
  assert.deepEqual(seen, ['POST /kbs/v0/auth']);
});
