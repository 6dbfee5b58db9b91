/**
 * strings.render_template: the common part of Go's text/template as OPA runs it (variables converted through JSON, so
 * numbers are float64; option missingkey=error). Supported: text, {{pipeline}}, {{- trim -}}, comments, fields
 * (.a.b, $x.a), variables ($x := …, range $i, $v := …), if / else if / else, range (with else), with, literals, and
 * the functions and, or, not, len, index, eq, ne, lt, le, gt, ge, print, printf, println. Anything else is a
 * template error.
 */
import { def, asString, asObject, builtinError } from './util.js';
import type { BuiltinDef } from './util.js';
import { toJSON } from '../value.js';
import type { JsonValue } from '../value.js';
import { goSprintf, fmtFloat } from './sprintf.js';
import { fromJSON } from '../value.js';

type Node =
  | { k: 'text'; s: string }
  | { k: 'action'; p: Pipe }
  | { k: 'if' | 'with'; p: Pipe; then: Node[]; els: Node[] }
  | { k: 'range'; p: Pipe; then: Node[]; els: Node[] };

interface Pipe {
  decl: string[];
  cmds: Arg[][];
}

type Arg =
  | { k: 'field'; base: '.' | string; path: string[] }
  | { k: 'lit'; v: JsonValue }
  | { k: 'fn'; name: string }
  | { k: 'pipe'; p: Pipe };

class TemplateError extends Error {}

// ---- lexing actions

function splitActions(src: string): { text: string; action?: string }[] {
  const out: { text: string; action?: string }[] = [];
  let i = 0;
  let pendingTrim = false;
  while (i <= src.length) {
    const open = src.indexOf('{{', i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (pendingTrim) text = text.replace(/^\s+/, '');
    if (open < 0) {
      out.push({ text });
      break;
    }
    let inner = open + 2;
    const trimLeft = src.startsWith('- ', inner) || src.startsWith('-\t', inner) || src.startsWith('-\n', inner);
    if (trimLeft) {
      text = text.replace(/\s+$/, '');
      inner += 1;
    }
    // Find the closing }} outside of string literals.
    let j = inner;
    let quote = '';
    for (; j < src.length; j++) {
      const c = src[j]!;
      if (quote) {
        if (c === '\\' && quote === '"') j++;
        else if (c === quote) quote = '';
      } else if (c === '"' || c === '`' || c === "'") quote = c;
      else if (src.startsWith('}}', j)) break;
    }
    if (j >= src.length) throw new TemplateError('unclosed action');
    let body = src.slice(inner, j);
    pendingTrim = /\s-$/.test(body);
    if (pendingTrim) body = body.slice(0, -1);
    out.push({ text, action: body.trim() });
    i = j + 2;
  }
  return out;
}

function tokenize(s: string): string[] {
  const toks: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|'(?:[^'\\]|\\.)*'|:=|=|\||\(|\)|,|\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*|(?:\.[A-Za-z0-9_]+)+|\.|[-+]?[0-9][0-9.eE+-]*|[A-Za-z_][A-Za-z0-9_]*)/y;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    m = re.exec(s);
    if (!m) {
      if (/^\s*$/.test(s.slice(pos))) break;
      throw new TemplateError(`unexpected ${JSON.stringify(s.slice(pos).trim()[0])} in command`);
    }
    toks.push(m[1]!);
    pos = re.lastIndex;
  }
  return toks;
}

const FUNCS = new Set(['and', 'or', 'not', 'len', 'index', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'print', 'printf', 'println']);

