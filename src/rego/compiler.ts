/**
 * Compiler: resolves names (imports, rules of the package, built-ins), orders body expressions for safety as OPA does,
 * checks rule kinds, arities and recursion, and builds the rule tree (data.a.b.rule) used by the evaluator.
 */
import { RegoError, type Location } from './errors.js';
import type { CallTarget, Expr, Module, Rule, Term, With } from './ast.js';
import type { BuiltinDef } from './builtins/types.js';
import { equal as equalValues, fromJSON, RegoObject, RegoSet, type Value } from './value.js';

export type RuleKind = 'complete' | 'partialset' | 'partialobject' | 'function';

export interface CRule {
  kind: RuleKind;
  path: string[];
  args: Term[] | undefined;
  key: Term | undefined;
  value: Term;
  body: Expr[];
  elseChain: { value: Term; body: Expr[] }[];
  loc: Location;
}

export interface RuleSet {
  path: string[];
  kind: RuleKind;
  defs: CRule[];
  defaultValue: Term | undefined;
  arity: number;
  id: number;
  /** Complete rules whose every definition is `p := <constant>` (no body): the value, computed once at compile time. */
  constant?: Value;
}

export interface Node {
  path: string[];
  children: Map<string, Node>;
  ruleset: RuleSet | undefined;
}

/** Names the core evaluates itself (not plain functions in the built-in table). */
export const CORE_CALLS: Record<string, number> = {
  'internal.member_2': 2,
  'internal.member_3': 3,
  print: -1,
  walk: 1,
  'rego.metadata.rule': 0,
  'rego.metadata.chain': 0,
  'rego.parse_module': 2,
};

export interface Compiled {
  root: Node;
  builtins: Map<string, BuiltinDef>;
  rulesets: RuleSet[];
  /** All call terms, for constantArgs. */
  calls: Term[];
}

const GLOBALS = new Set(['input', 'data']);

// ------------------------------------------------------------------ term helpers

export function constValue(t: Term): Value | undefined {
  const c = (t as { cv?: Value }).cv;
  if (c !== undefined) return c;
  switch (t.type) {
    case 'scalar':
      return t.value;
    case 'array': {
      const out: Value[] = [];
      for (const x of t.items) {
        const v = constValue(x);
        if (v === undefined) return undefined;
        out.push(v);
      }
      return out;
    }
    case 'set': {
      const out: Value[] = [];
      for (const x of t.items) {
        const v = constValue(x);
        if (v === undefined) return undefined;
        out.push(v);
      }
      return new RegoSet(out);
    }
    case 'object': {
      // duplicate keys in a literal: the last one wins, as in OPA
      const entries: [Value, Value][] = [];
      for (const [k, x] of t.items) {
        const kv = constValue(k);
        const vv = constValue(x);
        if (kv === undefined || vv === undefined) return undefined;
        entries.push([kv, vv]);
      }
      return new RegoObject(entries);
    }
    default:
      return undefined;
  }
}

function annotateConst(t: Term): void {
  if (t.type === 'array' || t.type === 'set' || t.type === 'object') {
    const v = constValue(t);
    if (v !== undefined) (t as { cv?: Value }).cv = v;
  }
}

/** Visits every term (including nested bodies) of a term. */
function visitTerm(t: Term, f: (t: Term) => void): void {
  f(t);
  switch (t.type) {
    case 'ref':
      visitTerm(t.head, f);
      t.path.forEach((x) => visitTerm(x, f));
      break;
    case 'array':
    case 'set':
      t.items.forEach((x) => visitTerm(x, f));
      break;
    case 'object':
      t.items.forEach(([k, v]) => {
        visitTerm(k, f);
        visitTerm(v, f);
      });
      break;
    case 'call':
      t.args.forEach((x) => visitTerm(x, f));
      break;
    case 'arraycomp':
    case 'setcomp':
      visitTerm(t.term, f);
      t.body.forEach((e) => visitExpr(e, f));
      break;
    case 'objectcomp':
      visitTerm(t.key, f);
      visitTerm(t.value, f);
      t.body.forEach((e) => visitExpr(e, f));
      break;
  }
}

function visitExpr(e: Expr, f: (t: Term) => void): void {
  switch (e.kind) {
    case 'term':
      visitTerm(e.term, f);
      break;
    case 'unify':
    case 'assign':
      visitTerm(e.left, f);
      visitTerm(e.right, f);
      break;
    case 'some':
      break;
    case 'somein':
      if (e.key) visitTerm(e.key, f);
      visitTerm(e.value, f);
      visitTerm(e.coll, f);
      break;
    case 'every':
      if (e.key) visitTerm(e.key, f);
      visitTerm(e.value, f);
      visitTerm(e.coll, f);
      e.body.forEach((x) => visitExpr(x, f));
      break;
    case 'not':
      visitExpr(e.expr, f);
      break;
  }
  for (const w of e.withs) {
    visitTerm(w.target, f);
    visitTerm(w.value, f);
  }
}

/** Every var name occurring in a term/expr (including nested bodies). */
function varsOfTerm(t: Term, out: Set<string>): Set<string> {
  visitTerm(t, (x) => {
    if (x.type === 'var') out.add(x.name);
  });
  return out;
}
function varsOfExpr(e: Expr, out: Set<string>): Set<string> {
  visitExpr(e, (x) => {
    if (x.type === 'var') out.add(x.name);
  });
  if (e.kind === 'some') e.vars.forEach((v) => out.add(v));
  return out;
}

// ------------------------------------------------------------------ resolution

interface Scope {
  pkg: string[];
  ruleNames: Set<string>;
  funcNames: Set<string>;
  aliases: Map<string, Term>;
  locals: Set<string>;
  builtins: Map<string, BuiltinDef>;
  calls: Term[];
  funcArity?: Map<string, number>;
  /** Values of rego.metadata.rule() / rego.metadata.chain() for the rule being compiled. */
  meta?: { rule: Value; chain: Value };
}

function mkRef(path: string[], loc: Location): Term {
  return {
    type: 'ref',
    head: { type: 'var', name: 'data', loc },
    path: path.map((p) => ({ type: 'scalar', value: p, loc }) as Term),
    loc,
  };
}

