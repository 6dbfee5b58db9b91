/**
 * Top-down evaluator with backtracking, in continuation-passing style: every step calls a continuation `k` for each
 * solution; a continuation returns true to stop the search (first solution is enough), false to ask for more.
 */
import { RegoError, type Location } from './errors.js';
import type { Expr, Term } from './ast.js';
import { CORE_CALLS, constValue, type Compiled, type CRule, type Node, type RuleSet } from './compiler.js';
import type { BuiltinContext, BuiltinDef } from './builtins/types.js';
import { equal, fromJSON, isNumber, jsonText, normNum, ObjectBuilder, RegoObject, RegoSet, type Value } from './value.js';
import { parseModule } from './parser.js';
import { moduleJSON } from './astjson.js';

export type Env = Map<string, Value>;
type K = () => boolean;
type KV = (v: Value) => boolean;

const UNDEF = Symbol('undefined');
const NO_LOC: Location = { file: '', row: 0, col: 0 };
function K_STOP(): boolean {
  return true;
}
type Memo = Map<number, Value | typeof UNDEF>;

interface FnOverride {
  fn?: { kind: 'builtin'; name: string } | { kind: 'user'; path: string[] };
  value?: Value;
}

export interface EvalConfig {
  maxSteps: number;
  maxMs: number;
  maxDepth: number;
  strict: boolean;
  /** The evaluation's clock, ms since the epoch (time.now_ns is this × 10^6). */
  nowMs: number;
  /** Receives print() output; print is a no-op without it. */
  print?: (line: string) => void;
}

/** The built-ins' view of one evaluation (a class: no closure per evaluation; the cache map is made on first use). */
class EvalBuiltinContext implements BuiltinContext {
  private ns: bigint | undefined;
  private map: Map<string, unknown> | undefined;
  constructor(private readonly ms: number) {}
  nowNs(): bigint {
    return (this.ns ??= BigInt(this.ms) * 1_000_000n);
  }
  get cache(): Map<string, unknown> {
    return (this.map ??= new Map());
  }
  get seed(): string {
    return String(this.nowNs());
  }
}

/** Collects the values of a complete rule's or a function's definitions; a second, different value is a conflict. */
interface ValueSink {
  result: Value | undefined;
  loc: Location | undefined;
  /** Conflict message: complete rule or function. */
  fn: boolean;
}

export class Evaluator {
  input: Value | undefined;
  data: Value;
  memo: Memo = new Map();
  fnOverrides: Map<string, FnOverride> | undefined;
  dataOverrides: { path: string[]; value: Value }[] | undefined;
  private steps = 0;
  private depth = 0;
  private readonly deadline: number;
  readonly bctx: BuiltinContext;

  constructor(
    readonly compiled: Compiled,
    input: Value | undefined,
    data: Value,
    readonly cfg: EvalConfig,
  ) {
    this.input = input;
    this.data = data;
    this.deadline = Date.now() + cfg.maxMs;
    this.bctx = new EvalBuiltinContext(cfg.nowMs);
  }

  // ---------------------------------------------------------------- limits

  tick(loc: Location | undefined): void {
    const s = ++this.steps;
    if (s > this.cfg.maxSteps) throw new RegoError('eval_limit_error', `evaluation exceeded ${this.cfg.maxSteps} steps`, loc);
    if ((s & 1023) === 0 && Date.now() > this.deadline) throw new RegoError('eval_cancel_error', `evaluation exceeded ${this.cfg.maxMs} ms`, loc);
  }
  private enter(loc: Location | undefined): void {
    if (++this.depth > this.cfg.maxDepth) throw new RegoError('eval_limit_error', `evaluation exceeded call depth ${this.cfg.maxDepth}`, loc);
  }

  // ---------------------------------------------------------------- bodies and expressions

  evalBody(body: Expr[], i: number, env: Env, k: K): boolean {
    // Expressions that bind nothing (mode 1) or bind one var to a deterministic value (modes 2/3) run in a loop;
    // only expressions that can produce several solutions nest a continuation.
    let assigned: string[] | undefined;
    try {
      for (; i < body.length; i++) {
        const e = body[i]!;
        const det = (e as { det?: number }).det;
        if (det === 1) {
          if (!this.evalExpr(e, env, K_STOP)) return false;
          continue;
        }
        if (det === 2 || det === 3) {
          const r = this.detAssign(e, env);
          if (r === false) return false;
          if (r !== true) (assigned ??= []).push(r);
          continue;
        }
        break;
      }
      if (i === body.length) return k();
      return this.evalExpr(body[i]!, env, () => this.evalBody(body, i + 1, env, k));
    } finally {
      if (assigned) for (const n of assigned) env.delete(n);
    }
  }

  evalExpr(e: Expr, env: Env, k: K): boolean {
    this.tick(e.loc);
    if (e.withs.length > 0) return this.evalWith(e, env, k);
    return this.evalExprNoWith(e, env, k);
  }

  private evalExprNoWith(e: Expr, env: Env, k: K): boolean {
    switch (e.kind) {
      case 'term': {
        if (isSingle(e.term, env)) {
          const v = this.value(e.term, env);
          return v === undefined || v === false ? false : k();
        }
        return this.evalTermCPS(e.term, env, (v) => (v === false ? false : k()));
      }
      case 'unify':
      case 'assign':
        return this.unifyTT(e.left, e.right, env, k);
      case 'some':
        return k();
      case 'somein':
        return this.evalTerm(e.coll, env, (c) =>
          forEachEntry(c, (key, val) => {
            this.tick(e.loc);
            return this.unifyTV(e.value, val, env, () => (e.key ? this.unifyTV(e.key, key, env, k) : k()));
          }),
        );
      case 'every':
        return this.evalTerm(e.coll, env, (c) => {
          const ok = !forEachEntry(c, (key, val) => {
            const found = this.unifyTV(e.value, val, env, () => (e.key ? this.unifyTV(e.key, key, env, () => this.evalBody(e.body, 0, env, K_STOP)) : this.evalBody(e.body, 0, env, K_STOP)));
            return !found; // stop iterating (=> every fails) at the first element without a solution
          });
          return ok ? k() : false;
        });
      case 'not': {
        const found = this.evalExpr(e.expr, env, K_STOP);
        return found ? false : k();
      }
    }
  }