function parsePipe(toks: string[]): Pipe {
  let pos = 0;
  const decl: string[] = [];
  const declEnd = toks.findIndex((t) => t === ':=' || t === '=');
  if (declEnd > 0 && toks.slice(0, declEnd).every((t, i) => (i % 2 === 0 ? /^\$[A-Za-z0-9_]*$/.test(t) : t === ','))) {
    for (let i = 0; i < declEnd; i += 2) decl.push(toks[i]!);
    pos = declEnd + 1;
  }
  const parseCmds = (end: string | undefined): Arg[][] => {
    const cmds: Arg[][] = [[]];
    while (pos < toks.length) {
      const t = toks[pos++]!;
      if (t === end) return cmds;
      if (t === '|') {
        cmds.push([]);
        continue;
      }
      cmds[cmds.length - 1]!.push(parseArg(t));
    }
    if (end) throw new TemplateError('unclosed left paren');
    return cmds;
  };
  const parseArg = (t: string): Arg => {
    if (t === '(') return { k: 'pipe', p: { decl: [], cmds: parseCmds(')') } };
    if (t === '.') return { k: 'field', base: '.', path: [] };
    if (t.startsWith('.')) return { k: 'field', base: '.', path: t.slice(1).split('.') };
    if (t.startsWith('$')) {
      const [v, ...path] = t.split('.');
      return { k: 'field', base: v!, path };
    }
    if (t.startsWith('"')) return { k: 'lit', v: JSON.parse(t) as string };
    if (t.startsWith('`')) return { k: 'lit', v: t.slice(1, -1) };
    if (t.startsWith("'")) return { k: 'lit', v: (JSON.parse(`"${t.slice(1, -1).replace(/"/g, '\\"')}"`) as string).codePointAt(0)! };
    if (/^[-+]?[0-9]/.test(t)) {
      const n = Number(t);
      if (!Number.isFinite(n)) throw new TemplateError(`bad number syntax: ${JSON.stringify(t)}`);
      return { k: 'lit', v: n };
    }
    if (t === 'true' || t === 'false') return { k: 'lit', v: t === 'true' };
    if (t === 'nil') return { k: 'lit', v: null };
    if (FUNCS.has(t)) return { k: 'fn', name: t };
    throw new TemplateError(`function ${JSON.stringify(t)} not defined`);
  };
  const cmds = parseCmds(undefined);
  if (cmds.some((c) => c.length === 0)) throw new TemplateError('missing value for command');
  return { decl, cmds };
}

function parse(src: string): Node[] {
  const parts = splitActions(src);
  let i = 0;
  /** With `single`, returns right after the first block (the nested block of an {{else if …}} chain). */
  const parseList = (terminators: string[], single = false): { nodes: Node[]; end: string } => {
    const nodes: Node[] = [];
    while (i < parts.length) {
      const part = parts[i++]!;
      if (part.text) nodes.push({ k: 'text', s: part.text });
      if (part.action === undefined) continue;
      const a = part.action;
      if (a.startsWith('/*')) {
        if (!a.endsWith('*/')) throw new TemplateError('unclosed comment');
        continue;
      }
      const word = /^[a-z]+/.exec(a)?.[0];
      if (word === 'end' || word === 'else') {
        if (!terminators.includes(word)) throw new TemplateError(`unexpected {{${word}}}`);
        if (word === 'else' && a !== 'else') {
          // {{else if …}} / {{else with …}}: an else branch holding one nested block.
          parts.splice(i, 0, { text: '', action: a.slice(5).trim() });
          return { nodes, end: 'else-chain' };
        }
        return { nodes, end: word };
      }
      if (word === 'if' || word === 'range' || word === 'with') {
        const p = parsePipe(tokenize(a.slice(word.length)));
        const body = parseList(['end', 'else']);
        let els: Node[] = [];
        if (body.end === 'else') els = parseList(['end']).nodes;
        else if (body.end === 'else-chain') els = parseList([], true).nodes; // the nested block takes the shared {{end}}
        nodes.push({ k: word, p, then: body.nodes, els } as Node);
        if (single) return { nodes, end: 'end' };
        continue;
      }
      if (word === 'define' || word === 'template' || word === 'block') throw new TemplateError(`{{${word}}} is not supported`);
      nodes.push({ k: 'action', p: parsePipe(tokenize(a)) });
    }
    if (terminators.length || single) throw new TemplateError('unexpected EOF');
    return { nodes, end: 'eof' };
  };
  return parseList([]).nodes;
}

// ---- evaluation