function resolveVar(name: string, loc: Location, sc: Scope): Term {
  if (sc.locals.has(name) || GLOBALS.has(name)) return { type: 'var', name, loc };
  const alias = sc.aliases.get(name);
  if (alias) return alias;
  if (sc.ruleNames.has(name)) return mkRef([...sc.pkg, name], loc);
  return { type: 'var', name, loc };
}

function resolveCallName(name: string, loc: Location, sc: Scope): CallTarget {
  const parts = name.split('.');
  const first = parts[0]!;
  if (!sc.locals.has(first)) {
    const alias = sc.aliases.get(first);
    if (alias && alias.type === 'ref' && alias.head.type === 'var' && alias.head.name === 'data') {
      return { kind: 'user', path: [...alias.path.map((s) => (s.type === 'scalar' ? String(s.value) : '')), ...parts.slice(1)] };
    }
    if (first === 'data') return { kind: 'user', path: parts.slice(1) };
    if (sc.funcNames.has(name) || (sc.ruleNames.has(first) && !sc.builtins.has(name))) return { kind: 'user', path: [...sc.pkg, ...parts] };
  }
  if (sc.builtins.has(name) || name in CORE_CALLS) return { kind: 'builtin', name };
  throw new RegoError('rego_type_error', `undefined function ${name}`, loc);
}

function resolveTerm(t: Term, sc: Scope): Term {
  switch (t.type) {
    case 'scalar':
      return t;
    case 'var':
      return resolveVar(t.name, t.loc, sc);
    case 'ref': {
      const head = resolveTerm(t.head, sc);
      const path = t.path.map((p) => resolveTerm(p, sc));
      if (head.type === 'ref') return { type: 'ref', head: head.head, path: [...head.path, ...path], loc: t.loc };
      return { type: 'ref', head, path, loc: t.loc };
    }
    case 'array':
    case 'set': {
      const r = { type: t.type, items: t.items.map((x) => resolveTerm(x, sc)), loc: t.loc } as Term;
      annotateConst(r);
      return r;
    }
    case 'object': {
      const r: Term = { type: 'object', items: t.items.map(([k, v]) => [resolveTerm(k, sc), resolveTerm(v, sc)] as [Term, Term]), loc: t.loc };
      annotateConst(r);
      return r;
    }
    case 'call': {
      if ((t.name === 'rego.metadata.rule' || t.name === 'rego.metadata.chain') && t.args.length === 0) {
        const v = sc.meta ? (t.name === 'rego.metadata.rule' ? sc.meta.rule : sc.meta.chain) : t.name === 'rego.metadata.rule' ? RegoObject.EMPTY : [];
        return { type: 'scalar', value: v, loc: t.loc };
      }
      const target = resolveCallName(t.name, t.loc, sc);
      const r: Term = { type: 'call', name: t.name, args: t.args.map((a) => resolveTerm(a, sc)), loc: t.loc, target };
      sc.calls.push(r);
      if (target.kind === 'user') {
        const ar = sc.funcArity?.get(target.path.join('.'));
        if (ar !== undefined) (r as { arity?: number }).arity = ar;
      }
      if (target.kind === 'builtin') {
        const def = sc.builtins.get(target.name);
        const arity = def ? def.args.length : CORE_CALLS[target.name]!;
        (r as { arity?: number }).arity = arity;
        if (arity >= 0 && t.args.length !== arity && t.args.length !== arity + 1) {
          throw new RegoError('rego_type_error', `${target.name}: ${t.args.length < arity ? 'too few' : 'too many'} arguments (want ${arity}, got ${t.args.length})`, t.loc);
        }
      }
      return r;
    }
    case 'arraycomp':
    case 'setcomp': {
      const c = scopeComprehension(t) as typeof t;
      return { type: c.type, term: resolveTerm(c.term, sc), body: c.body.map((e) => resolveExpr(e, sc)), loc: c.loc } as Term;
    }
    case 'objectcomp': {
      const c = scopeComprehension(t) as typeof t;
      return { type: 'objectcomp', key: resolveTerm(c.key, sc), value: resolveTerm(c.value, sc), body: c.body.map((e) => resolveExpr(e, sc)), loc: c.loc };
    }
  }
}

function resolveWithTarget(t: Term, sc: Scope): Term {
  // input.x / data.x stay as written; function names resolve to a call target marker
  const name = t.type === 'var' ? t.name : t.type === 'ref' && t.head.type === 'var' ? t.head.name : undefined;
  if (name === 'input' || name === 'data') return t;
  const dotted = t.type === 'var' ? t.name : t.type === 'ref' && t.head.type === 'var' ? [t.head.name, ...t.path.map((p) => (p.type === 'scalar' ? String(p.value) : '?'))].join('.') : undefined;
  if (dotted === undefined) throw new RegoError('rego_compile_error', 'with keyword target must reference existing input, data, or a function', t.loc);
  const target = resolveCallName(dotted, t.loc, sc);
  return { type: 'call', name: dotted, args: [], loc: t.loc, target };
}

function resolveWithValue(t: Term, sc: Scope): Term {
  // a function name used as replacement
  const dotted = t.type === 'var' ? t.name : t.type === 'ref' && t.head.type === 'var' && t.path.every((p) => p.type === 'scalar' && typeof p.value === 'string') ? [t.head.name, ...t.path.map((p) => String((p as { value: Value }).value))].join('.') : undefined;
  if (dotted !== undefined && !sc.locals.has(dotted.split('.')[0]!)) {
    const first = dotted.split('.')[0]!;
    if (sc.funcNames.has(dotted) || sc.builtins.has(dotted)) {
      const target = resolveCallName(dotted, t.loc, sc);
      return { type: 'call', name: dotted, args: [], loc: t.loc, target };
    }
    if (first === 'data' || sc.aliases.has(first)) {
      // might be a user function referenced by full path; decided at link time
      const r = resolveTerm(t, sc);
      (r as { maybeFunc?: boolean }).maybeFunc = true;
      return r;
    }
  }
  return resolveTerm(t, sc);
}

