/**
 * Public API of the Rego engine (see docs/rego.md).
 *
 *   const policy = compile([{ filename: 'policy.rego', source }], { builtins: [hostBuiltin] });
 *   const allow = policy.evaluate('data.policy.allow', { input });   // plain JSON in, plain JSON (or undefined) out
 */
import { createHash } from 'node:crypto';
import type { BuiltinDef } from './builtins/types.js';
import { STANDARD_BUILTINS } from './builtins/index.js';
import { checkJSON, forceDeep, lazyJSON, RegoObject, toJSON, type JsonValue, type Value } from './value.js';
import { RegoError } from './errors.js';
import { parseModule, parseQuery } from './parser.js';
import { buildCompiled, compileQueryParts, constValue, CORE_CALLS, type Compiled } from './compiler.js';
import { Evaluator, type Env } from './eval.js';
import type { Expr, Term } from './ast.js';

export type { BuiltinDef } from './builtins/types.js';
export type { Value, JsonValue } from './value.js';
export { RegoError } from './errors.js';

export interface RegoModule {
  filename: string;
  source: string;
}

export interface CompileOptions {
  /** Host built-ins (e.g. `query_reference_value`), added to the standard library. */
  builtins?: BuiltinDef[];
}

export interface EvalLimits {
  /** Maximum evaluation steps (default 1,000,000). */
  maxSteps?: number;
  /** Maximum wall time in ms (default 1,000). */
  maxMs?: number;
  /** Maximum call depth (default 256). */
  maxDepth?: number;
}

export interface EvaluateOptions {
  /** Plain JSON input document. */
  input?: unknown;
  /** Plain JSON base document merged under `data` (rules win on conflicts are an error, as in OPA). */
  data?: unknown;
  /** Clock for time.* built-ins (default: now). */
  now?: Date;
  limits?: EvalLimits;
  /** OPA's strict_builtin_errors. */
  strictBuiltinErrors?: boolean;
  /** Receives the output of print() calls (one line per call); without it print() is a no-op. */
  print?: (line: string) => void;
}

export interface CompiledPolicy {
  /** SHA-256 hex of the modules; compiled policies are cached by it. */
  readonly hash: string;
  /**
   * Evaluate a query (any Rego query text, or a ref such as `data.policy.allow`). Returns the value of the single
   * expression as plain JSON, or undefined when the query is undefined. Throws RegoError on errors.
   */
  evaluate(query: string, options?: EvaluateOptions): JsonValue | undefined;
  /**
   * All solutions of a query as variable bindings (OPA's result set): one object per solution, mapping each
   * user-named variable of the query to its value. `[]` when undefined.
   */
  evaluateBindings(query: string, options?: EvaluateOptions): Record<string, JsonValue>[];
  /** Like evaluate, but returns the Rego value (sets/non-string keys preserved). */
  evaluateValue(query: string, options?: EvaluateOptions): Value | undefined;
  /**
   * Evaluate several queries against one input/data in one evaluation context: results in query order, each as
   * `evaluate` returns it. Rule values computed for one query are reused by the next (as if they were one query);
   * the limits apply to the whole call.
   */
  evaluateMany(queries: readonly string[], options?: EvaluateOptions): (JsonValue | undefined)[];
  /**
   * The constant string arguments of every call to `builtinName` in the modules, or null when any call has a
   * non-constant first argument.
   */
  constantArgs(builtinName: string): string[] | null;
  /** All solutions with their bindings and the value of each query expression in source order (for `opa eval`-style output). */
  evaluateSolutions(query: string, options?: EvaluateOptions): QuerySolution[];
}

export interface QuerySolution {
  bindings: Record<string, JsonValue>;
  values: JsonValue[];
}

export const DEFAULT_LIMITS: Required<EvalLimits> = { maxSteps: 1_000_000, maxMs: 1_000, maxDepth: 256 };

/** Core built-ins the engine provides when the standard library does not (the few the core itself needs). */
function coreFallbacks(have: Set<string>): BuiltinDef[] {
  const out: BuiltinDef[] = [];
  if (!have.has('equal')) out.push({ name: 'equal', args: ['any', 'any'], result: 'boolean', fn: ([a, b]) => eq(a!, b!), infix: '==' });
  if (!have.has('neq')) out.push({ name: 'neq', args: ['any', 'any'], result: 'boolean', fn: ([a, b]) => !eq(a!, b!), infix: '!=' });
  return out;
}
import { equal as eq } from './value.js';

/** Compiled rule trees by SHA-256 of the module texts and the host built-in names/arities (LRU-ish, bounded). */
let stdLib: { list: BuiltinDef[]; map: Map<string, BuiltinDef> } | undefined;
/** The standard library plus the core's fallbacks, computed once. */
function standardLibrary(): { list: BuiltinDef[]; map: Map<string, BuiltinDef> } {
  if (!stdLib) {
    const names = new Set(STANDARD_BUILTINS.map((b) => b.name));
    const list = [...STANDARD_BUILTINS, ...coreFallbacks(names)];
    stdLib = { list, map: new Map(list.map((b) => [b.name, b])) };
  }
  return stdLib;
}