  private evalWith(e: Expr, env: Env, k: K): boolean {
    const saved = this.snapshot();
    let input = this.input;
    let dataOv = this.dataOverrides ? [...this.dataOverrides] : undefined;
    let fnOv = this.fnOverrides ? new Map(this.fnOverrides) : undefined;
    for (const w of e.withs) {
      const t = w.target;
      if (t.type === 'call') {
        fnOv ??= new Map();
        const key = t.target!.kind === 'builtin' ? 'b:' + t.target!.name : 'u:' + t.target!.path.join('.');
        fnOv.set(key, this.withReplacement(w.value, env, w.loc));
        continue;
      }
      const v = this.firstValue(w.value, env);
      if (v === undefined) return false;
      const headName = t.type === 'var' ? t.name : t.type === 'ref' && t.head.type === 'var' ? t.head.name : '';
      const path = t.type === 'ref' ? t.path.map((p) => this.firstValue(p, env)) : [];
      if (path.some((p) => p === undefined)) return false;
      if (headName === 'input') {
        input = path.length === 0 ? v : setPath(input, path as Value[], v);
      } else {
        dataOv ??= [];
        dataOv.push({ path: (path as Value[]).map((p) => (typeof p === 'string' ? p : String(p))), value: v });
      }
    }
    const apply = () => {
      this.input = input;
      this.dataOverrides = dataOv;
      this.fnOverrides = fnOv;
      this.memo = new Map();
    };
    apply();
    const mine = this.snapshot();
    try {
      return this.evalExprNoWith(e, env, () => {
        this.restore(saved);
        try {
          return k();
        } finally {
          this.restore(mine);
        }
      });
    } finally {
      this.restore(saved);
    }
  }

  private withReplacement(v: Term, env: Env, loc: Location): FnOverride {
    if (v.type === 'call' && v.args.length === 0 && v.target) return { fn: v.target };
    if ((v as { maybeFunc?: boolean }).maybeFunc && v.type === 'ref') {
      let n: Node | undefined = this.compiled.root;
      for (const p of v.path) n = p.type === 'scalar' && typeof p.value === 'string' ? n?.children.get(p.value) : undefined;
      if (n?.ruleset?.kind === 'function') return { fn: { kind: 'user', path: n.path } };
    }
    const val = this.firstValue(v, env);
    if (val === undefined) throw new RegoError('eval_type_error', 'with: replacement value is undefined', loc);
    return { value: val };
  }

  private snapshot() {
    return { input: this.input, dataOverrides: this.dataOverrides, fnOverrides: this.fnOverrides, memo: this.memo };
  }
  private restore(s: ReturnType<Evaluator['snapshot']>): void {
    this.input = s.input;
    this.dataOverrides = s.dataOverrides;
    this.fnOverrides = s.fnOverrides;
    this.memo = s.memo;
  }

  firstValue(t: Term, env: Env): Value | undefined {
    if (isSingle(t, env)) return this.value(t, env);
    return this.cpsFirst(t, env);
  }

  /** First value of a term through the continuation-passing evaluator (no direct shortcut at the top). */
  private cpsFirst(t: Term, env: Env): Value | undefined {
    let out: Value | undefined;
    this.evalTermCPS(t, env, (v) => {
      out = v;
      return true;
    });
    return out;
  }

  // ---------------------------------------------------------------- direct evaluation of single-valued terms

  /**
   * The value of a term that yields at most one value (`isSingle`), computed directly, without continuations.
   * Evaluates the same sub-terms in the same order as the continuation-passing path; anything unusual (data
   * overrides from `with`, mocked functions, comprehensions, rego.parse_module) goes through that path.
   */
  /** The values of single-valued item terms, in order; undefined when any is undefined. */
  private values(items: readonly Term[], env: Env): Value[] | undefined {
    const out: Value[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) {
      const v = this.value(items[i]!, env);
      if (v === undefined) return undefined;
      out[i] = v;
    }
    return out;
  }

  private value(t: Term, env: Env): Value | undefined {
    switch (t.type) {
      case 'scalar':
        return t.value;
      case 'var': {
        const v = env.get(t.name);
        if (v !== undefined) return v;
        if (t.name === 'input') return this.input;
        if (t.name === 'data') return this.docOf(this.compiled.root, this.data);
        throw new RegoError('rego_unsafe_var_error', `var ${t.name} is unsafe`, t.loc);
      }
      case 'ref':
        return this.refValue(t, env);
      case 'array': {
        const cv = (t as { cv?: Value }).cv;
        return cv !== undefined ? cv : this.values(t.items, env);
      }
      case 'set': {
        const cv = (t as { cv?: Value }).cv;
        if (cv !== undefined) return cv;
        const out = this.values(t.items, env);
        return out === undefined ? undefined : new RegoSet(out);
      }
      case 'object': {
        const cv = (t as { cv?: Value }).cv;
        if (cv !== undefined) return cv;
        const items = t.items;
        const entries: [Value, Value][] = new Array(items.length);
        for (let i = 0; i < items.length; i++) {
          const kv = this.value(items[i]![0], env);
          if (kv === undefined) return undefined;
          const vv = this.value(items[i]![1], env);
          if (vv === undefined) return undefined;
          entries[i] = [kv, vv];
        }
        return new RegoObject(entries);
      }
      case 'call':
        return this.callValue(t, env);
      default:
        return this.cpsFirst(t, env);
    }
  }

  private refValue(t: Term & { type: 'ref' }, env: Env): Value | undefined {
    const h = t.head;
    const path = t.path;
    let v: Value | undefined;
    let i = 0;
    if (h.type === 'var') {
      v = env.get(h.name);
      if (v === undefined) {
        if (h.name === 'input') v = this.input;
        else if (h.name === 'data') {
          const r = this.dataOverrides === undefined ? this.ruleAt(t) : undefined;
          if (r === undefined) return this.cpsFirst(t, env);
          v = this.evalRuleSet(r.rs);
          i = r.depth;
        } else throw new RegoError('rego_unsafe_var_error', `var ${h.name} is unsafe`, h.loc);
      }
    } else v = this.value(h, env);
    for (; v !== undefined && i < path.length; i++) {
      const seg = path[i]!;
      const key = seg.type === 'scalar' ? seg.value : this.value(seg, env);
      if (key === undefined) return undefined;
      v = lookup(v, key);
    }
    return v;
  }

