// bin/verify-evidence --tee tdx with an offline collateral file in the PCS client tool format (issue: Intel DCAP
// verifiers, item 8), on the real tdx_quote_6.dat and the real Intel PCS bodies (README tdx/: OutOfDate; the
// collateral needs now in [2025-10-28, 2025-11-26]; the TCB Signing cert expired 2025-05-21 and the folder has no
// CRLs, so the two documented insecure switches are named in a --config file and the CLI must warn about them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, readTestdata, testdataPath, testdataSkip } from '../support/testdata.js';

const skip = testdataSkip('tdx/tcbInfo.json') || testdataSkip('trust-anchors/Intel_SGX_TCB_Signing_chain.pem');
const NOW = '2025-11-01T00:00:00Z';
const REPORT_DATA = '26cae1c77185617fb6a03fc29bf1f924596e52352b9b7594940b576ae126cd4a570cc3202a900c5d19a6eb0a95b32cfd';

function run(args: string[]) {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'verify-evidence'), ...args], { encoding: 'utf8', cwd: repoRoot });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function fixtures(): { dir: string; collateral: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kb-ve-tdx-'));
  const enc = (s: string) => JSON.stringify(encodeURIComponent(s));
  const chain = readTestdata('trust-anchors', 'Intel_SGX_TCB_Signing_chain.pem').toString('latin1');
  // Intel's bodies are embedded byte for byte, so the signed member text is unchanged.
  const text =
    `{"collaterals":{"tcbinfos":[{"fmspc":"00A06D080000","tdx_tcbinfo":${readTestdata('tdx', 'tcbInfo.json').toString('utf8')}}],` +
    `"tdqeidentity":${readTestdata('tdx', 'enclaveIdentity.json').toString('utf8')},` +
    `"certificates":{"TCB-Info-Issuer-Chain":${enc(chain)},"SGX-Enclave-Identity-Issuer-Chain":${enc(chain)}},"rootcacrl":""}}`;
  const collateral = join(dir, 'collateral.json');
  writeFileSync(collateral, text);
  const config = join(dir, 'verifier.json');
  writeFileSync(config, JSON.stringify({ dcap_verifier: { insecure_allow_missing_crls: true, insecure_allow_expired_tcb_signing_cert: true } }));
  return { dir, collateral, config };
}

test('verify-evidence --tee tdx --collateral: real quote 6 verifies, status OutOfDate, insecure switches warned', { skip }, () => {
  const f = fixtures();
  const r = run(['--tee', 'tdx', '--evidence', testdataPath('tdx', 'tdx_quote_6.dat'), '--collateral', f.collateral, '--config', f.config,
    '--now', NOW, '--report-data', REPORT_DATA, '--offline']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { class: string; claims: Record<string, any> }[];
  assert.equal(out[0].class, 'cpu');
  assert.equal(out[0].claims.tcb_status, 'OutOfDate');
  assert.equal(out[0].claims.quote.body.mr_td, '21e8dead92d6c69d7cbba79816686c03a48485c7df0c11f6f04792d5e1d378f6b8c46615ba6946adccac6becffbb1e88');
  assert.match(r.stderr, /insecure/i);
});

test('verify-evidence --tee tdx: wrong report data, expired collateral, missing collateral each rejected with one line', { skip }, () => {
  const f = fixtures();
  const base = ['--tee', 'tdx', '--evidence', testdataPath('tdx', 'tdx_quote_6.dat'), '--collateral', f.collateral, '--config', f.config, '--offline'];
  for (const [extra, code] of [
    [['--now', NOW, '--report-data', 'ab'.repeat(48)], /REPORT_DATA_MISMATCH/],
    [['--now', '2025-12-01T00:00:00Z'], /COLLATERAL_EXPIRED/],
  ] as const) {
    const r = run([...base, ...extra]);
    assert.equal(r.code, 1, r.stdout);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('verify-evidence:'));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, code);
  }
  const none = run(['--tee', 'tdx', '--evidence', testdataPath('tdx', 'tdx_quote_6.dat'), '--now', NOW, '--offline']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /COLLATERAL/);
});
