/**
 * `rego`: evaluate Rego policies from the command line, shaped like `opa eval`.
 *   bin/rego eval -d policy.rego -d data.json [-i input.json] [--format json|raw] 'data.policy.allow'
 * json prints {"result":[{"expressions":[{"value":…,"text":"<query>","location":{"row":1,"col":1}}]}]} ({} when
 * undefined); raw prints the bare value of the first expression. Errors go to stderr, exit 1; usage errors exit 2.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { compile, RegoError, type RegoModule } from '../rego/index.js';
import { parseQuery } from '../rego/parser.js';

interface EvalFlags {
  data: string[];
  input?: string;
  format: string;
  strictBuiltinErrors?: boolean;
}

function collectFiles(path: string, out: string[]): void {
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path).sort()) {
      const p = join(path, name);
      if (statSync(p).isDirectory() || name.endsWith('.rego') || name.endsWith('.json')) collectFiles(p, out);
    }
  } else out.push(path);
}

function mergeInto(target: Record<string, unknown>, src: unknown, file: string): void {
  if (src === null || typeof src !== 'object' || Array.isArray(src)) throw new Error(`${file}: data file must hold a JSON object`);
  for (const [k, v] of Object.entries(src as Record<string, unknown>)) {
    const cur = target[k];
    if (cur && typeof cur === 'object' && !Array.isArray(cur) && v && typeof v === 'object' && !Array.isArray(v)) mergeInto(cur as Record<string, unknown>, v, file);
    else if (cur !== undefined) throw new Error(`${file}: data conflict at key ${JSON.stringify(k)}`);
    else target[k] = v;
  }
}

function runEval(query: string, flags: EvalFlags, out: (s: string) => void, err: (s: string) => void): void {
  const files: string[] = [];
  for (const d of flags.data) collectFiles(d, files);
  const modules: RegoModule[] = [];
  const data: Record<string, unknown> = {};
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    if (f.endsWith('.json')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        throw new Error(`${f}: invalid JSON: ${(e as Error).message}`);
      }
      mergeInto(data, parsed, f);
    } else modules.push({ filename: f, source: text });
  }
  let input: unknown;
  if (flags.input !== undefined) {
    try {
      input = JSON.parse(readFileSync(flags.input, 'utf8'));
    } catch (e) {
      throw new Error(`${flags.input}: ${(e as Error).message}`);
    }
  }
  const policy = compile(modules);
  const sols = policy.evaluateSolutions(query, { input, data, strictBuiltinErrors: flags.strictBuiltinErrors, print: err });
  if (flags.format === 'raw') {
    if (sols.length === 0) return;
    const v = sols[0]!.values[0];
    out(typeof v === 'string' ? v : JSON.stringify(v));
    return;
  }
  if (sols.length === 0) {
    out('{}');
    return;
  }
  const exprs = expressionTexts(query);
  const result = sols.map((s) => {
    const row: Record<string, unknown> = {
      expressions: s.values.map((value, i) => ({ value, text: exprs[i]?.text ?? query, location: exprs[i]?.location ?? { row: 1, col: 1 } })),
    };
    if (Object.keys(s.bindings).length > 0) row.bindings = s.bindings;
    return row;
  });
  out(JSON.stringify({ result }, null, 2));
}

/** Source text and position of each expression of a query, as `opa eval` reports them. */
function expressionTexts(query: string): { text: string; location: { row: number; col: number } }[] {
  const exprs = parseQuery(query);
  const lines = query.split('\n');
  const offset = (row: number, col: number) => lines.slice(0, row - 1).reduce((n, l) => n + l.length + 1, 0) + col - 1;
  return exprs.map((e, i) => {
    const start = offset(e.loc.row, e.loc.col);
    const next = exprs[i + 1];
    const end = next ? offset(next.loc.row, next.loc.col) : query.length;
    const text = query.slice(start, end).trim().replace(/;$/, '').trim();
    return { text, location: { row: e.loc.row, col: e.loc.col } };
  });
}

export async function main(argv: string[], io: { stdout: (s: string) => void; stderr: (s: string) => void } = { stdout: (s) => process.stdout.write(s + '\n'), stderr: (s) => process.stderr.write(s + '\n') }): Promise<number> {
  let code = 0;
  const program = new Command('rego')
    .description('Evaluate Rego policies (Keybroker engine), like `opa eval`')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s.trimEnd()), writeErr: (s) => io.stderr(s.trimEnd()) });
  program
    .command('eval')
    .description('evaluate a query')
    .argument('<query>', 'Rego query, e.g. data.policy.allow')
    .option('-d, --data <path>', '.rego or .json file or directory (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('-i, --input <file>', 'input document (JSON)')
    .option('-f, --format <format>', 'output format: json or raw', 'json')
    .option('--strict-builtin-errors', 'treat built-in errors as fatal')
    .action((query: string, flags: EvalFlags) => {
      if (flags.format !== 'json' && flags.format !== 'raw') {
        io.stderr(`rego: unknown format ${JSON.stringify(flags.format)} (json or raw)`);
        code = 2;
        return;
      }
      try {
        runEval(query, flags, io.stdout, io.stderr);
      } catch (e) {
        io.stderr(e instanceof RegoError ? e.message : `rego: ${(e as Error).message}`);
        code = 1;
      }
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  return code;
}