  /**
   * For a `data` ref whose leading constant segments name a complete/partial rule (not a function, nothing
   * nested below it): that rule set and the number of segments it consumes. Cached on the ref.
   */
  private ruleAt(t: Term & { type: 'ref' }): { rs: RuleSet; depth: number } | undefined {
    const c = t as { ruleAt?: { rs: RuleSet; depth: number } | null; ruleRoot?: Node };
    if (c.ruleRoot === this.compiled.root) return c.ruleAt ?? undefined;
    let node: Node = this.compiled.root;
    let found: { rs: RuleSet; depth: number } | null = null;
    for (let i = 0; i < t.path.length; i++) {
      const seg = t.path[i]!;
      if (seg.type !== 'scalar' || typeof seg.value !== 'string') break;
      const child = node.children.get(seg.value);
      if (child === undefined) break;
      node = child;
      if (node.ruleset !== undefined) {
        if (node.ruleset.kind !== 'function' && node.children.size === 0) found = { rs: node.ruleset, depth: i + 1 };
        break;
      }
    }
    c.ruleAt = found;
    c.ruleRoot = this.compiled.root;
    return found ?? undefined;
  }

  private callValue(t: Term & { type: 'call' }, env: Env): Value | undefined {
    const target = t.target!;
    if (this.fnOverrides !== undefined) return this.cpsFirst(t, env);
    if (target.kind === 'builtin' && target.name === 'rego.parse_module' && !this.compiled.builtins.has(target.name)) return this.cpsFirst(t, env);
    const arity = (t as { arity?: number }).arity ?? t.args.length;
    const n = arity >= 0 ? Math.min(arity, t.args.length) : t.args.length;
    const vals: Value[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const v = this.value(t.args[i]!, env);
      if (v === undefined) return undefined;
      vals[i] = v;
    }
    if (target.kind === 'user') {
      const rs = this.userFunction(target);
      if (!rs || rs.kind !== 'function') throw new RegoError('rego_type_error', `undefined function data.${target.path.join('.')}`, t.loc);
      return this.callFunction(rs, vals, t.loc);
    }
    const name = target.name;
    if (name === 'internal.member_2') return member2(vals[0]!, vals[1]!);
    if (name === 'internal.member_3') return member3(vals[0]!, vals[1]!, vals[2]!);
    const def = this.compiled.builtins.get(name);
    if (!def) throw new RegoError('rego_type_error', `undefined function ${name}`, t.loc);
    return this.callBuiltin(def, vals, t.loc);
  }

  // ---------------------------------------------------------------- unification

  private isGround(t: Term, env: Env): boolean {
    switch (t.type) {
      case 'scalar':
        return true;
      case 'var':
        return env.has(t.name) || t.name === 'input' || t.name === 'data';
      case 'array':
      case 'set':
        return (t as { cv?: Value }).cv !== undefined || t.items.every((x) => this.isGround(x, env));
      case 'object':
        return (t as { cv?: Value }).cv !== undefined || t.items.every(([a, b]) => this.isGround(a, env) && this.isGround(b, env));
      default:
        return true;
    }
  }

  unifyTT(a: Term, b: Term, env: Env, k: K): boolean {
    if (a.type === 'var' && !env.has(a.name) && a.name !== 'input' && a.name !== 'data') {
      return this.evalTerm(b, env, (v) => this.unifyTV(a, v, env, k));
    }
    if (b.type === 'var' && !env.has(b.name) && b.name !== 'input' && b.name !== 'data') {
      return this.evalTerm(a, env, (v) => this.unifyTV(b, v, env, k));
    }
    if (a.type === 'array' && b.type === 'array') {
      if (a.items.length !== b.items.length) return false;
      return this.unifyPairs(a.items.map((x, i) => [x, b.items[i]!] as [Term, Term]), env, k);
    }
    if (a.type === 'object' && b.type === 'object' && !this.isGround(a, env) && !this.isGround(b, env)) {
      if (a.items.length !== b.items.length) return false;
      const pairs: [Term, Term][] = [];
      for (const [ka, va] of a.items) {
        const kv = this.firstValue(ka, env);
        const m = b.items.find(([kb]) => kv !== undefined && equal(this.firstValue(kb, env) as Value, kv));
        if (!m) return false;
        pairs.push([va, m[1]]);
      }
      return this.unifyPairs(pairs, env, k);
    }
    if (this.isGround(a, env) || !this.isGround(b, env)) return this.evalTerm(a, env, (v) => this.unifyTV(b, v, env, k));
    return this.evalTerm(b, env, (v) => this.unifyTV(a, v, env, k));
  }

  private unifyPairs(pairs: [Term, Term][], env: Env, k: K, deferred = 0): boolean {
    if (pairs.length === 0) return k();
    const [x, y] = pairs[0]!;
    const rest = pairs.slice(1);
    if (!this.isGround(x, env) && !this.isGround(y, env) && deferred < pairs.length && x.type === 'var' && y.type === 'var') {
      return this.unifyPairs([...rest, [x, y]], env, k, deferred + 1);
    }
    return this.unifyTT(x, y, env, () => this.unifyPairs(rest, env, k));
  }

  unifyTV(t: Term, v: Value, env: Env, k: K): boolean {
    switch (t.type) {
      case 'var': {
        const name = t.name;
        const cur = env.get(name);
        if (cur !== undefined) return equal(cur, v) ? k() : false;
        if (name === 'input' || name === 'data') return this.evalTerm(t, env, (x) => equal(x, v) && k());
        env.set(name, v);
        try {
          return k();
        } finally {
          env.delete(name);
        }
      }
      case 'scalar':
        return equal(t.value, v) ? k() : false;
      case 'array': {
        const cv = (t as { cv?: Value }).cv;
        if (cv !== undefined) return equal(cv, v) ? k() : false;
        if (!Array.isArray(v) || v.length !== t.items.length) return false;
        return this.unifyItemsTV(t.items, v, 0, env, k);
      }
      case 'object': {
        const cv = (t as { cv?: Value }).cv;
        if (cv !== undefined) return equal(cv, v) ? k() : false;
        if (!(v instanceof RegoObject) || v.size !== t.items.length) return false;
        return this.unifyObjTV(t.items, v, 0, env, k);
      }
      default: {
        if (isSingle(t, env)) {
          const x = this.value(t, env);
          return x !== undefined && equal(x, v) ? k() : false;
        }
        return this.evalTermCPS(t, env, (x) => (equal(x, v) ? k() : false));
      }
    }
  }

