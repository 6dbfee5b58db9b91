/**
 * Verifier benchmark: one SNP report and one TDX quote verified with warm caches, as ratios to the raw signature
 * checks they cannot avoid (measured in the same run by bench/crypto.ts).
 *   SNP  coco-as/e2e/evidence.json (Genoa, VCEK chain) at now = 2025-06-01   target ≤ 1.3 × one ECDSA P-384 verify
 *   TDX  tdx/tdx_quote_6.dat + real tcbInfo/QE identity at now = 2025-11-01  target ≤ 2.5 × two ECDSA P-256 verifies
 * The verifiers are built and called exactly as their tests do (test/verifiers/snp/real-vectors.test.ts,
 * test/verifiers/dcap/realdata.test.ts). A missing verifier or missing test data prints why and skips that line.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { CryptoBaseline } from './crypto.js';
import { measure, printSamples, type Sample } from './harness.js';
import { TESTDATA, testdataPath } from '../test/support/testdata.js';
import type { Json, Verifier } from '../src/verifiers/types.js';

const SNP_NOW = new Date('2025-06-01T00:00:00Z');
const TDX_NOW = new Date('2025-11-01T00:00:00Z');
const SNP_REPORT_DATA =
  '7e7320889600c7ac133aea7b896c51f41026002982292a7369559796999c1bf929eef3ff23c46e858f0b1982f9a92b17c51b578d958cde6b0c92978f150cf9b0';
const TDX_REPORT_DATA = '26cae1c77185617fb6a03fc29bf1f924596e52352b9b7594940b576ae126cd4a570cc3202a900c5d19a6eb0a95b32cfd';

function missing(...parts: string[]): string | undefined {
  const p = testdataPath(...parts);
  return existsSync(p) ? undefined : p;
}

function ratioLine(label: string, s: Sample, denomUs: number, denomName: string, target: number): void {
  const r = s.medianUs / denomUs;
  console.log(`${label.padEnd(52)} ${r.toFixed(2)}× ${denomName} (target ≤ ${target}×: ${r <= target ? 'met' : 'NOT met'})`);
}

/** A verifier must accept the evidence once before it is timed, or the line is skipped. */
async function checked(name: string, v: Verifier, input: Parameters<Verifier['verify']>[0]): Promise<boolean> {
  try {
    const sets = await v.verify(input);
    if (sets.length === 0) throw new Error('no claim set');
    return true;
  } catch (e) {
    console.log(`${name}: skipped, the verifier rejects the reference evidence: ${(e as Error).message}`);
    return false;
  }
}

async function benchSnp(baseline: CryptoBaseline): Promise<Sample | undefined> {
  const gone = missing('coco-as', 'e2e', 'evidence.json') ?? missing('trust-anchors', 'genoa_ask_ark_asvk.pem');
  if (gone) {
    console.log(`SNP: skipped, test data missing: ${gone}`);
    return undefined;
  }
  let SnpVerifier: typeof import('../src/verifiers/snp/verifier.js').SnpVerifier;
  try {
    ({ SnpVerifier } = await import('../src/verifiers/snp/verifier.js'));
  } catch (e) {
    console.log(`SNP: skipped, verifier not loadable: ${(e as Error).message}`);
    return undefined;
  }
  const v = new SnpVerifier({
    config: { snp_verifier: { trust_anchors_dir: testdataPath('trust-anchors'), crl: 'best-effort' } },
    log: { warn: () => {}, info: () => {} },
  });
  const evidence = JSON.parse(readFileSync(testdataPath('coco-as', 'e2e', 'evidence.json'), 'utf8')) as Json;
  const input = { evidence, now: SNP_NOW, expectedReportData: Buffer.from(SNP_REPORT_DATA, 'hex'), expectedInitDataHash: new Uint8Array(32) };
  if (!(await checked('SNP', v, input))) return undefined;
  const s = await measure('SNP verify, e2e/evidence.json (Genoa, warm)', () => v.verify(input), { warmup: 50 });
  printSamples('verifiers: SNP (ratio to one ECDSA P-384 verify)', [s], baseline.ecdsaP384Verify);
  ratioLine('SNP verify / ECDSA P-384 verify', s, baseline.ecdsaP384Verify.medianUs, 'P-384 verify', 1.3);
  return s;
}

async function benchTdx(baseline: CryptoBaseline): Promise<Sample | undefined> {
  const gone =
    missing('tdx', 'tdx_quote_6.dat') ?? missing('tdx', 'tcbInfo.json') ?? missing('tdx', 'enclaveIdentity.json') ?? missing('trust-anchors', 'Intel_SGX_TCB_Signing_chain.pem');
  if (gone) {
    console.log(`TDX: skipped, test data missing: ${gone}`);
    return undefined;
  }
  let createDcapVerifier: typeof import('../src/verifiers/dcap/index.js').createDcapVerifier;
  try {
    ({ createDcapVerifier } = await import('../src/verifiers/dcap/index.js'));
  } catch (e) {
    console.log(`TDX: skipped, verifier not loadable: ${(e as Error).message}`);
    return undefined;
  }
  const enc = (s: string) => JSON.stringify(encodeURIComponent(s));
  const chain = readFileSync(testdataPath('trust-anchors', 'Intel_SGX_TCB_Signing_chain.pem'), 'latin1');
  // The collateral file as the file:// source reads it, with Intel's PCS bodies embedded verbatim (as the DCAP test).
  const file =
    `{"collaterals":{"tcbinfos":[{"fmspc":"00A06D080000","tdx_tcbinfo":${readFileSync(testdataPath('tdx', 'tcbInfo.json'), 'utf8')}}],` +
    `"tdqeidentity":${readFileSync(testdataPath('tdx', 'enclaveIdentity.json'), 'utf8')},` +
    `"certificates":{"TCB-Info-Issuer-Chain":${enc(chain)},"SGX-Enclave-Identity-Issuer-Chain":${enc(chain)}},"rootcacrl":""}}`;
  const path = '/etc/keybroker/collateral.json';
  // The test set has no Intel CRLs and its TCB Signing certificate expired 2025-05-21 (testdata README, tdx/):
  // the same two named insecure switches as the DCAP real-data test; every signature is still checked.
  const v = createDcapVerifier(
    'tdx',
    {
      config: {
        dcap_verifier: { collateral_service: `file://${path}`, insecure_allow_missing_crls: true, insecure_allow_expired_tcb_signing_cert: true },
      },
      log: { warn: () => {}, info: () => {} },
    },
    { readText: async (p) => (p === path ? file : Promise.reject(new Error('ENOENT'))) },
  );
  const quote = readFileSync(testdataPath('tdx', 'tdx_quote_6.dat'));
  const input = { evidence: { quote: quote.toString('base64'), cc_eventlog: null }, expectedReportData: Buffer.from(TDX_REPORT_DATA, 'hex'), now: TDX_NOW };
  if (!(await checked('TDX', v, input))) return undefined;
  const s = await measure('TDX verify, tdx_quote_6.dat (warm collateral)', () => v.verify(input), { warmup: 50 });
  printSamples('verifiers: TDX (ratio to one ECDSA P-256 verify)', [s], baseline.ecdsaP256Verify);
  ratioLine('TDX verify / 2 × ECDSA P-256 verify', s, 2 * baseline.ecdsaP256Verify.medianUs, '(2 × P-256 verify)', 2.5);
  return s;
}

export async function benchVerifiers(baseline: CryptoBaseline): Promise<void> {
  console.log(`\n## verifiers (test data: ${TESTDATA})`);
  await benchSnp(baseline);
  await benchTdx(baseline);
}