function resolveExpr(e: Expr, sc: Scope): Expr {
  const withs: With[] = e.withs.map((w) => ({ target: resolveWithTarget(w.target, sc), value: resolveWithValue(w.value, sc), loc: w.loc }));
  const base = { loc: e.loc, withs };
  switch (e.kind) {
    case 'term':
      return { ...base, kind: 'term', term: resolveTerm(e.term, sc) };
    case 'unify':
    case 'assign':
      return { ...base, kind: e.kind, left: resolveTerm(e.left, sc), right: resolveTerm(e.right, sc) };
    case 'some':
      return { ...base, kind: 'some', vars: e.vars };
    case 'somein':
      return { ...base, kind: 'somein', key: e.key && resolveTerm(e.key, sc), value: resolveTerm(e.value, sc), coll: resolveTerm(e.coll, sc) };
    case 'every': {
      const ev = scopeEvery(e);
      return { ...base, kind: 'every', key: ev.key && resolveTerm(ev.key, sc), value: resolveTerm(ev.value, sc), coll: resolveTerm(e.coll, sc), body: ev.body.map((x) => resolveExpr(x, sc)) };
    }
    case 'not':
      return { ...base, kind: 'not', expr: resolveExpr(e.expr, sc) };
  }
}

/**
 * Names declared local by `:=` / `some` in a body (and inside `not`). Comprehension and `every` bodies are not
 * searched: their declared variables are renamed apart (see scopeComprehension), so they never clash.
 */
function declaredLocals(exprs: Expr[], out: Set<string>): void {
  for (const e of exprs) {
    switch (e.kind) {
      case 'assign':
        varsOfTerm(e.left, out);
        break;
      case 'some':
        e.vars.forEach((v) => out.add(v));
        break;
      case 'somein':
        if (e.key) varsOfTerm(e.key, out);
        varsOfTerm(e.value, out);
        break;
      case 'not':
        declaredLocals([e.expr], out);
        break;
    }
  }
}

// ------------------------------------------------------------------ scoping of nested bodies

let renameCounter = 0;

/** A variable name for messages: renamed-apart and wildcard variables shown as written. */
export function displayVar(v: string): string {
  if (v.startsWith('$')) return '_';
  return v.replace(/\$c\d+/g, '');
}

function substTerm(t: Term, m: Map<string, string>): Term {
  switch (t.type) {
    case 'scalar':
      return t;
    case 'var': {
      const n = m.get(t.name);
      return n ? { type: 'var', name: n, loc: t.loc } : t;
    }
    case 'ref':
      return { type: 'ref', head: substTerm(t.head, m), path: t.path.map((x) => substTerm(x, m)), loc: t.loc };
    case 'array':
    case 'set':
      return { type: t.type, items: t.items.map((x) => substTerm(x, m)), loc: t.loc } as Term;
    case 'object':
      return { type: 'object', items: t.items.map(([k, v]) => [substTerm(k, m), substTerm(v, m)] as [Term, Term]), loc: t.loc };
    case 'call':
      return { type: 'call', name: t.name, args: t.args.map((x) => substTerm(x, m)), loc: t.loc };
    case 'arraycomp':
    case 'setcomp':
      return { type: t.type, term: substTerm(t.term, m), body: t.body.map((e) => substExpr(e, m)), loc: t.loc } as Term;
    case 'objectcomp':
      return { type: 'objectcomp', key: substTerm(t.key, m), value: substTerm(t.value, m), body: t.body.map((e) => substExpr(e, m)), loc: t.loc };
  }
}

function substExpr(e: Expr, m: Map<string, string>): Expr {
  const withs = e.withs.map((w) => ({ target: w.target, value: substTerm(w.value, m), loc: w.loc }));
  const base = { loc: e.loc, withs };
  switch (e.kind) {
    case 'term':
      return { ...base, kind: 'term', term: substTerm(e.term, m) };
    case 'unify':
    case 'assign':
      return { ...base, kind: e.kind, left: substTerm(e.left, m), right: substTerm(e.right, m) };
    case 'some':
      return { ...base, kind: 'some', vars: e.vars.map((v) => m.get(v) ?? v) };
    case 'somein':
      return { ...base, kind: 'somein', key: e.key && substTerm(e.key, m), value: substTerm(e.value, m), coll: substTerm(e.coll, m) };
    case 'every':
      return { ...base, kind: 'every', key: e.key && substTerm(e.key, m), value: substTerm(e.value, m), coll: substTerm(e.coll, m), body: e.body.map((x) => substExpr(x, m)) };
    case 'not':
      return { ...base, kind: 'not', expr: substExpr(e.expr, m) };
  }
}

function renaming(names: Set<string>): Map<string, string> {
  const m = new Map<string, string>();
  for (const v of names) if (!v.startsWith('$') && v !== 'input' && v !== 'data') m.set(v, `${v}$c${renameCounter++}`);
  return m;
}

/** Variables declared (`:=`, `some`) in a comprehension's body are local to it: rename them apart. */
function scopeComprehension(t: Term & { type: 'arraycomp' | 'setcomp' | 'objectcomp' }): Term {
  const decl = new Set<string>();
  declaredLocals(t.body, decl);
  if (decl.size === 0) return t;
  return substTerm(t, renaming(decl));
}

/** `every` declares its key/value variables and its body's `:=`/`some` variables: rename them apart. */
function scopeEvery(e: Expr & { kind: 'every' }): Expr & { kind: 'every' } {
  const decl = new Set<string>();
  if (e.key) varsOfTerm(e.key, decl);
  varsOfTerm(e.value, decl);
  declaredLocals(e.body, decl);
  if (decl.size === 0) return e;
  const m = renaming(decl);
  return { ...e, key: e.key && substTerm(e.key, m), value: substTerm(e.value, m), body: e.body.map((x) => substExpr(x, m)) };
}

// ------------------------------------------------------------------ safety ordering

function isLocal(name: string): boolean {
  return !GLOBALS.has(name);
}

