/** OPA's JSON form of a parsed module (as `opa parse --format json` / `rego.parse_module` return it). */
import type { Expr, Module, Rule, Term } from './ast.js';
import { jsonText, RegoObject, RegoSet, type Value } from './value.js';

type J = null | boolean | number | string | J[] | { [k: string]: J };

function valueJSON(v: Value): J {
  if (v === null) return { type: 'null' };
  switch (typeof v) {
    case 'boolean':
      return { type: 'boolean', value: v };
    case 'number':
      return { type: 'number', value: v };
    case 'bigint':
      return { type: 'number', value: Number(jsonText(v)) };
    case 'string':
      return { type: 'string', value: v };
  }
  if (Array.isArray(v)) return { type: 'array', value: v.map(valueJSON) };
  if (v instanceof RegoObject) return { type: 'object', value: v.entries().map(([k, x]) => [valueJSON(k), valueJSON(x)]) };
  return { type: 'set', value: (v as RegoSet).values().map(valueJSON) };
}

function nameRef(name: string): J {
  const [head, ...rest] = name.split('.');
  return { type: 'ref', value: [{ type: 'var', value: head! }, ...rest.map((s) => ({ type: 'string', value: s }) as J)] };
}

export function termJSON(t: Term): J {
  switch (t.type) {
    case 'scalar':
      return valueJSON(t.value);
    case 'var':
      return { type: 'var', value: t.name.startsWith('$') ? '_' : t.name };
    case 'ref':
      return { type: 'ref', value: [termJSON(t.head), ...t.path.map(termJSON)] };
    case 'array':
    case 'set':
      return { type: t.type, value: t.items.map(termJSON) };
    case 'object':
      return { type: 'object', value: t.items.map(([k, v]) => [termJSON(k), termJSON(v)]) };
    case 'call':
      return { type: 'call', value: [nameRef(t.name), ...t.args.map(termJSON)] };
    case 'arraycomp':
      return { type: 'arraycomprehension', value: { term: termJSON(t.term), body: bodyJSON(t.body) } };
    case 'setcomp':
      return { type: 'setcomprehension', value: { term: termJSON(t.term), body: bodyJSON(t.body) } };
    case 'objectcomp':
      return { type: 'objectcomprehension', value: { key: termJSON(t.key), value: termJSON(t.value), body: bodyJSON(t.body) } };
  }
}

function exprTerms(e: Expr): J {
  switch (e.kind) {
    case 'term':
      // a call expression is a list of terms: operator, operands
      return e.term.type === 'call' ? [nameRef(e.term.name), ...e.term.args.map(termJSON)] : termJSON(e.term);
    case 'unify':
      return [nameRef('eq'), termJSON(e.left), termJSON(e.right)];
    case 'assign':
      return [nameRef('assign'), termJSON(e.left), termJSON(e.right)];
    case 'some':
      return { symbols: e.vars.map((v) => ({ type: 'var', value: v })) };
    case 'somein':
      return { symbols: [{ type: 'call', value: [nameRef(e.key ? 'internal.member_3' : 'internal.member_2'), ...(e.key ? [termJSON(e.key)] : []), termJSON(e.value), termJSON(e.coll)] }] };
    case 'every':
      return { ...(e.key ? { key: termJSON(e.key) } : {}), value: termJSON(e.value), domain: termJSON(e.coll), body: bodyJSON(e.body) };
    case 'not':
      return exprTerms(e.expr);
  }
}

function exprJSON(e: Expr, index: number): J {
  const out: { [k: string]: J } = { index, terms: exprTerms(e) };
  if (e.kind === 'not') out.negated = true;
  const withs = e.kind === 'not' ? [...e.expr.withs, ...e.withs] : e.withs;
  if (withs.length > 0) out.with = withs.map((w) => ({ target: termJSON(w.target), value: termJSON(w.value) }));
  return out;
}

function bodyJSON(b: Expr[]): J {
  return b.map((e, i) => exprJSON(e, i));
}

function ruleJSON(r: Rule): J {
  const h = r.head;
  const head: { [k: string]: J } = {
    name: h.path.join('.'),
    ref: [{ type: 'var', value: h.path[0]! }, ...h.path.slice(1).map((s) => ({ type: 'string', value: s }) as J), ...(h.key && h.kind !== 'partialset' ? [termJSON(h.key)] : [])],
  };
  if (h.args) head.args = h.args.map(termJSON);
  if (h.kind === 'partialset' && h.key) head.key = termJSON(h.key);
  if (h.kind === 'partialobject' && h.key) head.key = termJSON(h.key);
  if (h.kind !== 'partialset') head.value = h.value ? termJSON(h.value) : { type: 'boolean', value: true };
  if (h.assign) head.assign = true;
  const out: { [k: string]: J } = { head, body: bodyJSON(r.body) };
  if (r.isDefault) out.default = true;
  let cur = out;
  for (const e of r.elseChain) {
    const next: { [k: string]: J } = { head: { ...head, value: e.value ? termJSON(e.value) : { type: 'boolean', value: true } }, body: bodyJSON(e.body) };
    cur.else = next;
    cur = next;
  }
  return out;
}

export function moduleJSON(m: Module): J {
  const out: { [k: string]: J } = {
    package: { path: [{ type: 'var', value: 'data' }, ...m.pkg.slice(1).map((s) => ({ type: 'string', value: s }) as J)] },
  };
  if (m.imports.length > 0) {
    out.imports = m.imports.map((i): J => (i.alias ? { path: termJSON(i.path), alias: i.alias } : { path: termJSON(i.path) }));
  }
  if (m.rules.length > 0) out.rules = m.rules.map(ruleJSON);
  return out;
}