  // Recursion helpers are methods, not local closures: tsx/esbuild wraps named closures in __name() calls.
  private unifyItemsTV(items: Term[], v: Value[], i: number, env: Env, k: K): boolean {
    if (i === items.length) return k();
    return this.unifyTV(items[i]!, v[i]!, env, () => this.unifyItemsTV(items, v, i + 1, env, k));
  }
  private unifyObjTV(items: [Term, Term][], v: RegoObject, i: number, env: Env, k: K): boolean {
    if (i === items.length) return k();
    const [kt, vt] = items[i]!;
    return this.evalTerm(kt, env, (key) => {
      const x = v.get(key);
      return x === undefined ? false : this.unifyTV(vt, x, env, () => this.unifyObjTV(items, v, i + 1, env, k));
    });
  }
  private evalItems(items: Term[], i: number, out: Value[], env: Env, k: (out: Value[]) => boolean): boolean {
    if (i === items.length) return k(out);
    const it = items[i]!;
    if (it.type === 'scalar') {
      out[i] = it.value;
      return this.evalItems(items, i + 1, out, env, k);
    }
    if (isSingle(it, env)) {
      const v = this.value(it, env);
      if (v === undefined) return false;
      out[i] = v;
      return this.evalItems(items, i + 1, out, env, k);
    }
    return this.evalTermCPS(it, env, (v) => {
      out[i] = v;
      return this.evalItems(items, i + 1, out, env, k);
    });
  }
  private evalObjItems(t: Term & { type: 'object' }, i: number, ks: Value[], vs: Value[], env: Env, k: KV): boolean {
    if (i === t.items.length) {
      const entries: [Value, Value][] = new Array(ks.length);
      for (let j = 0; j < ks.length; j++) entries[j] = [ks[j]!, vs[j]!];
      return k(new RegoObject(entries));
    }
    const [kt, vt] = t.items[i]!;
    if (isSingle(kt, env) && isSingle(vt, env)) {
      const kv = this.value(kt, env);
      if (kv === undefined) return false;
      const vv = this.value(vt, env);
      if (vv === undefined) return false;
      ks[i] = kv;
      vs[i] = vv;
      return this.evalObjItems(t, i + 1, ks, vs, env, k);
    }
    return this.evalTerm(kt, env, (kv) => {
      ks[i] = kv;
      return this.evalTerm(t.items[i]![1], env, (vv) => {
        vs[i] = vv;
        return this.evalObjItems(t, i + 1, ks, vs, env, k);
      });
    });
  }

  // ---------------------------------------------------------------- terms

  evalTerm(t: Term, env: Env, k: KV): boolean {
    if (t.type === 'scalar') return k(t.value);
    if (isSingle(t, env)) {
      const v = this.value(t, env);
      return v === undefined ? false : k(v);
    }
    return this.evalTermCPS(t, env, k);
  }

  private evalTermCPS(t: Term, env: Env, k: KV): boolean {
    switch (t.type) {
      case 'scalar':
        return k(t.value);
      case 'var': {
        const v = env.get(t.name);
        if (v !== undefined) return k(v);
        if (t.name === 'input') return this.input === undefined ? false : k(this.input);
        if (t.name === 'data') {
          const d = this.docOf(this.compiled.root, this.data);
          return d === undefined ? false : k(d);
        }
        throw new RegoError('rego_unsafe_var_error', `var ${t.name} is unsafe`, t.loc);
      }
      case 'ref':
        return this.evalRef(t, env, k);
      case 'array': {
        const cv = (t as { cv?: Value }).cv;
        if (cv !== undefined) return k(cv);
        return this.evalItems(t.items, 0, new Array(t.items.length), env, (out) => k(out.slice()));
      }
      case 'set': {
        const cv = (t as { cv?: Value }).cv;
        if (cv !== undefined) return k(cv);
        return this.evalItems(t.items, 0, new Array(t.items.length), env, (out) => k(new RegoSet(out)));
      }
      case 'object': {
        const cv = (t as { cv?: Value }).cv;
        if (cv !== undefined) return k(cv);
        return this.evalObjItems(t, 0, new Array(t.items.length), new Array(t.items.length), env, k);
      }
      case 'call':
        return this.evalCall(t, env, k);
      case 'arraycomp': {
        const out: Value[] = [];
        this.evalBody(t.body, 0, env, () => {
          this.evalTerm(t.term, env, (v) => {
            out.push(v);
            return false;
          });
          return false;
        });
        return k(out);
      }
      case 'setcomp': {
        const out: Value[] = [];
        this.evalBody(t.body, 0, env, () => {
          this.evalTerm(t.term, env, (v) => {
            out.push(v);
            return false;
          });
          return false;
        });
        return k(new RegoSet(out));
      }
      case 'objectcomp': {
        const b = new ObjectBuilder();
        this.evalBody(t.body, 0, env, () => {
          this.evalTerm(t.key, env, (kv) =>
            this.evalTerm(t.value, env, (vv) => {
              if (!b.put(kv, vv)) throw new RegoError('eval_conflict_error', 'object keys must be unique', t.loc);
              return false;
            }),
          );
          return false;
        });
        return k(b.build());
      }
    }
  }

  // ---------------------------------------------------------------- refs