/** Vars that must be bound before the term can be evaluated (ref heads, call args, closures). */
function needVars(t: Term, out: Set<string>, scope: Set<string>, ctxUnify: boolean): void {
  switch (t.type) {
    case 'scalar':
      return;
    case 'var':
      if (!ctxUnify && isLocal(t.name)) out.add(t.name);
      return;
    case 'ref':
      if (t.head.type === 'var') {
        if (isLocal(t.head.name)) out.add(t.head.name);
      } else needVars(t.head, out, scope, false);
      for (const p of t.path) if (p.type !== 'var') needVars(p, out, scope, true);
      return;
    case 'array':
    case 'set':
      for (const x of t.items) needVars(x, out, scope, ctxUnify);
      return;
    case 'object':
      for (const [k, v] of t.items) {
        needVars(k, out, scope, false);
        needVars(v, out, scope, ctxUnify);
      }
      return;
    case 'call':
      for (const a of t.args) needVars(a, out, scope, false);
      return;
    case 'arraycomp':
    case 'setcomp':
    case 'objectcomp': {
      const inner = varsOfTerm(t, new Set());
      const decl = new Set<string>();
      declaredLocals(t.body, decl);
      for (const v of inner) if (scope.has(v) && isLocal(v) && !decl.has(v)) out.add(v);
      return;
    }
  }
}

/** Vars a term binds when unified with a value (plain vars in unify position, ref index vars). */
function outVars(t: Term, out: Set<string>, ctxUnify: boolean): void {
  switch (t.type) {
    case 'var':
      if (ctxUnify && isLocal(t.name)) out.add(t.name);
      return;
    case 'ref':
      if (t.head.type !== 'var') outVars(t.head, out, false);
      for (const p of t.path) outVars(p, out, true);
      return;
    case 'array':
    case 'set':
      for (const x of t.items) outVars(x, out, ctxUnify);
      return;
    case 'object':
      for (const [, v] of t.items) outVars(v, out, ctxUnify);
      return;
    case 'call':
      for (const a of t.args) outVars(a, out, false);
      return;
    default:
      return;
  }
}

/** Can the term be evaluated to a value with the given bound vars? */
function groundable(t: Term, bound: Set<string>): boolean {
  switch (t.type) {
    case 'scalar':
      return true;
    case 'var':
      return !isLocal(t.name) || bound.has(t.name);
    case 'ref':
      return (t.head.type === 'var' ? !isLocal(t.head.name) || bound.has(t.head.name) : groundable(t.head, bound)) && t.path.every((p) => p.type === 'var' || p.type === 'scalar' || groundable(p, bound) || patternOk(p, bound));
    case 'array':
    case 'set':
      return t.items.every((x) => groundable(x, bound));
    case 'object':
      return t.items.every(([k, v]) => groundable(k, bound) && groundable(v, bound));
    case 'call':
      return t.args.every((a) => groundable(a, bound));
    default:
      return true;
  }
}
function patternOk(t: Term, bound: Set<string>): boolean {
  if (t.type === 'array') return t.items.every((x) => x.type === 'var' || groundable(x, bound) || patternOk(x, bound));
  if (t.type === 'object') return t.items.every(([k, v]) => groundable(k, bound) && (v.type === 'var' || groundable(v, bound) || patternOk(v, bound)));
  return false;
}

function canUnify(a: Term, b: Term, bound: Set<string>): boolean {
  if (groundable(a, bound) || groundable(b, bound)) return true;
  if (a.type === 'array' && b.type === 'array' && a.items.length === b.items.length) {
    const bb = new Set(bound);
    for (let pass = 0; pass < 2; pass++) {
      let ok = true;
      for (let i = 0; i < a.items.length; i++) {
        if (canUnify(a.items[i]!, b.items[i]!, bb)) {
          outVars(a.items[i]!, bb, true);
          outVars(b.items[i]!, bb, true);
        } else ok = false;
      }
      if (ok) return true;
    }
    return false;
  }
  if (a.type === 'object' && b.type === 'object' && a.items.length === b.items.length) {
    return a.items.every(([, v], i) => canUnify(v, b.items[i]![1], bound));
  }
  return false;
}

interface Analysis {
  need: Set<string>;
  out: Set<string>;
  ready: (bound: Set<string>) => boolean;
}

function analyze(e: Expr, scope: Set<string>): Analysis {
  const need = new Set<string>();
  const out = new Set<string>();
  for (const w of e.withs) needVars(w.value, need, scope, false);
  let extra: (bound: Set<string>) => boolean = () => true;
  switch (e.kind) {
    case 'term': {
      const t = e.term;
      if (t.type === 'call' && t.target) {
        const ar = callArity(t);
        if (ar >= 0 && t.args.length === ar + 1) {
          t.args.slice(0, ar).forEach((a) => needVars(a, need, scope, false));
          const last = t.args[ar]!;
          needVars(last, need, scope, true);
          outVars(last, out, true);
          break;
        }
      }
      needVars(t, need, scope, false);
      outVars(t, out, false);
      break;
    }
    case 'unify':
    case 'assign':
      needVars(e.left, need, scope, true);
      needVars(e.right, need, scope, true);
      outVars(e.left, out, true);
      outVars(e.right, out, true);
      extra = (bound) => canUnify(e.left, e.right, bound);
      break;
    case 'some':
      break;
    case 'somein':
      needVars(e.coll, need, scope, false);
      outVars(e.coll, out, false);
      if (e.key) {
        needVars(e.key, need, scope, true);
        outVars(e.key, out, true);
      }
      needVars(e.value, need, scope, true);
      outVars(e.value, out, true);
      break;
    case 'every': {
      needVars(e.coll, need, scope, false);
      const inner = new Set<string>();
      e.body.forEach((x) => varsOfExpr(x, inner));
      for (const v of inner) if (scope.has(v) && isLocal(v)) need.add(v);
      const decl = new Set<string>();
      if (e.key) varsOfTerm(e.key, decl);
      varsOfTerm(e.value, decl);
      for (const v of decl) need.delete(v);
      break;
    }
    case 'not': {
      const all = varsOfExpr(e.expr, new Set());
      for (const v of all) if (isLocal(v) && !v.startsWith('$')) need.add(v);
      // vars declared inside nested comprehensions/every bodies of the negated expr are not required
      const decl = new Set<string>();
      declaredLocalsInner(e.expr, decl);
      for (const v of decl) if (!scope.has(v)) need.delete(v);
      break;
    }
  }
  for (const v of out) need.delete(v);
  return { need, out, ready: (bound) => [...need].every((v) => bound.has(v)) && extra(bound) };
}

