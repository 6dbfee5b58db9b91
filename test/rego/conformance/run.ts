/**
 * OPA conformance runner: evaluates every case of <testdata>/opa-conformance/cases/** and compares results.
 *   node --import tsx test/rego/conformance/run.ts [--failures out.txt] [--filter substring] [--verbose]
 * Prints per-folder and total counts; the total line is exactly `N passed, N failed, N skipped`.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, RegoError } from '../../../src/rego/index.js';
import { parseTermText } from '../../../src/rego/parser.js';
import { constValue } from '../../../src/rego/compiler.js';
import { testdataPath } from '../../support/testdata.js';

export interface CaseResult {
  folder: string;
  note: string;
  status: 'pass' | 'fail' | 'skip';
  reason?: string;
}

export interface Summary {
  passed: number;
  failed: number;
  skipped: number;
  results: CaseResult[];
}

interface Case {
  note: string;
  query: string;
  modules?: string[];
  data?: unknown;
  input?: unknown;
  input_term?: string;
  want_result?: Record<string, unknown>[];
  want_error?: string;
  want_error_code?: string;
  sort_bindings?: boolean;
  strict_error?: boolean;
}

const SKIP_BUILTINS: Record<string, string> = {
  'http.send': 'needs network (http.send)',
  'net.lookup_ip_addr': 'needs network (net.lookup_ip_addr)',
  'time.now_ns': 'needs the wall clock (time.now_ns)',
  'opa.runtime': 'needs the OPA runtime (opa.runtime)',
};

function listFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) listFiles(p, out);
    else if (name.endsWith('.json')) out.push(p);
  }
  return out;
}

function canon(x: unknown): string {
  if (Array.isArray(x)) return '[' + x.map(canon).join(',') + ']';
  if (x && typeof x === 'object') {
    return '{' + Object.keys(x).sort().map((k) => JSON.stringify(k) + ':' + canon((x as Record<string, unknown>)[k])).join(',') + '}';
  }
  if (typeof x === 'number') return Number.isInteger(x) ? String(x) : String(x);
  return JSON.stringify(x);
}

function skipReason(c: Case): string | undefined {
  const text = (c.modules ?? []).join('\n') + '\n' + c.query;
  for (const [name, why] of Object.entries(SKIP_BUILTINS)) {
    if (text.includes(name + '(') || text.includes(name + ' ')) {
      // a case that mocks the built-in (`with time.now_ns as …`) does not depend on the network or the clock
      if (text.includes(`with ${name} as`)) continue;
      return why;
    }
  }
  return undefined;
}

function runCase(c: Case): { ok: boolean; reason?: string } {
  let got: Record<string, unknown>[];
  try {
    // Every case carries the planner's wrapper module (`package query` / `result[...]`) and some a partial-eval
    // fixture (`package topdown_test_partial`): artifacts of OPA's IR test generator, not part of the case's data.
    const modules = (c.modules ?? []).filter((m) => !/^package (query|topdown_test_partial)\b/.test(m));
    const policy = compile(modules.map((source, i) => ({ filename: `test-${i}.rego`, source })));
    let input: unknown = c.input;
    if (c.input_term !== undefined) {
      const t = parseTermText(c.input_term, 'input_term');
      const v = constValue(t);
      if (v === undefined) throw new Error('input_term is not a constant');
      input = v; // a Rego value (may hold sets): fromJSON passes it through
    }
    got = policy.evaluateBindings(c.query, { input, data: c.data ?? {}, strictBuiltinErrors: c.strict_error ?? false, now: new Date(Date.UTC(2024, 0, 1)) });
  } catch (e) {
    const code = e instanceof RegoError ? e.code : 'internal';
    const msg = e instanceof Error ? e.message : String(e);
    if (c.want_error_code || c.want_error) {
      if (c.want_error_code && c.want_error_code !== code) return { ok: false, reason: `want error code ${c.want_error_code}, got ${code}: ${msg}` };
      if (c.want_error && !msg.includes(c.want_error)) return { ok: false, reason: `want error containing ${JSON.stringify(c.want_error)}, got ${msg}` };
      return { ok: true };
    }
    return { ok: false, reason: `unexpected error: ${msg}${e instanceof RegoError ? '' : '\n' + (e as Error).stack?.split('\n').slice(1, 4).join('\n')}` };
  }
  if (c.want_error_code || c.want_error) return { ok: false, reason: `want error ${c.want_error_code ?? ''} ${c.want_error ?? ''}, got result ${JSON.stringify(got)}` };
  const want = c.want_result ?? [];
  let a = got.map(canon);
  let b = want.map(canon);
  if (c.sort_bindings) {
    a = a.sort();
    b = b.sort();
  }
  const ok = a.length === b.length && a.every((x, i) => x === b[i]);
  return ok ? { ok } : { ok, reason: `want ${JSON.stringify(want)}\n  got  ${JSON.stringify(got)}` };
}

export function runConformance(opts: { filter?: string } = {}): Summary {
  const root = testdataPath('opa-conformance', 'cases');
  const results: CaseResult[] = [];
  for (const file of listFiles(root)) {
    const folder = relative(root, file).split('/')[0]!;
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { cases?: Case[] };
    if (!Array.isArray(doc.cases)) continue;
    for (const c of doc.cases) {
      if (opts.filter && !c.note.includes(opts.filter) && !folder.includes(opts.filter)) continue;
      const skip = skipReason(c);
      if (skip) {
        results.push({ folder, note: c.note, status: 'skip', reason: skip });
        continue;
      }
      let r: { ok: boolean; reason?: string };
      try {
        r = runCase(c);
      } catch (e) {
        r = { ok: false, reason: `runner crash: ${(e as Error).message}` };
      }
      results.push({ folder, note: c.note, status: r.ok ? 'pass' : 'fail', reason: r.reason });
    }
  }
  return {
    passed: results.filter((r) => r.status === 'pass').length,
    failed: results.filter((r) => r.status === 'fail').length,
    skipped: results.filter((r) => r.status === 'skip').length,
    results,
  };
}

function main(argv: string[]): number {
  let failuresFile: string | undefined;
  let filter: string | undefined;
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--failures') failuresFile = argv[++i];
    else if (argv[i] === '--filter') filter = argv[++i];
    else if (argv[i] === '--verbose') verbose = true;
  }
  const s = runConformance({ filter });
  const byFolder = new Map<string, [number, number, number]>();
  for (const r of s.results) {
    const e = byFolder.get(r.folder) ?? [0, 0, 0];
    e[r.status === 'pass' ? 0 : r.status === 'fail' ? 1 : 2]++;
    byFolder.set(r.folder, e);
  }
  for (const [f, [p, fl, sk]] of [...byFolder].sort()) console.log(`${f}: ${p} passed, ${fl} failed, ${sk} skipped`);
  if (verbose) for (const r of s.results) if (r.status !== 'pass') console.log(`${r.status.toUpperCase()} ${r.note}: ${r.reason}`);
  if (failuresFile) {
    writeFileSync(failuresFile, s.results.filter((r) => r.status === 'fail').map((r) => `${r.note}\n  ${r.reason}\n`).join(''));
  }
  console.log(`${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
