import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { HttpTransport } from '../../src/client/http.js';
import { KbsClient } from '../../src/client/kbs-client.js';
import { KbsClientError } from '../../src/client/errors.js';
import { selfSignedServerCert } from './support/tls.js';

let server: https.Server | undefined;
after(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

test('--cert-file adds a trust root for an HTTPS KBS; without it the TLS handshake is refused', async () => {
  const { certPem, keyPem } = await selfSignedServerCert();
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
