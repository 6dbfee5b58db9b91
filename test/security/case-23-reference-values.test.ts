// security-cases.md #23: expired reference values are ignored, and an empty RV set never yields "affirming" —
// end to end through a real KBS (built-in AS + RVPS + sample verifier) with the resource policy `affirming`.
// RVPS-level expiry is also covered in test/rvps/rvps.test.ts, default_cpu on empty RVs in test/as/default-policies.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { samplePolicy } from '../../src/kbs/resource-policy.js';
import { b64url } from '../kbs/support/harness.js';
import { call, errorType, handshake } from '../kbs/support/rcar.js';
import { kbsWithSecret, RESOURCE } from './support.js';

// A CPU policy in the style of Trustee's integration tests: hardware 2 (affirming) only if the sample svn is a
// registered reference value, otherwise 97 (contraindicated).
const CPU_POLICY = `package policy
import rego.v1
default hardware := 97
hardware := 2 if {
  input.sample.svn in query_reference_value("svn")
}
trust_claims := {"hardware": hardware}
`;

const rvMessage = (o: Record<string, unknown>) =>
  JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from(JSON.stringify(o)).toString('base64') });

async function status(url: string) {
  const { token, cookie } = await handshake(url);
  const claims = decodeJwt(token) as { submods: { cpu0: Record<string, unknown> } };
  const r = await call(url, 'GET', RESOURCE, { headers: { cookie } });
  return { ear: claims.submods.cpu0['ear.status'], r };
}

test('#23 empty or missing RVs never give affirming; an RV past its expiration is ignored', async (t) => {
  let now = new Date();
  const { k, admin } = await kbsWithSecret(t, { clock: () => now }, samplePolicy('affirming'));
  const setCpu = await call(k.url, 'POST', '/kbs/v0/attestation-policy', { body: JSON.stringify({ policy_id: 'default_cpu', policy: b64url(CPU_POLICY) }), headers: admin });
  assert.equal(setCpu.status, 200, setCpu.text);
  const register = async (o: Record<string, unknown>) => {
    const r = await call(k.url, 'POST', '/kbs/v0/reference-value', { body: rvMessage(o), headers: { ...admin, 'content-type': 'application/json' } });
    assert.equal(r.status, 200, r.text);
  };

  // No RVs at all.
  let s = await status(k.url);
  assert.notEqual(s.ear, 'affirming');
  assert.equal(errorType(s.r), 'PolicyDeny');
  // An empty RV list for the name the policy asks for.
  await register({ svn: [] });
  s = await status(k.url);
  assert.notEqual(s.ear, 'affirming');
  assert.equal(errorType(s.r), 'PolicyDeny');
  // Control: the matching RV makes the same evidence affirming and the resource is released.
  await register({ svn: ['1'] });
  s = await status(k.url);
  assert.equal(s.ear, 'affirming');
  assert.equal(s.r.status, 200);
  // 13 months later the RV (valid 12 months) has expired: the same evidence is no longer affirming.
  now = new Date(now.getTime() + 396 * 24 * 3600 * 1000);
  s = await status(k.url);
  assert.notEqual(s.ear, 'affirming', 'an expired reference value was used');
  assert.equal(errorType(s.r), 'PolicyDeny');
});
