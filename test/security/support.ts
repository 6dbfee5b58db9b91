/** Shared set-up for the security-case tests: a real KBS on loopback (test/kbs/support/harness.ts) with one secret. */
import { startKbs, b64url, type TestKbs } from '../kbs/support/harness.js';
import { call } from '../kbs/support/rcar.js';
import { samplePolicy } from '../../src/kbs/resource-policy.js';
import type { CreateKbsOptions } from '../../src/kbs/bootstrap.js';

export const SECRET = 'the-secret-value';
export const RESOURCE = '/kbs/v0/resource/a/b/c';

export interface Ctx {
  k: TestKbs;
  admin: Record<string, string>;
  setPolicy(rego: string): Promise<number>;
}

/** KBS with `a/b/c` = SECRET and the given resource policy (allow_all unless told). */
export async function kbsWithSecret(
  t: { after(fn: () => Promise<void>): void },
  opts: CreateKbsOptions = {},
  policy: string | null = samplePolicy('allow_all'),
  raw: Record<string, unknown> = {},
): Promise<Ctx> {
  const k = await startKbs(raw, opts);
  t.after(() => k.stop());
  const admin = { authorization: `Bearer ${k.adminToken}` };
  const put = await call(k.url, 'POST', RESOURCE, { body: SECRET, headers: admin });
  if (put.status !== 200) throw new Error(`set resource: ${put.status} ${put.text}`);
  const setPolicy = async (rego: string) =>
    (await call(k.url, 'POST', '/kbs/v0/resource-policy', { body: JSON.stringify({ policy: b64url(rego) }), headers: admin })).status;
  if (policy !== null) {
    const s = await setPolicy(policy);
    if (s !== 200) throw new Error(`set policy: ${s}`);
  }
  return { k, admin, setPolicy };
}