  private evalRef(t: Term & { type: 'ref' }, env: Env, k: KV): boolean {
    const h = t.head;
    if (h.type === 'var') {
      const local = env.get(h.name);
      if (local !== undefined) return this.walk(local, t.path, 0, env, k);
      if (h.name === 'data') {
        const r = this.dataOverrides === undefined ? this.ruleAt(t) : undefined;
        if (r !== undefined) {
          const v = this.evalRuleSet(r.rs);
          return v === undefined ? false : this.walk(v, t.path, r.depth, env, k);
        }
        return this.evalData(this.compiled.root, this.data, t.path, 0, env, k);
      }
      if (h.name === 'input') return this.input === undefined ? false : this.walk(this.input, t.path, 0, env, k);
      throw new RegoError('rego_unsafe_var_error', `var ${h.name} is unsafe`, h.loc);
    }
    return this.evalTerm(h, env, (v) => this.walk(v, t.path, 0, env, k));
  }

  /** Segment kinds: a ground term is looked up; an unbound var or a pattern iterates the collection. */
  private walk(v: Value, path: Term[], i: number, env: Env, k: KV): boolean {
    if (i === path.length) return k(v);
    const seg = path[i]!;
    if (seg.type === 'scalar') {
      const x = lookup(v, seg.value);
      return x === undefined ? false : this.walk(x, path, i + 1, env, k);
    }
    if (seg.type === 'var') {
      const b = env.get(seg.name);
      if (b !== undefined) {
        const x = lookup(v, b);
        return x === undefined ? false : this.walk(x, path, i + 1, env, k);
      }
      const name = seg.name;
      return forEachEntry(v, (key, x) => {
        this.tick(seg.loc);
        env.set(name, key);
        try {
          return this.walk(x, path, i + 1, env, k);
        } finally {
          env.delete(name);
        }
      });
    }
    if (!this.isGround(seg, env)) {
      return forEachEntry(v, (key, x) => this.unifyTV(seg, key, env, () => this.walk(x, path, i + 1, env, k)));
    }
    return this.evalTerm(seg, env, (key) => {
      const x = lookup(v, key);
      return x === undefined ? false : this.walk(x, path, i + 1, env, k);
    });
  }

  private evalData(node: Node, base: Value | undefined, path: Term[], i: number, env: Env, k: KV): boolean {
    if (this.dataOverrides) {
      const ov = this.overrideAt(node);
      if (ov !== undefined) return this.walk(ov, path, i, env, k);
      base = this.patchBase(node, base);
    }
    if (node.ruleset) {
      if (node.ruleset.kind === 'function') {
        // a 0-ary function is also a document (OPA)
        const v = node.ruleset.arity === 0 ? this.callFunction(node.ruleset, [], node.ruleset.defs[0]?.loc ?? NO_LOC) : undefined;
        return v === undefined ? false : this.walk(v, path, i, env, k);
      }
      const v = node.children.size > 0 ? this.docOf(node, base) : this.patchRuleValue(node, this.evalRuleSet(node.ruleset));
      if (v === undefined) return false;
      return this.walk(v, path, i, env, k);
    }
    if (i === path.length) {
      const d = this.docOf(node, base);
      return d === undefined ? false : k(d);
    }
    const seg = path[i]!;
    if (seg.type === 'scalar') return this.dataStep(node, base, seg.value, path, i, env, k);
    if (seg.type === 'var' && env.has(seg.name)) return this.dataStep(node, base, env.get(seg.name)!, path, i, env, k);
    if (seg.type === 'var' || !this.isGround(seg, env)) {
      const keys = new Map<string, Value>();
      if (base instanceof RegoObject) for (const key of base.keys()) keys.set(JSON.stringify(key), key);
      for (const key of node.children.keys()) keys.set(JSON.stringify(key), key);
      for (const key of keys.values()) {
        if (this.unifyTV(seg, key, env, () => this.dataStep(node, base, key, path, i, env, k))) return true;
      }
      return false;
    }
    return this.evalTerm(seg, env, (key) => this.dataStep(node, base, key, path, i, env, k));
  }

  private dataStep(node: Node, base: Value | undefined, key: Value, path: Term[], i: number, env: Env, k: KV): boolean {
    if (typeof key === 'string') {
      const child = node.children.get(key);
      if (child) return this.evalData(child, lookup0(base, key), path, i + 1, env, k);
    }
    if (base === undefined) return false;
    const x = lookup(base, key);
    return x === undefined ? false : this.walk(x, path, i + 1, env, k);
  }

  private overrideAt(node: Node): Value | undefined {
    let out: Value | undefined;
    for (const o of this.dataOverrides!) if (samePath(o.path, node.path)) out = o.value;
    return out;
  }
  private patchBase(node: Node, base: Value | undefined): Value | undefined {
    const d = node.path.length;
    for (const o of this.dataOverrides!) {
      if (o.path.length > d && startsWith(o.path, node.path) && !node.children.has(o.path[d]!) && !node.ruleset) {
        base = setPath(base, o.path.slice(d), o.value);
      }
    }
    return base;
  }
  private patchRuleValue(node: Node, v: Value | undefined): Value | undefined {
    if (!this.dataOverrides || v === undefined) return v;
    const d = node.path.length;
    for (const o of this.dataOverrides) if (o.path.length > d && startsWith(o.path, node.path)) v = setPath(v, o.path.slice(d), o.value);
    return v;
  }

  /** The full document at a node: base data merged with the values of the rules below it. */
  docOf(node: Node, base: Value | undefined): Value | undefined {
    if (this.dataOverrides) {
      const ov = this.overrideAt(node);
      if (ov !== undefined) return ov;
      base = this.patchBase(node, base);
    }
    if (node.ruleset) {
      if (node.ruleset.kind === 'function') return node.ruleset.arity === 0 ? this.callFunction(node.ruleset, [], node.ruleset.defs[0]?.loc ?? NO_LOC) : undefined;
      const v = this.patchRuleValue(node, this.evalRuleSet(node.ruleset));
      if (node.children.size > 0 && v instanceof RegoObject) {
        const entries: [Value, Value][] = [...v.entries()];
        for (const [name, child] of node.children) {
          const cv = this.docOf(child, undefined);
          if (cv !== undefined) entries.push([name, cv]);
        }
        return new RegoObject(entries);
      }
      return v;
    }
    if (node.children.size === 0) return base ?? (node.path.length === 0 ? RegoObject.EMPTY : RegoObject.EMPTY);
    const entries = new Map<string, [Value, Value]>();
    if (base instanceof RegoObject) for (const [kk, vv] of base.entries()) entries.set(typeof kk === 'string' ? kk : JSON.stringify(kk), [kk, vv]);
    else if (base !== undefined) return base;
    for (const [name, child] of node.children) {
      const v = this.docOf(child, lookup0(base, name));
      if (v !== undefined) entries.set(name, [name, v]);
      else entries.delete(name);
    }
    return new RegoObject(entries.values());
  }

