// bin/verify-evidence spawned on the real SNP vectors (README "now" 2025-06-01), offline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, readTestdata, testdataPath, testdataSkip } from '../support/testdata.js';

const skip = testdataSkip('snp');
const NOW = '2025-06-01T00:00:00Z';

function run(args: string[]) {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'verify-evidence'), ...args], { encoding: 'utf8', cwd: repoRoot });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('raw v2 report + --vcek verifies offline and prints the claims', { skip }, () => {
  const r = run(['--tee', 'snp', '--evidence', testdataPath('snp', 'test-report.bin'), '--vcek', testdataPath('snp', 'test-vcek.der'),
    '--trust-anchors', testdataPath('trust-anchors'), '--offline', '--now', NOW,
    '--report-data', 'ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { class: string; claims: Record<string, unknown> }[];
  assert.equal(out[0].class, 'cpu');
  assert.equal(out[0].claims.measurement, 'a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c');
  assert.equal(out[0].claims.reported_tcb_microcode, 115);
  assert.match(r.stderr, /warning: .*revocation/); // offline: CRL not checked, said so
});

test('sev-crate JSON evidence (coco-as e2e) verifies; wrong --report-data is rejected with one line', { skip: testdataSkip('coco-as/e2e/evidence.json') }, () => {
  const args = ['--tee', 'snp', '--evidence', testdataPath('coco-as', 'e2e', 'evidence.json'), '--trust-anchors', testdataPath('trust-anchors'), '--offline', '--now', NOW];
  const ok = run(args);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout)[0].claims.generation, 'Genoa');
  const bad = run([...args, '--report-data', 'ab'.repeat(48)]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, '');
  const lines = bad.stderr.trim().split('\n').filter((l) => l.startsWith('verify-evidence:'));
  assert.equal(lines.length, 1);
  assert.match(lines[0], /SNP_REPORT_DATA_MISMATCH/);
});

test('tampered report (byte 42) is rejected; unknown TEE is a usage error', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 've-'));
  const r = new Uint8Array(readTestdata('snp', 'test-report.bin'));
  r[42] ^= 0xff;
  writeFileSync(join(dir, 'bad.bin'), r);
  const bad = run(['--tee', 'snp', '--evidence', join(dir, 'bad.bin'), '--vcek', testdataPath('snp', 'test-vcek.der'), '--trust-anchors', testdataPath('trust-anchors'), '--offline', '--now', NOW]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /rejected \(SNP_SIGNATURE_INVALID\)/);
  const unknown = run(['--tee', 'nope', '--evidence', join(dir, 'bad.bin')]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown --tee "nope"/);
});