type V = JsonValue | undefined;

function truth(v: V): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/** Go's %v of JSON-decoded values (float64, []interface{}, map[string]interface{}). */
function show(v: V): string {
  if (v === undefined || v === null) return '<no value>';
  if (typeof v === 'number') return fmtFloat(v, 'v', { minus: false, plus: false, sharp: false, space: false, zero: false });
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return '[' + v.map((x) => (x === null ? '<nil>' : show(x))).join(' ') + ']';
  return 'map[' + Object.keys(v).sort().map((k) => `${k}:${v[k] === null ? '<nil>' : show(v[k])}`).join(' ') + ']';
}

class Scope {
  private readonly vars: Map<string, V>[] = [];
  constructor(root: V) {
    this.vars.push(new Map([['$', root]]));
  }
  push(): void {
    this.vars.push(new Map());
  }
  pop(): void {
    this.vars.pop();
  }
  set(name: string, v: V): void {
    this.vars[this.vars.length - 1]!.set(name, v);
  }
  get(name: string): V {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]!.has(name)) return this.vars[i]!.get(name);
    throw new TemplateError(`undefined variable: ${name}`);
  }
}

function field(v: V, path: string[], label: string): V {
  let cur = v;
  for (const p of path) {
    if (cur === null || cur === undefined || typeof cur !== 'object' || Array.isArray(cur)) {
      throw new TemplateError(`executing "template" at <${label}>: can't evaluate field ${p} in type ${Array.isArray(cur) ? '[]interface {}' : 'interface {}'}`);
    }
    if (!(p in cur)) throw new TemplateError(`executing "template" at <${label}>: map has no entry for key ${JSON.stringify(p)}`);
    cur = (cur as Record<string, JsonValue>)[p];
  }
  return cur;
}

function compareBasic(name: string, a: V, b: V): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean' && (name === 'eq' || name === 'ne')) return a === b ? 0 : 1;
  throw new TemplateError(`error calling ${name}: incompatible types for comparison`);
}

function callFn(name: string, args: V[]): V {
  switch (name) {
    case 'and': {
      for (const a of args) if (!truth(a)) return a;
      return args[args.length - 1];
    }
    case 'or': {
      for (const a of args) if (truth(a)) return a;
      return args[args.length - 1];
    }
    case 'not':
      return !truth(args[0]);
    case 'len': {
      const a = args[0];
      if (typeof a === 'string') return Buffer.byteLength(a, 'utf8');
      if (Array.isArray(a)) return a.length;
      if (a && typeof a === 'object') return Object.keys(a).length;
      throw new TemplateError(`error calling len: len of ${a === null || a === undefined ? 'nil' : typeof a}`);
    }
    case 'index': {
      let cur = args[0];
      for (const ix of args.slice(1)) {
        if (Array.isArray(cur) && typeof ix === 'number') {
          if (ix < 0 || ix >= cur.length) throw new TemplateError(`error calling index: index out of range: ${ix}`);
          cur = cur[ix];
        } else if (cur && typeof cur === 'object' && !Array.isArray(cur) && typeof ix === 'string') cur = cur[ix];
        else throw new TemplateError('error calling index: cannot index');
      }
      return cur;
    }
    case 'eq':
      return args.slice(1).some((b) => compareBasic('eq', args[0], b) === 0);
    case 'ne':
      return compareBasic('ne', args[0], args[1]) !== 0;
    case 'lt':
      return compareBasic('lt', args[0], args[1]) < 0;
    case 'le':
      return compareBasic('le', args[0], args[1]) <= 0;
    case 'gt':
      return compareBasic('gt', args[0], args[1]) > 0;
    case 'ge':
      return compareBasic('ge', args[0], args[1]) >= 0;
    case 'print':
    case 'println': {
      // fmt.Sprint adds spaces between operands when neither is a string.
      let out = '';
      args.forEach((a, i) => {
        if (i > 0 && (name === 'println' || (typeof a !== 'string' && typeof args[i - 1] !== 'string'))) out += ' ';
        out += show(a);
      });
      return name === 'println' ? out + '\n' : out;
    }
    case 'printf': {
      const [f, ...rest] = args;
      if (typeof f !== 'string') throw new TemplateError('error calling printf: format must be a string');
      return goSprintf(f, rest.map((x) => fromJSON(x === undefined ? null : x)));
    }
  }
  throw new TemplateError(`function ${JSON.stringify(name)} not defined`);
}