  // ---------------------------------------------------------------- rules

  evalRuleSet(rs: RuleSet): Value | undefined {
    if (rs.constant !== undefined) return rs.constant;
    const m = this.memo.get(rs.id);
    if (m !== undefined) return m === UNDEF ? undefined : m;
    this.enter(rs.defs[0]?.loc);
    let out: Value | undefined;
    try {
      switch (rs.kind) {
        case 'complete':
          out = this.evalComplete(rs);
          break;
        case 'partialset': {
          const items: Value[] = [];
          for (const d of rs.defs) {
            const env: Env = new Map();
            this.evalBody(d.body, 0, env, () => {
              this.evalTerm(d.key!, env, (v) => {
                items.push(v);
                return false;
              });
              return false;
            });
          }
          out = new RegoSet(items);
          break;
        }
        case 'partialobject': {
          const b = new ObjectBuilder();
          for (const d of rs.defs) {
            const env: Env = new Map();
            this.evalBody(d.body, 0, env, () => {
              this.evalTerm(d.key!, env, (kv) =>
                this.evalTerm(d.value, env, (vv) => {
                  if (!b.put(kv, vv)) throw new RegoError('eval_conflict_error', 'object keys must be unique', d.loc);
                  return false;
                }),
              );
              return false;
            });
          }
          out = b.build();
          break;
        }
        case 'function':
          out = undefined;
          break;
      }
    } finally {
      this.depth--;
    }
    this.memo.set(rs.id, out === undefined ? UNDEF : out);
    return out;
  }

  private evalComplete(rs: RuleSet): Value | undefined {
    const sink: ValueSink = { result: undefined, loc: undefined, fn: false };
    let env: Env = new Map();
    for (const d of rs.defs) {
      // bindings are undone on the way out, so an empty environment is reused for the next definition
      if (env.size !== 0) env = new Map();
      this.evalDefWithElse(d, env, sink);
    }
    let result = sink.result;
    if (result === undefined && rs.defaultValue) result = this.firstValue(rs.defaultValue, env.size === 0 ? env : new Map());
    return result;
  }

  private static sinkAdd(sink: ValueSink, v: Value, l: Location): void {
    if (sink.result === undefined) {
      sink.result = v;
      sink.loc = l;
    } else if (!equal(sink.result, v)) {
      if (sink.fn) throw new RegoError('eval_conflict_error', 'functions must not produce multiple outputs for same inputs', sink.loc);
      throw new RegoError('eval_conflict_error', 'complete rules must not produce multiple outputs', l ?? sink.loc);
    }
  }

  /** Evaluates one definition (and its else chain); adds to the sink every value produced by the first branch that produces. */
  private evalDefWithElse(d: CRule, env: Env, sink: ValueSink, loc?: Location): void {
    const at = loc ?? d.loc;
    if (this.evalBranch(d.body, d.value, env, sink, at, false)) return;
    for (const e of d.elseChain) if (this.evalBranch(e.body, e.value, env, sink, at, true)) return;
  }

  /**
   * One branch of a definition: every solution of the body adds the value term's values to the sink (only the first
   * value when `firstOnly`, as for `else`). Returns whether a value was produced. A body of deterministic
   * expressions only runs as a loop, without continuations.
   */
  private evalBranch(body: Expr[], value: Term, env: Env, sink: ValueSink, at: Location, firstOnly: boolean): boolean {
    if (allDeterministic(body)) {
      let assigned: string[] | undefined;
      try {
        for (let i = 0; i < body.length; i++) {
          const e = body[i]!;
          if ((e as { det?: number }).det === 1) {
            if (!this.evalExpr(e, env, K_STOP)) return false;
            continue;
          }
          const r = this.detAssign(e, env);
          if (r === false) return false;
          if (r !== true) (assigned ??= []).push(r);
        }
        if (isSingle(value, env)) {
          const v = this.value(value, env);
          if (v === undefined) return false;
          Evaluator.sinkAdd(sink, v, at);
          return true;
        }
        return this.addValues(value, env, sink, at, firstOnly);
      } finally {
        if (assigned) for (const n of assigned) env.delete(n);
      }
    }
    let produced = false;
    this.evalBody(body, 0, env, () => {
      if (this.addValues(value, env, sink, at, firstOnly)) produced = true;
      return firstOnly && produced;
    });
    return produced;
  }

  private addValues(value: Term, env: Env, sink: ValueSink, at: Location, firstOnly: boolean): boolean {
    let produced = false;
    this.evalTerm(value, env, (v) => {
      produced = true;
      Evaluator.sinkAdd(sink, v, at);
      return firstOnly;
    });
    return produced;
  }

  /**
   * A deterministic assignment/unification (det 2: `x := t` / `x = t`, det 3: `t = x`): binds the variable and
   * returns its name, returns true when it was bound already to an equal value, false when it fails.
   */
  private detAssign(e: Expr, env: Env): string | boolean {
    this.tick(e.loc);
    const u = e as Expr & { kind: 'assign' | 'unify' };
    const det = (e as { det?: number }).det;
    const name = ((det === 2 ? u.left : u.right) as { name: string }).name;
    const v = this.firstValue(det === 2 ? u.right : u.left, env);
    if (v === undefined) return false;
    const cur = env.get(name);
    if (cur !== undefined) return equal(cur, v);
    env.set(name, v);
    return name;
  }

  // ---------------------------------------------------------------- calls

