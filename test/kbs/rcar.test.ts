import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KbsClient } from '../../src/client/kbs-client.js';
import { HttpTransport } from '../../src/client/http.js';
import { samplePolicy } from '../../src/kbs/resource-policy.js';
import { startKbs } from './support/harness.js';

test('RCAR end to end with the built-in AS and the sample TEE', async (t) => {
  const k = await startKbs();
  t.after(() => k.stop());
  const admin = new KbsClient({ transport: new HttpTransport({ url: k.url }), adminToken: k.adminToken });
  const secret = Buffer.from('the secret \x00\xff bytes');
  await admin.setResource('one/two/three', secret);

  // The default policy refuses tokens of the sample TEE (no hardware root of trust).
  const guest = new KbsClient({ transport: new HttpTransport({ url: k.url }) });
  await assert.rejects(guest.getResource('one/two/three'));

  await admin.setResourcePolicy(samplePolicy('allow_all'));
  const guest2 = new KbsClient({ transport: new HttpTransport({ url: k.url }) });
  const got = await guest2.getResource('one/two/three');
  assert.deepEqual(got, secret);

  await admin.setResourcePolicy(samplePolicy('deny_all'));
  const guest3 = new KbsClient({ transport: new HttpTransport({ url: k.url }) });
  await assert.rejects(guest3.getResource('one/two/three'));
});