const cache = new Map<string, Compiled>();
const CACHE_MAX = 256;

export function compile(modules: RegoModule[], options: CompileOptions = {}): CompiledPolicy {
  const host = options.builtins ?? [];
  const h = createHash('sha256');
  for (const m of modules) {
    h.update(String(m.filename.length) + ':' + m.filename + '\0');
    h.update(String(m.source.length) + ':' + m.source + '\0');
  }
  for (const b of host) h.update('builtin:' + b.name + '/' + b.args.length + '\0');
  const hash = h.digest('hex');
  const std = standardLibrary();
  const seen = new Set<string>();
  for (const b of host) {
    if (std.map.has(b.name) || b.name in CORE_CALLS) throw new RegoError('rego_compile_error', `host built-in ${b.name} clashes with a standard built-in`);
    if (seen.has(b.name)) throw new RegoError('rego_compile_error', `host built-in ${b.name} given twice`);
    seen.add(b.name);
  }
  let compiled = cache.get(hash);
  if (compiled) {
    // same modules and host built-in names: reuse the rule tree, bind this call's host implementations
    if (host.length > 0) {
      const builtins = new Map(std.map);
      for (const b of host) builtins.set(b.name, b);
      compiled = { ...compiled, builtins };
    }
  } else {
    try {
      compiled = buildCompiled(modules.map((m) => parseModule(m.source, m.filename)), [...std.list, ...host]);
    } catch (e) {
      if (e instanceof RangeError) throw new RegoError('rego_compile_error', 'policy is nested too deeply to compile');
      throw e;
    }
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(hash, compiled);
  }
  return new Policy(hash, compiled);
}

interface CompiledQuery {
  body: Expr[];
  /** Resolved expressions in source order. */
  resolved: Expr[];
  /** When the query is a single term expression: the term. */
  term: Term | undefined;
  vars: string[];
}

/**
 * The input/data document as a Rego value: checked up front (what fromJSON rejects is rejected here, before any
 * evaluation), then wrapped lazily so that only the parts a policy reads are converted.
 */
function toValue(x: unknown, what: string): Value {
  try {
    checkJSON(x);
    return lazyJSON(x);
  } catch (e) {
    const why = e instanceof RangeError ? 'nested too deeply or cyclic' : e instanceof Error ? e.message : String(e);
    throw new RegoError('eval_type_error', `the ${what} document is not JSON data: ${why}`);
  }
}

const queryCaches = new WeakMap<object, Map<string, CompiledQuery>>();

class Policy implements CompiledPolicy {
  private readonly queries: Map<string, CompiledQuery>;

  constructor(
    readonly hash: string,
    private readonly compiled: Compiled,
  ) {
    // compiled queries are shared by every policy object built from the same cached rule tree
    let q = queryCaches.get(compiled.rulesets);
    if (!q) queryCaches.set(compiled.rulesets, (q = new Map()));
    this.queries = q;
  }

  private query(text: string): CompiledQuery {
    let q = this.queries.get(text);
    if (!q) {
      const exprs = parseQuery(text);
      const { body, resolved } = compileQueryParts(exprs, this.compiled);
      const vars = new Set<string>();
      const collect = (t: Term): void => {
        if (t.type === 'var') {
          if (!t.name.startsWith('$') && t.name !== 'input' && t.name !== 'data') vars.add(t.name);
        } else if (t.type === 'ref') {
          collect(t.head);
          t.path.forEach(collect);
        } else if (t.type === 'array' || t.type === 'set') t.items.forEach(collect);
        else if (t.type === 'object') t.items.forEach(([a, b]) => (collect(a), collect(b)));
        else if (t.type === 'call') t.args.forEach(collect);
      };
      for (const e of exprs) {
        if (e.kind === 'term') collect(e.term);
        else if (e.kind === 'unify' || e.kind === 'assign') {
          collect(e.left);
          collect(e.right);
        } else if (e.kind === 'somein') {
          if (e.key) collect(e.key);
          collect(e.value);
        } else if (e.kind === 'some') e.vars.forEach((v) => vars.add(v));
      }
      const single = body.length === 1 && body[0]!.kind === 'term' && body[0]!.withs.length === 0 ? (body[0] as Expr & { kind: 'term' }).term : undefined;
      q = { body, resolved, term: single, vars: [...vars] };
      if (this.queries.size > 1000) this.queries.clear();
      this.queries.set(text, q);
    }
    return q;
  }