function declaredLocalsInner(e: Expr, out: Set<string>): void {
  visitExpr(e, (t) => {
    if (t.type === 'arraycomp' || t.type === 'setcomp' || t.type === 'objectcomp') {
      const s = varsOfTerm(t, new Set());
      s.forEach((v) => out.add(v));
    }
  });
}

export function callArity(t: Term & { type: 'call' }): number {
  const target = t.target!;
  if (target.kind === 'builtin') {
    const c = CORE_CALLS[target.name];
    if (c !== undefined) return c;
    return (t as unknown as { arity?: number }).arity ?? -2;
  }
  return (t as unknown as { arity?: number }).arity ?? -2;
}

/** Vars an expression declares with `:=` / `some` (at this level). */
function declaredHere(e: Expr): Set<string> {
  const out = new Set<string>();
  if (e.kind === 'assign') varsOfTerm(e.left, out);
  else if (e.kind === 'some') e.vars.forEach((v) => out.add(v));
  else if (e.kind === 'somein') {
    if (e.key) varsOfTerm(e.key, out);
    varsOfTerm(e.value, out);
  }
  return out;
}

const EMPTY_SCOPE = new Set<string>();

/** Reorders a body so every expression's inputs are bound before it runs; recurses into nested bodies. */
export function orderBody(body: Expr[], bound: Set<string>, outerScope: Set<string>): Expr[] {
  const assigned = new Set<string>();
  for (const e of body) {
    if (e.kind !== 'assign') continue;
    for (const v of varsOfTerm(e.left, new Set())) {
      if (v.startsWith('$')) continue;
      if (assigned.has(v)) throw new RegoError('rego_compile_error', `var ${v} assigned above`, e.loc);
      assigned.add(v);
    }
  }
  const outs = body.map((e) => analyze(e, EMPTY_SCOPE).out);
  const declIdx = new Map<string, number>();
  body.forEach((e, i) => declaredHere(e).forEach((v) => (declIdx.has(v) ? undefined : declIdx.set(v, i))));
  const scopeFor = (i: number): Set<string> => {
    const sc = new Set(outerScope);
    bound.forEach((v) => sc.add(v));
    outs.forEach((vs, j) => {
      if (j === i) return;
      vs.forEach((v) => {
        const d = declIdx.get(v);
        if (d === undefined || d <= i) sc.add(v);
      });
    });
    return sc;
  };
  const scopes = body.map((_, i) => scopeFor(i));
  const remaining = body.map((e, i) => ({ e, i }));
  const out: Expr[] = [];
  const b = new Set(bound);
  while (remaining.length > 0) {
    let picked = -1;
    let analysis: Analysis | undefined;
    for (let j = 0; j < remaining.length; j++) {
      const { e, i } = remaining[j]!;
      const a = analyze(e, scopes[i]!);
      if (a.ready(b)) {
        picked = j;
        analysis = a;
        break;
      }
    }
    if (picked < 0) {
      const { e, i } = remaining[0]!;
      const a = analyze(e, scopes[i]!);
      const unsafe = [...a.need].filter((v) => !b.has(v)).sort();
      const names = unsafe.length > 0 ? unsafe : [...a.out].filter((v) => !b.has(v)).sort();
      const shown = names.filter((v) => !v.startsWith('$'));
      const name = shown[0] ?? names[0];
      let loc = e.loc;
      if (name !== undefined) {
        let found: Location | undefined;
        visitExpr(e, (t) => {
          if (!found && t.type === 'var' && t.name === name) found = t.loc;
        });
        if (found) loc = found;
      }
      throw new RegoError('rego_unsafe_var_error', `var ${displayVar(shown[0] ?? '$')} is unsafe`, loc);
    }
    const { e, i } = remaining.splice(picked, 1)[0]!;
    const ordered = orderNested(e, b, scopes[i]!);
    const det = detMode(ordered, analysis!, b);
    if (det) (ordered as { det?: number }).det = det;
    out.push(ordered);
    analysis!.out.forEach((v) => b.add(v));
  }
  bound.clear();
  b.forEach((v) => bound.add(v));
  return out;
}

function hasRelationalCall(e: Expr): boolean {
  let found = false;
  visitExpr(e, (t) => {
    if (t.type === 'call' && t.target?.kind === 'builtin' && t.target.name === 'walk') found = true;
  });
  return found;
}

/**
 * Evaluation mode of an expression at its place in the ordered body: 1 = binds nothing (a check: at most one
 * solution matters), 2 = `x := term` / `x = term` binding one unbound var to a deterministic term, 0 = general.
 * The evaluator runs modes 1 and 2 in a loop instead of nesting continuations, so long bodies need no deep stack.
 */
function detMode(e: Expr, a: Analysis, bound: Set<string>): number {
  if (hasRelationalCall(e)) return 0;
  const unboundOut = [...a.out].filter((v) => !bound.has(v));
  if (unboundOut.length === 0 && e.kind !== 'somein') return 1;
  if (e.withs.length > 0 || (e.kind !== 'assign' && e.kind !== 'unify')) return 0;
  const { left, right } = e;
  const single = (x: Term, y: Term): boolean => {
    if (x.type !== 'var' || bound.has(x.name) || !isLocal(x.name)) return false;
    // every variable of y (outside comprehensions) already bound: y has exactly one value or none
    for (const v of varsOutsideComps(y)) if (isLocal(v) && !bound.has(v)) return false;
    return true;
  };
  if (single(left, right)) return 2;
  if (e.kind === 'unify' && single(right, left)) return 3;
  return 0;
}