  private evalArgs(args: Term[], n: number, env: Env, k: (vals: Value[]) => boolean): boolean {
    const vals: Value[] = new Array(n);
    let order: number[] | undefined;
    for (let i = 0; i < n; i++) {
      const a = args[i]!;
      if (a.type === 'var' && !env.has(a.name) && a.name !== 'input' && a.name !== 'data') {
        // bound by another argument's ref iteration (`x == y[x]`): evaluate it last
        order = [...Array(n).keys()].sort((x, y) => (args[x]!.type === 'var' ? 1 : 0) - (args[y]!.type === 'var' ? 1 : 0));
        break;
      }
    }
    if (!order) return this.evalItems(args.length === n ? args : args.slice(0, n), 0, vals, env, k);
    return this.evalArgsOrdered(args, n, order, vals, 0, env, k);
  }

  private evalArgsOrdered(args: Term[], n: number, order: number[], vals: Value[], j: number, env: Env, k: (vals: Value[]) => boolean): boolean {
    if (j === n) return k(vals);
    const i = order[j]!;
    return this.evalTerm(args[i]!, env, (v) => {
      vals[i] = v;
      return this.evalArgsOrdered(args, n, order, vals, j + 1, env, k);
    });
  }

  private outK(out: Term, env: Env, k: KV): KV {
    return (v) => this.unifyTV(out, v, env, () => k(true));
  }

  private evalCall(t: Term & { type: 'call' }, env: Env, k: KV): boolean {
    const target = t.target!;
    const arity = (t as { arity?: number }).arity ?? t.args.length;
    const n = arity >= 0 ? Math.min(arity, t.args.length) : t.args.length;
    const out: Term | undefined = arity >= 0 && t.args.length === arity + 1 ? t.args[arity] : undefined;
    const kk: KV = out ? this.outK(out, env, k) : k;
    if (target.kind === 'builtin' && target.name === 'print') {
      if (this.cfg.print) {
        const parts = t.args.map((a) => {
          const v = this.firstValue(a, env);
          return v === undefined ? '<undefined>' : typeof v === 'string' ? v : jsonText(v);
        });
        this.cfg.print(parts.join(' '));
      }
      return kk(true);
    }
    return this.evalArgs(t.args, n, env, (vals) => {
      if (this.fnOverrides) {
        const key = target.kind === 'builtin' ? 'b:' + target.name : 'u:' + target.path.join('.');
        const ov = this.fnOverrides.get(key);
        if (ov) {
          if (ov.value !== undefined) return kk(ov.value);
          // inside a replacement function no mock applies: it calls the originals (OPA)
          const saved = this.fnOverrides;
          this.fnOverrides = undefined;
          let r: Value | undefined;
          let got = false;
          try {
            this.callTarget(ov.fn!, vals, t, (v) => {
              r = v;
              got = true;
              return true;
            });
          } finally {
            this.fnOverrides = saved;
          }
          return got ? kk(r!) : false;
        }
      }
      return this.callTarget(target, vals, t, kk);
    });
  }

  private callTarget(target: { kind: 'builtin'; name: string } | { kind: 'user'; path: string[] }, vals: Value[], t: Term, k: KV): boolean {
    if (target.kind === 'user') {
      const rs = this.userFunction(target);
      if (!rs || rs.kind !== 'function') throw new RegoError('rego_type_error', `undefined function data.${target.path.join('.')}`, t.loc);
      const v = this.callFunction(rs, vals, t.loc);
      return v === undefined ? false : k(v);
    }
    const name = target.name;
    if (name === 'internal.member_2') return k(member2(vals[0]!, vals[1]!));
    if (name === 'internal.member_3') return k(member3(vals[0]!, vals[1]!, vals[2]!));
    if (name === 'walk') {
      const pairs: [Value[], Value][] = [];
      walkValue(vals[0]!, [], pairs);
      for (const [p, v] of pairs) if (k([p, v])) return true;
      return false;
    }
    if (name === 'rego.parse_module' && !this.compiled.builtins.has(name)) return this.parseModuleCall(vals, t.loc, k);
    const def = this.compiled.builtins.get(name);
    if (!def) throw new RegoError('rego_type_error', `undefined function ${name}`, t.loc);
    const v = this.callBuiltin(def, vals, t.loc);
    return v === undefined ? false : k(v);
  }

  /** The rule set a user-function call names (looked up once per call site, then cached on it). */
  private userFunction(target: { kind: 'user'; path: string[] }): RuleSet | undefined {
    const c = target as { rs?: RuleSet | null; root?: Node };
    if (c.root === this.compiled.root) return c.rs ?? undefined;
    let node: Node | undefined = this.compiled.root;
    for (const p of target.path) node = node?.children.get(p);
    c.rs = node?.ruleset ?? null;
    c.root = this.compiled.root;
    return c.rs ?? undefined;
  }

  /** rego.parse_module(filename, source): the module's AST in OPA's JSON form. */
  private parseModuleCall(vals: Value[], loc: Location, k: KV): boolean {
    const [file, src] = vals;
    if (typeof file !== 'string' || typeof src !== 'string') {
      const msg = `rego.parse_module: operand ${typeof file !== 'string' ? 1 : 2} must be string`;
      if (this.cfg.strict) throw new RegoError('eval_type_error', msg, loc);
      return false;
    }
    let m;
    try {
      m = parseModule(src, file);
    } catch (e) {
      if (!(e instanceof RegoError)) throw e;
      if (this.cfg.strict) throw new RegoError('eval_builtin_error', `rego.parse_module: ${e.code}: ${e.detail}`, loc);
      return false;
    }
    return k(fromJSON(moduleJSON(m)));
  }

  private callBuiltin(def: BuiltinDef, vals: Value[], loc: Location): Value | undefined {
    if (def.network) throw new RegoError('eval_builtin_error', `${def.name}: network access is disabled`, loc);
    try {
      return def.fn(vals.length === def.args.length ? vals : vals.slice(0, def.args.length), this.bctx);
    } catch (e) {
      if (e instanceof RegoError) throw e;
      const code = (e as { code?: string }).code;
      if (code === 'eval_type_error' || code === 'eval_builtin_error') {
        if (this.cfg.strict) throw new RegoError(code, (e as Error).message, loc);
        return undefined;
      }
      if (e instanceof RangeError) throw e;
      throw new RegoError('eval_builtin_error', `${def.name}: ${(e as Error).message}`, loc);
    }
  }