function evalArg(a: Arg, dot: V, scope: Scope, label: string): V {
  switch (a.k) {
    case 'lit':
      return a.v;
    case 'field':
      return field(a.base === '.' ? dot : scope.get(a.base), a.path, label);
    case 'pipe':
      return evalPipe(a.p, dot, scope);
    case 'fn':
      return callFn(a.name, []);
  }
}

function evalPipe(p: Pipe, dot: V, scope: Scope): V {
  let prev: V;
  let havePrev = false;
  for (const cmd of p.cmds) {
    const head = cmd[0]!;
    const label = head.k === 'field' ? (head.base === '.' ? '.' + head.path.join('.') : [head.base, ...head.path].join('.')) : '';
    let v: V;
    if (head.k === 'fn') {
      const args = cmd.slice(1).map((x) => evalArg(x, dot, scope, label));
      if (havePrev) args.push(prev);
      v = callFn(head.name, args);
    } else {
      if (cmd.length > 1 || havePrev) throw new TemplateError(`can't give argument to non-function ${label || 'value'}`);
      v = evalArg(head, dot, scope, label);
    }
    prev = v;
    havePrev = true;
  }
  for (const name of p.decl) scope.set(name, prev);
  return prev;
}

const MAX_OUTPUT_PARTS = 1_000_000;

/** Nested ranges multiply output; refuse renderings that grow without bound. */
function budget(out: string[]): void {
  if (out.length > MAX_OUTPUT_PARTS) throw new TemplateError('output too large');
}

function exec(nodes: Node[], dot: V, scope: Scope, out: string[]): void {
  for (const n of nodes) {
    switch (n.k) {
      case 'text':
        out.push(n.s);
        budget(out);
        break;
      case 'action': {
        const v = evalPipe(n.p, dot, scope);
        if (n.p.decl.length === 0) out.push(show(v));
        budget(out);
        break;
      }
      case 'if':
      case 'with': {
        scope.push();
        const v = evalPipe(n.p, dot, scope);
        if (truth(v)) exec(n.then, n.k === 'with' ? v : dot, scope, out);
        else exec(n.els, dot, scope, out);
        scope.pop();
        break;
      }
      case 'range': {
        scope.push();
        const decl = n.p.decl;
        const v = evalPipe({ decl: [], cmds: n.p.cmds }, dot, scope);
        const entries: [V, V][] = Array.isArray(v)
          ? v.map((x, i) => [i, x])
          : v && typeof v === 'object'
            ? Object.keys(v).sort().map((k) => [k, v[k]])
            : v === null || v === undefined
                ? []
                : (() => {
                    throw new TemplateError(`range can't iterate over ${show(v)}`);
                  })();
        if (entries.length === 0) exec(n.els, dot, scope, out);
        for (const [k, x] of entries) {
          if (decl.length === 1) scope.set(decl[0]!, x);
          if (decl.length === 2) {
            scope.set(decl[0]!, k);
            scope.set(decl[1]!, x);
          }
          exec(n.then, x, scope, out);
        }
        scope.pop();
        break;
      }
    }
  }
}

export const TEMPLATE_BUILTINS: BuiltinDef[] = [
  def('strings.render_template', ['string', 'object'], 'string', (args) => {
    const name = 'strings.render_template';
    const src = asString(name, args, 0);
    const vars = toJSON(asObject(name, args, 1));
    try {
      const out: string[] = [];
      exec(parse(src), vars, new Scope(vars), out);
      return out.join('');
    } catch (e) {
      if (e instanceof TemplateError) throw builtinError(name, `template: template: ${e.message}`);
      throw e;
    }
  }),
];