/** Orders the bodies of comprehensions directly inside a term (e.g. a rule head) given the bound vars. */
export function orderTermComps(t: Term, bound: Set<string>, scope: Set<string>): void {
  visitTermShallowComps(t, (c) => {
    const inner = new Set(bound);
    const ordered = orderBody(c.body, inner, scope);
    c.body.splice(0, c.body.length, ...ordered);
    const head: Term[] = c.type === 'objectcomp' ? [c.key, c.value] : [c.term];
    for (const h of head) {
      orderTermComps(h, inner, new Set([...scope, ...inner]));
      for (const v of varsOutsideComps(h)) {
        if (isLocal(v) && !inner.has(v)) throw new RegoError('rego_unsafe_var_error', `var ${displayVar(v)} is unsafe`, h.loc);
      }
    }
  });
}

/** Vars of a term, not looking into comprehension bodies. */
export function varsOutsideComps(t: Term, out: Set<string> = new Set()): Set<string> {
  switch (t.type) {
    case 'var':
      out.add(t.name);
      break;
    case 'ref':
      varsOutsideComps(t.head, out);
      t.path.forEach((x) => varsOutsideComps(x, out));
      break;
    case 'array':
    case 'set':
      t.items.forEach((x) => varsOutsideComps(x, out));
      break;
    case 'object':
      t.items.forEach(([k, v]) => (varsOutsideComps(k, out), varsOutsideComps(v, out)));
      break;
    case 'call':
      t.args.forEach((x) => varsOutsideComps(x, out));
      break;
  }
  return out;
}

function varsOfExprShallow(e: Expr): Set<string> {
  return varsOfExpr(e, new Set());
}

function orderNested(e: Expr, bound: Set<string>, scope: Set<string>): Expr {
  const fixTerm = (t: Term): void => orderTermComps(t, bound, scope);
  switch (e.kind) {
    case 'term':
      fixTerm(e.term);
      break;
    case 'unify':
    case 'assign':
      fixTerm(e.left);
      fixTerm(e.right);
      break;
    case 'somein':
      fixTerm(e.coll);
      break;
    case 'every': {
      fixTerm(e.coll);
      const inner = new Set(bound);
      if (e.key) outVars(e.key, inner, true);
      outVars(e.value, inner, true);
      const ordered = orderBody(e.body, inner, scope);
      e.body.splice(0, e.body.length, ...ordered);
      break;
    }
    case 'not': {
      const inner = orderNested(e.expr, bound, scope);
      return { ...e, expr: inner };
    }
  }
  for (const w of e.withs) fixTerm(w.value);
  return e;
}

/** Calls f on comprehensions directly inside t (not inside nested comprehension bodies: those are handled recursively). */
function visitTermShallowComps(t: Term, f: (c: Term & { type: 'arraycomp' | 'setcomp' | 'objectcomp' }) => void): void {
  switch (t.type) {
    case 'ref':
      visitTermShallowComps(t.head, f);
      t.path.forEach((x) => visitTermShallowComps(x, f));
      break;
    case 'array':
    case 'set':
      t.items.forEach((x) => visitTermShallowComps(x, f));
      break;
    case 'object':
      t.items.forEach(([k, v]) => {
        visitTermShallowComps(k, f);
        visitTermShallowComps(v, f);
      });
      break;
    case 'call':
      t.args.forEach((x) => visitTermShallowComps(x, f));
      break;
    case 'arraycomp':
    case 'setcomp':
    case 'objectcomp':
      f(t);
      break;
  }
}

// ------------------------------------------------------------------ tree building

let rulesetIds = 0;