  callFunction(rs: RuleSet, vals: Value[], loc: Location): Value | undefined {
    this.enter(loc);
    try {
      const sink: ValueSink = { result: undefined, loc, fn: true };
      let env: Env = new Map();
      for (const d of rs.defs) {
        if (env.size !== 0) env = new Map();
        const e = env;
        this.unifyItemsTV(d.args!, vals, 0, e, () => {
          this.evalDefWithElse(d, e, sink, loc);
          return false;
        });
      }
      let result = sink.result;
      if (result === undefined && rs.defaultValue) result = this.firstValue(rs.defaultValue, new Map());
      return result;
    } finally {
      this.depth--;
    }
  }
}

// ------------------------------------------------------------------ single-valued terms

interface SingleInfo {
  /** 0: may yield several values (iteration, walk, print, an output argument); 1: at most one once its vars are bound. */
  kind: 0 | 1;
  /** Local variables (outside comprehensions) that must be bound for the term to be single-valued. */
  vars: string[];
}

const NOT_SINGLE: SingleInfo = { kind: 0, vars: [] };

/** Static part of isSingle, computed once per term and cached on it. */
function singleInfo(t: Term): SingleInfo {
  const c = t as { single?: SingleInfo };
  if (c.single !== undefined) return c.single;
  const vars = new Set<string>();
  const info: SingleInfo = collectSingle(t, vars) ? { kind: 1, vars: [...vars] } : NOT_SINGLE;
  c.single = info;
  return info;
}

function collectSingle(t: Term, vars: Set<string>): boolean {
  switch (t.type) {
    case 'scalar':
      return true;
    case 'var':
      if (t.name !== 'input' && t.name !== 'data') vars.add(t.name);
      return true;
    case 'ref':
      if (!collectSingle(t.head, vars)) return false;
      for (const p of t.path) if (!collectSingle(p, vars)) return false;
      return true;
    case 'array':
    case 'set':
      for (const x of t.items) if (!collectSingle(x, vars)) return false;
      return true;
    case 'object':
      for (const [a, b] of t.items) if (!collectSingle(a, vars) || !collectSingle(b, vars)) return false;
      return true;
    case 'call': {
      const target = t.target;
      if (!target) return false;
      if (target.kind === 'builtin' && (target.name === 'walk' || target.name === 'print')) return false;
      const arity = (t as { arity?: number }).arity ?? t.args.length;
      if (arity < 0 || t.args.length !== arity) return false; // variadic, or an output argument
      for (const a of t.args) if (!collectSingle(a, vars)) return false;
      return true;
    }
    default:
      // a comprehension has exactly one value
      return true;
  }
}

/** Whether every expression of a body is deterministic (compiler's det 1/2/3), cached on the body. */
function allDeterministic(body: Expr[]): boolean {
  const c = body as { allDet?: boolean };
  if (c.allDet === undefined) {
    let all = true;
    for (const e of body) {
      const det = (e as { det?: number }).det;
      if (det !== 1 && det !== 2 && det !== 3) all = false;
    }
    c.allDet = all;
  }
  return c.allDet;
}

/** Whether a term yields at most one value in this environment (then `Evaluator.value` computes it directly). */
function isSingle(t: Term, env: Env): boolean {
  const info = singleInfo(t);
  if (info.kind === 0) return false;
  const vars = info.vars;
  for (let i = 0; i < vars.length; i++) if (!env.has(vars[i]!)) return false;
  return true;
}

// ------------------------------------------------------------------ value helpers

function samePath(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
function startsWith(a: string[], prefix: string[]): boolean {
  if (a.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (a[i] !== prefix[i]) return false;
  return true;
}

function lookup0(v: Value | undefined, key: string): Value | undefined {
  return v instanceof RegoObject ? v.getStr(key) : undefined;
}

export function lookup(v: Value, key: Value): Value | undefined {
  if (v instanceof RegoObject) return typeof key === 'string' ? v.getStr(key) : v.get(key);
  if (Array.isArray(v)) {
    if (typeof key === 'number' && Number.isInteger(key) && key >= 0 && key < v.length) return v[key];
    return undefined;
  }
  if (v instanceof RegoSet) return v.has(key) ? key : undefined;
  return undefined;
}

/** Calls f(key, value) for each entry; stops and returns true when f does. */
export function forEachEntry(v: Value, f: (k: Value, x: Value) => boolean): boolean {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (f(i, v[i]!)) return true;
    return false;
  }
  if (v instanceof RegoObject) {
    for (const [kk, x] of v.entries()) if (f(kk, x)) return true;
    return false;
  }
  if (v instanceof RegoSet) {
    for (const x of v.values()) if (f(x, x)) return true;
    return false;
  }
  return false;
}

export function setPath(v: Value | undefined, path: Value[], x: Value): Value {
  if (path.length === 0) return x;
  const [head, ...rest] = path;
  const obj = v instanceof RegoObject ? v : RegoObject.EMPTY;
  const entries: [Value, Value][] = obj.entries().filter(([kk]) => !equal(kk, head!));
  entries.push([head!, setPath(obj.get(head!), rest, x)]);
  return new RegoObject(entries);
}

function member2(x: Value, c: Value): boolean {
  if (Array.isArray(c)) return c.some((y) => equal(x, y));
  if (c instanceof RegoSet) return c.has(x);
  if (c instanceof RegoObject) return c.values().some((y) => equal(x, y));
  return false;
}

function member3(k: Value, x: Value, c: Value): boolean {
  if (Array.isArray(c)) {
    if (!isNumber(k)) return false;
    const i = typeof k === 'bigint' ? -1 : k;
    return Number.isInteger(i) && i >= 0 && i < c.length && equal(c[i]!, x);
  }
  if (c instanceof RegoObject) {
    const y = c.get(k);
    return y !== undefined && equal(y, x);
  }
  return false;
}

function walkValue(v: Value, path: Value[], out: [Value[], Value][]): void {
  out.push([path, v]);
  forEachEntry(v, (k, x) => {
    walkValue(x, [...path, k], out);
    return false;
  });
}

export { CORE_CALLS, constValue, normNum };
