import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import '../../../src/verifiers/index.js';
import { verifierFactory, VerificationError } from '../../../src/verifiers/types.js';

const now = new Date('2026-06-01T00:00:00Z');
const digest = createHash('sha384').update('{"nonce":"n"}').digest();

async function get(tee: string) {
  const f = verifierFactory(tee);
  assert.ok(f, `${tee} registered`);
  return f({ config: {} });
}

test('sample: claims exactly as Trustee, init_data echoed as b64', async () => {
  const v = await get('sample');
  const initHash = createHash('sha256').update('init').digest();
  const out = await v.verify({
    evidence: { svn: '1', report_data: digest.toString('base64') },
    expectedReportData: new Uint8Array(digest),
    expectedInitDataHash: new Uint8Array(initHash),
    now,
  });
  assert.deepEqual(out, [
    {
      class: 'cpu',
      claims: {
        svn: '1',
        report_data: digest.toString('base64'),
        launch_digest: 'abcde',
        platform_version: { major: 1, minor: 4 },
        debug: false,
        init_data: initHash.toString('base64'),
      },
    },
  ]);
});

test('sample: report_data must match exactly (no padding, no truncation)', async () => {
  const v = await get('sample');
  const padded = Buffer.concat([digest, Buffer.alloc(16)]);
  for (const rd of [padded, digest.subarray(0, 32), Buffer.from(digest).fill(0, 0, 1)]) {
    await assert.rejects(
      v.verify({ evidence: { svn: '1', report_data: rd.toString('base64') }, expectedReportData: new Uint8Array(digest), now }),
      (e: unknown) => e instanceof VerificationError && e.code === 'ERR_REPORT_DATA_MISMATCH',
    );
  }
});

test('sample: malformed evidence is a typed error', async () => {
  const v = await get('sample');
  for (const ev of [null, [], 'x', { svn: 1, report_data: '' }, { svn: '1' }, { svn: '1', report_data: 'not base64!' }]) {
    await assert.rejects(v.verify({ evidence: ev as never, now }), (e: unknown) => e instanceof VerificationError && e.code === 'ERR_SAMPLE_EVIDENCE');
  }
});

test('sampledevice: gpu class, svn and report_data only', async () => {
  const v = await get('sampledevice');
  const out = await v.verify({ evidence: { svn: '2', report_data: digest.toString('base64') }, expectedReportData: new Uint8Array(digest), now });
  assert.deepEqual(out, [{ class: 'gpu', claims: { svn: '2', report_data: digest.toString('base64') } }]);
  await assert.rejects(v.verify({ evidence: { svn: '2', report_data: 'AAAA' }, expectedReportData: new Uint8Array(digest), now }));
});