export function buildCompiled(modules: Module[], builtinList: BuiltinDef[]): Compiled {
  const builtins = new Map<string, BuiltinDef>();
  for (const b of builtinList) builtins.set(b.name, b);
  const root: Node = { path: [], children: new Map(), ruleset: undefined };
  const nodeAt = (path: string[]): Node => {
    let n = root;
    for (let i = 0; i < path.length; i++) {
      let c = n.children.get(path[i]!);
      if (!c) {
        c = { path: path.slice(0, i + 1), children: new Map(), ruleset: undefined };
        n.children.set(path[i]!, c);
      }
      n = c;
    }
    return n;
  };
  // pass 1: rule names per package (functions by full name), arities
  const pkgRules = new Map<string, { names: Set<string>; funcs: Set<string> }>();
  const funcArity = new Map<string, number>();
  for (const m of modules) {
    const key = m.pkg.join('.');
    let entry = pkgRules.get(key);
    if (!entry) pkgRules.set(key, (entry = { names: new Set(), funcs: new Set() }));
    nodeAt(m.pkg.slice(1));
    for (const r of m.rules) {
      entry.names.add(r.head.path[0]!);
      if (r.head.kind === 'function') {
        entry.funcs.add(r.head.path.join('.'));
        const full = [...m.pkg.slice(1), ...r.head.path].join('.');
        const prev = funcArity.get(full);
        if (prev !== undefined && prev !== r.head.args!.length) throw new RegoError('rego_type_error', `function data.${full} has arity ${prev}, got argument(s) ${r.head.args!.length}`, r.loc);
        funcArity.set(full, r.head.args!.length);
      }
    }
  }
  const calls: Term[] = [];
  const rulesets: RuleSet[] = [];
  // METADATA: document-scope annotations by rule path, package annotations by package path
  const docAnn = new Map<string, Record<string, unknown>>();
  const pkgAnn = new Map<string, Record<string, unknown>>();
  for (const m of modules) {
    if (m.annotations) pkgAnn.set(m.pkg.slice(1).join('.'), m.annotations);
    for (const r of m.rules) if (r.annotations?.scope === 'document') docAnn.set([...m.pkg.slice(1), ...r.head.path].join('.'), r.annotations);
  }
  const metaFor = (pkg: string[], r: Rule): { rule: Value; chain: Value } => {
    const path = [...pkg, ...r.head.path];
    const chain: unknown[] = [];
    const own = r.annotations && r.annotations.scope !== 'document' ? r.annotations : undefined;
    chain.push(own ? { path, annotations: own } : { path });
    const d = docAnn.get(path.join('.'));
    if (d) chain.push({ path, annotations: d });
    for (let n = pkg.length; n >= 1; n--) {
      const a = pkgAnn.get(pkg.slice(0, n).join('.'));
      if (a) chain.push({ path: pkg.slice(0, n), annotations: a });
    }
    return { rule: fromJSON(own ?? {}), chain: fromJSON(chain) };
  };
  for (const m of modules) {
    if (m.pkg[0] !== 'data') throw new RegoError('rego_parse_error', 'package path must start with a name', m.loc);
    const pkg = m.pkg.slice(1);
    const aliases = new Map<string, Term>();
    for (const imp of m.imports) {
      const p = imp.path;
      const head = p.type === 'var' ? p.name : p.type === 'ref' && p.head.type === 'var' ? p.head.name : '';
      if (head === 'future' || head === 'rego') continue;
      if (head !== 'input' && head !== 'data') throw new RegoError('rego_parse_error', 'invalid import: must begin with input, data, future or rego', imp.loc);
      let alias = imp.alias;
      if (!alias) {
        if (p.type === 'var') alias = p.name;
        else if (p.type === 'ref') {
          const last = p.path[p.path.length - 1]!;
          if (last.type !== 'scalar' || typeof last.value !== 'string') throw new RegoError('rego_parse_error', 'invalid import path', imp.loc);
          alias = last.value;
        }
      }
      if (alias === 'input' || alias === 'data') continue;
      aliases.set(alias!, p);
    }
    const entry = pkgRules.get(m.pkg.join('.'))!;
    for (const r of m.rules) {
      const sc: Scope = { pkg, ruleNames: entry.names, funcNames: entry.funcs, aliases, locals: new Set(), builtins, calls, funcArity, meta: docAnn.size + pkgAnn.size > 0 || r.annotations ? metaFor(pkg, r) : undefined };
      const crule = compileRule(r, pkg, sc);
      const node = nodeAt(crule.path);
      let rs = node.ruleset;
      if (!rs) {
        rs = { path: crule.path, kind: crule.kind, defs: [], defaultValue: undefined, arity: crule.args?.length ?? 0, id: rulesetIds++ };
        node.ruleset = rs;
        rulesets.push(rs);
      }
      if (r.isDefault) {
        if (rs.defaultValue) throw new RegoError('rego_type_error', `multiple default rules data.${crule.path.join('.')} found`, r.loc);
        rs.defaultValue = crule.value;
        if (rs.defs.length === 0) rs.kind = crule.kind;
        else if (rs.kind !== crule.kind) throw new RegoError('rego_type_error', `conflicting rules data.${crule.path.join('.')} found`, r.loc);
        continue;
      }
      if (rs.defs.length === 0 && !rs.defaultValue) rs.kind = crule.kind;
      if (rs.kind !== crule.kind) throw new RegoError('rego_type_error', `conflicting rules data.${crule.path.join('.')} found`, r.loc);
      rs.defs.push(crule);
    }
  }
  // nodes with rules and children conflict
  const check = (n: Node): void => {
    if (n.ruleset && n.children.size > 0 && n.ruleset.kind !== 'partialobject') {
      throw new RegoError('rego_type_error', `rule data.${n.path.join('.')} conflicts with [data.${[...n.children.values()][0]!.path.join('.')}]`, n.ruleset.defs[0]?.loc);
    }
    n.children.forEach(check);
  };
  check(root);
  // link user calls: target must be a function
  for (const c of calls) {
    if (c.type !== 'call' || c.target?.kind !== 'user') continue;
    let n: Node | undefined = root;
    for (const p of c.target.path) n = n?.children.get(p);
    if (!n?.ruleset || n.ruleset.kind !== 'function') {
      throw new RegoError('rego_type_error', `undefined function data.${c.target.path.join('.')}`, c.loc);
    }
    const ar = n.ruleset.arity;
    (c as { arity?: number }).arity = ar;
    if (c.args.length !== ar && c.args.length !== ar + 1) throw new RegoError('rego_type_error', `data.${c.target.path.join('.')}: ${c.args.length < ar ? 'too few' : 'too many'} arguments`, c.loc);
  }
  checkRecursion(root, rulesets);
  for (const rs of rulesets) {
    if (rs.kind !== 'complete' || rs.defs.length === 0) continue;
    let v: Value | undefined;
    for (const d of rs.defs) {
      const b = d.body;
      const trivial = d.elseChain.length === 0 && b.length === 1 && b[0]!.kind === 'term' && b[0]!.withs.length === 0 && (b[0] as Expr & { kind: 'term' }).term.type === 'scalar' && (b[0] as Expr & { kind: 'term' }).term.type === 'scalar' && ((b[0] as Expr & { kind: 'term' }).term as { value: Value }).value === true;
      const c = trivial ? constValue(d.value) : undefined;
      if (c === undefined || (v !== undefined && !equalValues(v, c))) {
        v = undefined;
        break;
      }
      v = c;
    }
    if (v !== undefined) rs.constant = v;
  }
  return { root, builtins, rulesets, calls };
}

