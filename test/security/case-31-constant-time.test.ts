// security-cases.md #31: nonce / hash comparisons in constant time. This is a STATIC check over the source (a
// timing test would be flaky and is forbidden by the house rules): it finds comparisons of report data, init-data
// digests and nonces, and requires them to go through crypto.timingSafeEqual — directly, or through the shared
// constant-time helper `bytesEqual` in src/util/bytes.ts (which is itself checked to use timingSafeEqual).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const SUBJECT = /report_?data|init_?data_?(hash|digest)?|initDataHash|\bnonce\b|challenge\.nonce|digest/i;
/** `a.equals(b)` or `x !== y` / `x === y` where neither side is a literal, undefined, a length, a typeof or a type tag. */
const VARIABLE_COMPARE = /\.equals\(|(?<![=!])[!=]==\s*(?!undefined|null|true|false|'|"|`|\d|[A-Z_]{3,}\b)[A-Za-z_$][\w$.[\]]*/;
const BENIGN = /\.length\s*[!=]==|typeof |\.kind\s*[!=]==|\.state\s*[!=]==|\.tee\s*[!=]==|\.alg\w*\s*[!=]==|hashAlg|algId|=== 'string'/;

/** Lines that compare secrets-adjacent binding values without timingSafeEqual. */
function variableTimeComparisons(): string[] {
  const out: string[] = [];
  for (const dir of ['src/verifiers', 'src/kbs', 'src/as']) {
    for (const file of tsFiles(join(ROOT, dir))) {
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        const code = line.replace(/\/\/.*$/, '');
        if (/^\s*\*/.test(code) || /timingSafeEqual|bytesEqual/.test(code)) return;
        if (SUBJECT.test(code) && VARIABLE_COMPARE.test(code) && !BENIGN.test(code)) out.push(`${relative(ROOT, file)}:${i + 1}: ${code.trim()}`);
      });
    }
  }
  return out;
}

test('#31 (static) report-data / init-data / nonce binding checks in the verifiers use timingSafeEqual', () => {
  const binders = [
    'src/verifiers/sample/verifier.ts',
    'src/verifiers/snp/validate.ts',
    'src/verifiers/tpm/verify.ts',
    'src/verifiers/az-snp-vtpm/hcl.ts',
    'src/verifiers/az-snp-vtpm/verifier.ts',
    'src/verifiers/dcap/verify.ts',
  ];
  for (const f of binders) {
    const src = readFileSync(join(ROOT, f), 'utf8');
    const direct = /import \{[^}]*\btimingSafeEqual\b[^}]*\} from 'node:crypto'/.test(src) && /timingSafeEqual\(/.test(src);
    const shared = /import \{[^}]*\bbytesEqual\b[^}]*\} from '[./]*util\/bytes\.js'/.test(src) && /bytesEqual\b/.test(src.replace(/^import .*$/gm, ''));
    assert.ok(direct || shared, `${f} compares binding values neither with timingSafeEqual nor with util/bytes bytesEqual`);
  }
  // The shared helper really is constant time.
  const helper = readFileSync(join(ROOT, 'src/util/bytes.ts'), 'utf8');
  assert.match(helper, /export function bytesEqual[\s\S]*timingSafeEqual\(a, b\)/);
});

test('#31 (static) the detector finds a variable-time comparison when one is written (control)', () => {
  const line = '      if (!Buffer.from(expectedReportData).equals(Buffer.from(reportData))) {';
  assert.ok(SUBJECT.test(line) && VARIABLE_COMPARE.test(line) && !BENIGN.test(line));
  const nonce = "if (body.nonce !== session.challenge.nonce) throw new AttestationError('x');";
  assert.ok(SUBJECT.test(nonce) && VARIABLE_COMPARE.test(nonce) && !BENIGN.test(nonce));
  const fine = 'const ok = ev.reportData.length === expected.length && timingSafeEqual(ev.reportData, expected);';
  assert.ok(/timingSafeEqual/.test(fine));
});

test('#31 (static) no variable-time comparison of report data, init-data digests or nonces anywhere in kbs/as/verifiers', () => {
  assert.deepEqual(variableTimeComparisons(), []);
});

test('#31 (static) the KBS compares challenge nonces through the constant-time nonceMatches helper', () => {
  const session = readFileSync(join(ROOT, 'src/kbs/session.ts'), 'utf8');
  // The helper compares UTF-8 bytes with util/bytes bytesEqual (itself checked above to use timingSafeEqual).
  assert.match(session, /import \{[^}]*\bbytesEqual\b[^}]*\} from '\.\.\/util\/bytes\.js'/);
  assert.match(session, /export function nonceMatches\(a: string, b: string\): boolean \{\s*return bytesEqual\(Buffer\.from\(a, 'utf8'\), Buffer\.from\(b, 'utf8'\)\);/);
  // consumeChallenge (whose line also tests .state, which the generic detector treats as benign) uses it.
  assert.match(session, /!nonceMatches\(s\.challenge\.nonce, nonce\)/);
  assert.doesNotMatch(session, /challenge\.nonce\s*[!=]==/);
  const attest = readFileSync(join(ROOT, 'src/kbs/routes/attest.ts'), 'utf8');
  assert.match(attest, /!nonceMatches\(body\.nonce, session\.challenge\.nonce\)/);
  assert.doesNotMatch(attest, /nonce\s*[!=]==/);
});