  private evaluator(options: EvaluateOptions): Evaluator {
    const l = options.limits;
    const nowMs = options.now === undefined ? Date.now() : options.now.getTime();
    if (!Number.isFinite(nowMs)) throw new RegoError('eval_type_error', 'the evaluation clock (now) is not a valid date');
    const input = options.input === undefined ? undefined : toValue(options.input, 'input');
    const data = options.data === undefined ? RegoObject.EMPTY : toValue(options.data, 'data');
    if (!(data instanceof RegoObject)) throw new RegoError('eval_type_error', 'the base data document must be a JSON object');
    return new Evaluator(this.compiled, input, data, {
      maxSteps: l?.maxSteps ?? DEFAULT_LIMITS.maxSteps,
      maxMs: l?.maxMs ?? DEFAULT_LIMITS.maxMs,
      maxDepth: l?.maxDepth ?? DEFAULT_LIMITS.maxDepth,
      strict: options.strictBuiltinErrors ?? false,
      nowMs,
      print: options.print,
    });
  }

  private run<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof RegoError) throw e;
      let err: RegoError;
      if (e instanceof RangeError) err = new RegoError('eval_limit_error', /call stack/i.test(e.message) ? 'evaluation exceeded the maximum stack depth' : `evaluation exceeded a resource limit: ${e.message}`);
      else err = new RegoError('eval_internal_error', `internal error: ${e instanceof Error ? e.message : String(e)}`);
      (err as { cause?: unknown }).cause = e;
      throw err;
    }
  }

  /** First solution of a compiled query in an evaluator (no error mapping: callers wrap it in run). */
  private firstSolution(q: CompiledQuery, ev: Evaluator): Value | undefined {
    const env: Env = new Map();
    if (q.term) return ev.firstValue(q.term, env);
    let out: Value | undefined;
    ev.evalBody(q.body, 0, env, () => {
      if (q.vars.length === 0) out = true;
      else out = new RegoObject(q.vars.filter((v) => env.has(v)).map((v) => [v, env.get(v)!] as [Value, Value]));
      return true;
    });
    return out;
  }

  evaluateValue(query: string, options: EvaluateOptions = {}): Value | undefined {
    const q = this.query(query);
    const ev = this.evaluator(options);
    return this.run(() => {
      const v = this.firstSolution(q, ev);
      // a returned value must not keep reading the caller's (mutable) input/data objects
      return v === undefined ? undefined : forceDeep(v);
    });
  }

  evaluate(query: string, options: EvaluateOptions = {}): JsonValue | undefined {
    const q = this.query(query);
    const ev = this.evaluator(options);
    return this.run(() => {
      const v = this.firstSolution(q, ev);
      return v === undefined ? undefined : toJSON(v);
    });
  }

  evaluateMany(queries: readonly string[], options: EvaluateOptions = {}): (JsonValue | undefined)[] {
    const qs = queries.map((text) => this.query(text));
    const ev = this.evaluator(options);
    return this.run(() => {
      const out: (JsonValue | undefined)[] = new Array(qs.length);
      for (let i = 0; i < qs.length; i++) {
        const v = this.firstSolution(qs[i]!, ev);
        out[i] = v === undefined ? undefined : toJSON(v);
      }
      return out;
    });
  }

  evaluateBindings(query: string, options: EvaluateOptions = {}): Record<string, JsonValue>[] {
    const q = this.query(query);
    const ev = this.evaluator(options);
    return this.run(() => {
      const out: Record<string, JsonValue>[] = [];
      const env: Env = new Map();
      ev.evalBody(q.body, 0, env, () => {
        const row: Record<string, JsonValue> = {};
        for (const v of q.vars) {
          const x = env.get(v);
          if (x !== undefined) row[v] = toJSON(x);
        }
        out.push(row);
        return false;
      });
      return out;
    });
  }

  evaluateSolutions(query: string, options: EvaluateOptions = {}): QuerySolution[] {
    const q = this.query(query);
    const ev = this.evaluator(options);
    return this.run(() => {
      const out: QuerySolution[] = [];
      const env: Env = new Map();
      ev.evalBody(q.body, 0, env, () => {
        const bindings: Record<string, JsonValue> = {};
        for (const v of q.vars) {
          const x = env.get(v);
          if (x !== undefined) bindings[v] = toJSON(x);
        }
        const values = q.resolved.map((e) => {
          if (e.kind !== 'term') return true;
          const v = ev.firstValue(e.term, env);
          return v === undefined ? null : toJSON(v);
        });
        out.push({ bindings, values });
        return false;
      });
      return out;
    });
  }

  constantArgs(builtinName: string): string[] | null {
    const out = new Set<string>();
    for (const c of this.compiled.calls) {
      if (c.type !== 'call' || c.target?.kind !== 'builtin' || c.target.name !== builtinName) continue;
      const a = c.args[0];
      const v = a ? constValue(a) : undefined;
      if (typeof v !== 'string') return null;
      out.add(v);
    }
    return [...out].sort();
  }
}