function compileRule(r: Rule, pkg: string[], sc: Scope): CRule {
  const locals = new Set<string>();
  const argVars = new Set<string>();
  for (const a of r.head.args ?? []) varsOfTerm(a, argVars);
  argVars.forEach((v) => locals.add(v));
  declaredLocals(r.body, locals);
  for (const e of r.elseChain) declaredLocals(e.body, locals);
  sc.locals = locals;
  const path = [...pkg, ...r.head.path];
  const kind = r.head.kind;
  const trueTerm: Term = { type: 'scalar', value: true, loc: r.loc };
  const args = r.head.args?.map((a) => resolveTerm(a, sc));
  const key = r.head.key && resolveTerm(r.head.key, sc);
  const value = r.head.value ? resolveTerm(r.head.value, sc) : trueTerm;
  if (r.isDefault) {
    if (constValue(value) === undefined && value.type !== 'scalar') {
      orderTermComps(value, new Set(), new Set());
      const vs = varsOutsideComps(value);
      if ([...vs].some(isLocal)) throw new RegoError('rego_compile_error', `default rule data.${path.join('.')} value cannot contain variables`, r.loc);
    }
    return { kind, path, args, key: undefined, value, body: [], elseChain: [], loc: r.loc };
  }
  let hv = 0;
  /** Moves non-simple head terms (refs, calls) into the body so their iteration/undefinedness is handled there. */
  const lift = (t: Term, extra: Expr[]): Term => {
    if (t.type === 'ref' || t.type === 'call') {
      const v: Term = { type: 'var', name: `$h${hv++}`, loc: t.loc };
      extra.push({ kind: 'unify', left: v, right: t, loc: t.loc, withs: [] });
      return v;
    }
    return t;
  };
  const bodyOf = (b: Expr[], heads: Term[]): { body: Expr[]; heads: Term[] } => {
    const resolved = b.map((e) => resolveExpr(e, sc));
    const extra: Expr[] = [];
    const lifted = heads.map((t) => lift(t, extra));
    const bound = new Set<string>(argVars);
    const ordered = orderBody([...resolved, ...extra], bound, new Set(argVars));
    for (const t of lifted) {
      orderTermComps(t, bound, bound);
      for (const v of varsOutsideComps(t)) {
        if (isLocal(v) && !bound.has(v)) throw new RegoError('rego_unsafe_var_error', `var ${displayVar(v)} is unsafe`, t.loc);
      }
    }
    return { body: ordered, heads: lifted };
  };
  const main = bodyOf(r.body, key ? [value, key] : [value]);
  const body = main.body;
  const value2 = main.heads[0]!;
  const key2 = key ? main.heads[1] : undefined;
  const elseChain = r.elseChain.map((e) => {
    const v = e.value ? resolveTerm(e.value, sc) : trueTerm;
    const x = bodyOf(e.body, [v]);
    return { value: x.heads[0]!, body: x.body };
  });
  return { kind, path, args, key: key2, value: value2, body, elseChain, loc: r.loc };
}

/** Compiles a query body (no package): returns the ordered body. */
export function compileQuery(exprs: Expr[], compiled: Compiled): Expr[] {
  return compileQueryParts(exprs, compiled).body;
}

/** Compiles a query; returns the ordered body and the resolved expressions in source order. */
export function compileQueryParts(exprs: Expr[], compiled: Compiled): { body: Expr[]; resolved: Expr[] } {
  const sc: Scope = { pkg: [], ruleNames: new Set(), funcNames: new Set(), aliases: new Map(), locals: new Set(), builtins: compiled.builtins, calls: [] };
  declaredLocals(exprs, sc.locals);
  const resolved = exprs.map((e) => resolveExpr(e, sc));
  for (const c of sc.calls) {
    if (c.type !== 'call' || c.target?.kind !== 'user') continue;
    let n: Node | undefined = compiled.root;
    for (const p of c.target.path) n = n?.children.get(p);
    if (!n?.ruleset || n.ruleset.kind !== 'function') throw new RegoError('rego_type_error', `undefined function data.${c.target.path.join('.')}`, c.loc);
    (c as { arity?: number }).arity = n.ruleset.arity;
  }
  for (const c of sc.calls) {
    if (c.type === 'call' && c.target?.kind === 'builtin' && compiled.builtins.has(c.target.name)) (c as { arity?: number }).arity = compiled.builtins.get(c.target.name)!.args.length;
  }
  return { body: orderBody(resolved, new Set(), new Set()), resolved };
}

/** Sets the arity of builtin call terms (used by safety analysis of output arguments). */
export function annotateBuiltinArity(calls: Term[], builtins: Map<string, BuiltinDef>): void {
  for (const c of calls) {
    if (c.type === 'call' && c.target?.kind === 'builtin' && builtins.has(c.target.name)) (c as { arity?: number }).arity = builtins.get(c.target.name)!.args.length;
  }
}

// ------------------------------------------------------------------ recursion

function checkRecursion(root: Node, rulesets: RuleSet[]): void {
  const deps = new Map<RuleSet, Set<RuleSet>>();
  const subtree = (n: Node, out: Set<RuleSet>): void => {
    if (n.ruleset) out.add(n.ruleset);
    n.children.forEach((c) => subtree(c, out));
  };
  for (const rs of rulesets) {
    const out = new Set<RuleSet>();
    const heads = new Set<Term>();
    const onTerm = (t: Term): void => {
      if (t.type === 'ref') heads.add(t.head);
      if (t.type === 'ref' && t.head.type === 'var' && t.head.name === 'data') {
        let n: Node | undefined = root;
        for (const p of t.path) {
          if (n.ruleset) break;
          if (p.type === 'scalar' && typeof p.value === 'string') {
            const c: Node | undefined = n.children.get(p.value);
            if (!c) {
              n = undefined;
              break;
            }
            n = c;
          } else break;
        }
        if (n) {
          if (n.ruleset) out.add(n.ruleset);
          else subtree(n, out);
        }
      } else if (t.type === 'var' && t.name === 'data' && !heads.has(t)) {
        subtree(root, out);
      } else if (t.type === 'call' && t.target?.kind === 'user') {
        let n: Node | undefined = root;
        for (const p of t.target.path) n = n?.children.get(p);
        if (n?.ruleset) out.add(n.ruleset);
      }
    };
    for (const d of rs.defs) {
      d.body.forEach((e) => visitExpr(e, onTerm));
      visitTerm(d.value, onTerm);
      if (d.key) visitTerm(d.key, onTerm);
      d.args?.forEach((a) => visitTerm(a, onTerm));
      d.elseChain.forEach((e) => {
        e.body.forEach((x) => visitExpr(x, onTerm));
        visitTerm(e.value, onTerm);
      });
    }
    deps.set(rs, out);
  }
  const state = new Map<RuleSet, number>();
  const stack: RuleSet[] = [];
  const dfs = (rs: RuleSet): void => {
    state.set(rs, 1);
    stack.push(rs);
    for (const d of deps.get(rs) ?? []) {
      const s = state.get(d);
      if (s === 1) {
        const cyc = stack.slice(stack.indexOf(d)).map((x) => 'data.' + x.path.join('.'));
        throw new RegoError('rego_recursion_error', `rule data.${d.path.join('.')} is recursive: ${[...cyc, 'data.' + d.path.join('.')].join(' -> ')}`, d.defs[0]?.loc);
      }
      if (s === undefined) dfs(d);
    }
    stack.pop();
    state.set(rs, 2);
  };
  for (const rs of rulesets) if (!state.has(rs)) dfs(rs);
}

export { RegoObject };
