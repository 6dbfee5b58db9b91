/** Recursive-descent parser for Rego v0 and v1 (keywords `if`, `contains`, `in`, `every` are recognised in context). */
import { RegoError, type Location } from './errors.js';
import { tokenize, type Comment, type Token } from './lexer.js';
import { parse as parseYaml } from 'yaml';
import { normNum, RegoSet, type Value } from './value.js';
import type { Expr, ExprBody, Import, Module, Rule, RuleHead, Term, With } from './ast.js';

const BINOPS: Record<string, string> = {
  '==': 'equal',
  '!=': 'neq',
  '<': 'lt',
  '<=': 'lte',
  '>': 'gt',
  '>=': 'gte',
  '+': 'plus',
  '-': 'minus',
  '*': 'mul',
  '/': 'div',
  '%': 'rem',
  '&': 'and',
  '|': 'or',
};

let wildcardCounter = 0;
const MAX_NESTING = 500;

export function parseNumber(text: string): Value {
  if (/^-?\d+$/.test(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : normNum(BigInt(text));
  }
  const n = Number(text);
  if (!Number.isFinite(n)) return normNum(n); // out of range float: OPA keeps big; approximate
  return normNum(n);
}

class Parser {
  private pos = 0;
  private nlSkip = 0;
  private sawContains = false;
  /** `import rego.v1`: rule bodies need `if`, multi-value rules need `contains` (as OPA enforces). */
  private v1 = false;
  constructor(
    private readonly toks: Token[],
    private readonly file: string,
  ) {}

  private rawPeek(): Token {
    return this.toks[this.pos]!;
  }
  peek(): Token {
    if (this.nlSkip > 0) while (this.toks[this.pos]!.kind === 'nl') this.pos++;
    return this.toks[this.pos]!;
  }
  /** Token after the current one (skipping newlines when they are not significant). */
  peekAt(n: number): Token {
    let p = this.pos;
    let seen = 0;
    for (;;) {
      const t = this.toks[p]!;
      if (t.kind === 'eof') return t;
      if (t.kind === 'nl' && this.nlSkip > 0) {
        p++;
        continue;
      }
      if (seen === n) return t;
      seen++;
      p++;
    }
  }
  next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.pos++;
    return t;
  }
  isOp(text: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.text === text;
  }
  isIdent(text: string): boolean {
    const t = this.peek();
    return t.kind === 'ident' && t.text === text;
  }
  err(t: Token, msg: string): never {
    throw new RegoError('rego_parse_error', msg, t.loc);
  }
  describe(t: Token): string {
    if (t.kind === 'eof') return 'unexpected eof token';
    if (t.kind === 'nl') return 'unexpected newline';
    if (t.kind === 'string') return `unexpected string token`;
    if (t.kind === 'number') return `unexpected number token`;
    return `unexpected ${t.kind === 'ident' ? 'identifier' : ''}${t.kind === 'ident' ? ' ' : ''}${JSON.stringify(t.text)}${t.kind === 'op' ? ' token' : ''}`;
  }
  expectOp(text: string): Token {
    const t = this.peek();
    if (t.kind !== 'op' || t.text !== text) this.err(t, `${this.describe(t)}: expected ${JSON.stringify(text)}`);
    return this.next();
  }
  expectIdent(): Token {
    const t = this.peek();
    if (t.kind !== 'ident') this.err(t, `${this.describe(t)}: expected identifier`);
    return this.next();
  }
  skipSeparators(): void {
    for (;;) {
      const t = this.rawPeek();
      if (t.kind === 'nl' || (t.kind === 'op' && t.text === ';')) this.pos++;
      else return;
    }
  }
  skipNl(): void {
    while (this.rawPeek().kind === 'nl') this.pos++;
  }

  // ---------------------------------------------------------------- module

  parseModule(): Module {
    this.skipSeparators();
    const pk = this.peek();
    if (!this.isIdent('package')) this.err(pk, `${this.describe(pk)}: expected "package"`);
    this.next();
    const pkgTerm = this.parseTerm(false);
    const pkg = ['data', ...this.refToPath(pkgTerm, 'package')];
    const imports: Import[] = [];
    const rules: Rule[] = [];
    for (;;) {
      this.endOfStatement();
      this.skipSeparators();
      const t = this.peek();
      if (t.kind === 'eof') break;
      if (t.kind === 'ident' && t.text === 'import') {
        this.next();
        const path = this.parseTerm(false);
        let alias: string | undefined;
        if (this.isIdent('as')) {
          this.next();
          alias = this.expectIdent().text;
        }
        imports.push({ path, alias, loc: t.loc });
        if (path.type === 'ref' && path.head.type === 'var' && path.head.name === 'rego' && path.path.length === 1 && path.path[0]!.type === 'scalar' && path.path[0]!.value === 'v1') this.v1 = true;
        continue;
      }
      if (t.kind === 'ident' && t.text === 'package') this.err(t, 'unexpected "package": only one package per module');
      rules.push(...this.parseRule());
    }
    return { file: this.file, pkg, imports, rules, loc: pk.loc };
  }

  private endOfStatement(): void {
    const t = this.rawPeek();
    if (t.kind === 'nl' || t.kind === 'eof' || (t.kind === 'op' && t.text === ';')) return;
    this.err(t, `${this.describe(t)}: expected end of statement (newline)`);
  }

  refToPath(t: Term, what: string): string[] {
    if (t.type === 'var') return [t.name];
    if (t.type === 'ref' && t.head.type === 'var') {
      const out = [t.head.name];
      for (const seg of t.path) {
        if (seg.type !== 'scalar' || typeof seg.value !== 'string') throw new RegoError('rego_parse_error', `invalid ${what} path: segments must be strings`, seg.loc);
        out.push(seg.value);
      }
      return out;
    }
    throw new RegoError('rego_parse_error', `invalid ${what} path`, t.loc);
  }

  private parseRule(): Rule[] {
    const start = this.peek();
    let isDefault = false;
    if (start.kind === 'ident' && start.text === 'default') {
      isDefault = true;
      this.next();
    }
    const nameTok = this.expectIdent();
    const path = [nameTok.text];
    let key: Term | undefined;
    let args: Term[] | undefined;
    // head ref
    for (;;) {
      const t = this.rawPeek();
      if (t.kind === 'op' && t.text === '.' ) {
        this.next();
        if (key) this.err(t, 'rule head: ref continues after a key');
        path.push(this.expectIdent().text);
        continue;
      }
      if (t.kind === 'op' && t.text === '[' && !t.spaceBefore) {
        this.next();
        this.nlSkip++;
        const k = this.parseTermIn(false);
        this.nlSkip--;
        this.expectOp(']');
        if (key) {
          if (key.type === 'scalar' && typeof key.value === 'string') path.push(key.value);
          else this.err(t, 'rule head: only the last segment of a ref head may be a variable');
        }
        key = k;
        continue;
      }
      if (t.kind === 'op' && t.text === '(' && !key && !args) {
        this.next();
        this.nlSkip++;
        args = [];
        if (!this.isOp(')')) {
          for (;;) {
            args.push(this.parseTermIn(false));
            if (this.isOp(',')) {
              this.next();
              continue;
            }
            break;
          }
        }
        this.nlSkip--;
        this.expectOp(')');
        continue;
      }
      break;
    }
    let kind: RuleHead['kind'];
    this.sawContains = false;
    let value: Term | undefined;
    let assign = false;
    if (this.isIdent('contains')) {
      if (key || args || isDefault) this.err(this.peek(), 'unexpected "contains" in this rule head');
      this.next();
      key = this.parseTermIn(false);
      kind = 'partialset';
      this.sawContains = true;
    } else {
      const t = this.peek();
      if (t.kind === 'op' && (t.text === '=' || t.text === ':=')) {
        this.next();
        assign = t.text === ':=';
        this.skipNl();
        value = this.parseTermIn(false);
      }
      kind = args ? 'function' : key ? (value ? 'partialobject' : 'partialset') : 'complete';
    }
    if (isDefault) {
      if (!value) this.err(start, 'default rule must have a value (default p := <value>)');
      if (key) this.err(start, 'default rules cannot be partial');
      return [{ head: { path, value, args, assign, kind }, body: [], isDefault, elseChain: [], loc: start.loc, file: this.file }];
    }
    if (this.v1 && kind === 'partialset' && !this.sawContains && !this.isIdent('if')) {
      this.err(nameTok, '`contains` keyword is required for partial set rules (module imports rego.v1)');
    }
    if (kind === 'partialset' && value === undefined && this.isIdent('if') && key && !this.sawContains) {
      // ref head with a key and `if` but no value (`a[x] if …`): an object with value true, as OPA v1
      kind = 'partialobject';
    }
    if (kind === 'partialobject' && key && key.type === 'scalar' && typeof key.value === 'string') {
      // `p["x"] = v` is a single-value rule with a ref head (data.pkg.p.x), as in OPA
      path.push(key.value);
      key = undefined;
      kind = 'complete';
    }
    const head: RuleHead = { path, key, value, args, assign, kind };
    const bodies: Expr[][] = [];
    const body = this.parseRuleBody();
    if (body === undefined) {
      if (!value && kind !== 'partialset') this.err(this.peek(), `${this.describe(this.peek())}: rule needs a body or a value`);
      bodies.push([{ kind: 'term', term: { type: 'scalar', value: true, loc: start.loc }, loc: start.loc, withs: [] }]);
    } else {
      bodies.push(body);
      // v0: additional bodies `p { a } { b }`
      while (this.rawPeek().kind === 'op' && this.rawPeek().text === '{') {
        const b = this.parseRuleBody();
        if (!b) break;
        bodies.push(b);
      }
    }
    const elseChain: Rule['elseChain'] = [];
    for (;;) {
      const save = this.pos;
      this.skipNl();
      if (!this.isIdent('else')) {
        this.pos = save;
        break;
      }
      const et = this.next();
      if (kind !== 'complete' && kind !== 'function') this.err(et, 'else keyword cannot be used on multi-value rules');
      let ev: Term | undefined;
      if (this.isOp('=') || this.isOp(':=')) {
        this.next();
        ev = this.parseTermIn(false);
      }
      const eb = this.parseRuleBody();
      elseChain.push({ value: ev, body: eb ?? [{ kind: 'term', term: { type: 'scalar', value: true, loc: et.loc }, loc: et.loc, withs: [] }], loc: et.loc });
    }
    return bodies.map((b, i) => ({ head, body: b, isDefault: false, elseChain: i === 0 ? elseChain : [], loc: start.loc, file: this.file }));
  }

  /** `if { … }`, `if expr`, `{ … }`, or nothing (undefined). */
  private parseRuleBody(): Expr[] | undefined {
    let sawIf = false;
    if (this.isIdent('if')) {
      this.next();
      sawIf = true;
      this.skipNl();
    }
    const t = this.rawPeek();
    if (t.kind === 'op' && t.text === '{' && !sawIf && this.v1) this.err(t, '`if` keyword is required before rule body (module imports rego.v1)');
    if (t.kind === 'op' && t.text === '{') {
      // `p := {…}` would have consumed the object as value; here `{` starts a body unless it is a literal after `if`.
      const save = this.pos;
      this.next();
      try {
        return this.parseBodyUntil('}');
      } catch (e) {
        if (!sawIf) throw e;
        // `if {x: 1}.x` style single expression: retry as expression
        this.pos = save;
      }
    }
    if (sawIf) {
      const e = this.parseExpr();
      return [e];
    }
    return undefined;
  }

  /** Parses expressions up to (and including) the closing token. Newlines and ';' separate expressions. */
  parseBodyUntil(closer: string): Expr[] {
    const saved = this.nlSkip;
    this.nlSkip = 0;
    const exprs: Expr[] = [];
    for (;;) {
      this.skipSeparators();
      const t = this.peek();
      if (t.kind === 'op' && t.text === closer) {
        this.next();
        break;
      }
      if (t.kind === 'eof') this.err(t, `unexpected eof token: expected ${JSON.stringify(closer)}`);
      exprs.push(this.parseExpr());
      const n = this.rawPeek();
      if (n.kind === 'nl' || (n.kind === 'op' && (n.text === ';' || n.text === closer))) continue;
      this.err(n, `${this.describe(n)}: expected end of expression`);
    }
    this.nlSkip = saved;
    if (exprs.length === 0) throw new RegoError('rego_parse_error', 'found empty body', this.toks[this.pos - 1]!.loc);
    return exprs;
  }

  parseQuery(): Expr[] {
    const exprs: Expr[] = [];
    for (;;) {
      this.skipSeparators();
      const t = this.peek();
      if (t.kind === 'eof') break;
      exprs.push(this.parseExpr());
      const n = this.rawPeek();
      if (n.kind === 'nl' || n.kind === 'eof' || (n.kind === 'op' && n.text === ';')) continue;
      this.err(n, `${this.describe(n)}: expected end of expression`);
    }
    if (exprs.length === 0) throw new RegoError('rego_parse_error', 'empty query', this.toks[0]!.loc);
    return exprs;
  }

  // ---------------------------------------------------------------- expressions

  parseExpr(): Expr {
    const t = this.peek();
    let body: ExprBody;
    if (t.kind === 'ident' && t.text === 'not' && this.peekAt(1).kind !== 'op') {
      this.next();
      const inner = this.parseExprNoWith();
      body = { kind: 'not', expr: { ...inner, loc: inner.loc, withs: [] } as Expr };
    } else {
      body = this.parseExprNoWith();
    }
    const withs: With[] = [];
    for (;;) {
      const save = this.pos;
      if (this.nlSkip === 0) this.skipNl();
      if (!this.isIdent('with')) {
        this.pos = save;
        break;
      }
      const w = this.next();
      const target = this.parseTerm(false);
      if (!this.isIdent('as')) this.err(this.peek(), `${this.describe(this.peek())}: expected "as"`);
      this.next();
      const value = this.parseTermIn(false);
      withs.push({ target, value, loc: w.loc });
    }
    return { ...body, loc: t.loc, withs } as Expr;
  }

  private parseExprNoWith(): ExprBody & { loc: Location } {
    const t = this.peek();
    if (t.kind === 'ident' && t.text === 'some' && !isRefContinuation(this.peekAt(1))) {
      this.next();
      const terms: Term[] = [this.parseOr(false)];
      while (this.isOp(',')) {
        this.next();
        terms.push(this.parseOr(false));
      }
      if (this.isIdent('in')) {
        this.next();
        const coll = this.parseOr(false);
        if (terms.length > 2) this.err(t, 'some: at most two variables (key, value) before "in"');
        return terms.length === 2
          ? { kind: 'somein', key: terms[0], value: terms[1]!, coll, loc: t.loc }
          : { kind: 'somein', key: undefined, value: terms[0]!, coll, loc: t.loc };
      }
      const vars: string[] = [];
      for (const x of terms) {
        if (x.type !== 'var') this.err(t, 'some: expected variables');
        vars.push(x.name);
      }
      return { kind: 'some', vars, loc: t.loc };
    }
    if (t.kind === 'ident' && t.text === 'every' && this.peekAt(1).kind === 'ident') {
      this.next();
      const a = this.parseTerm(false);
      let key: Term | undefined;
      let value = a;
      if (this.isOp(',')) {
        this.next();
        key = a;
        value = this.parseTerm(false);
      }
      if (!this.isIdent('in')) this.err(this.peek(), `${this.describe(this.peek())}: expected "in" after every variables`);
      this.next();
      const coll = this.parseOr(false);
      this.expectOp('{');
      const body = this.parseBodyUntil('}');
      return { kind: 'every', key, value, coll, body, loc: t.loc };
    }
    const left = this.parseTermIn(false, true);
    const op = this.rawPeek();
    if (op.kind === 'op' && (op.text === '=' || op.text === ':=')) {
      this.next();
      this.skipNl();
      const right = this.parseTermIn(false, true);
      return { kind: op.text === '=' ? 'unify' : 'assign', left, right, loc: t.loc };
    }
    return { kind: 'term', term: left, loc: t.loc };
  }

  // ---------------------------------------------------------------- terms

  parseTermIn(noOr: boolean, commaIn = false): Term {
    let lhs = this.parseOr(noOr);
    if (commaIn && this.isOp(',')) {
      const save = this.pos;
      this.next();
      try {
        const v = this.parseOr(noOr);
        if (this.isIdent('in')) {
          const t = this.next();
          this.skipNl();
          const coll = this.parseOr(noOr);
          lhs = { type: 'call', name: 'internal.member_3', args: [lhs, v, coll], loc: t.loc };
        } else this.pos = save;
      } catch {
        this.pos = save;
      }
    }
    while (this.isIdent('in')) {
      const t = this.next();
      this.skipNl();
      const rhs = this.parseOr(noOr);
      lhs = { type: 'call', name: 'internal.member_2', args: [lhs, rhs], loc: t.loc };
    }
    return lhs;
  }

  private binary(next: () => Term, ops: string[]): Term {
    let lhs = next();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'op' || !ops.includes(t.text)) return lhs;
      this.next();
      this.skipNl();
      const rhs = next();
      lhs = { type: 'call', name: BINOPS[t.text]!, args: [lhs, rhs], loc: lhs.loc };
    }
  }

  parseOr(noOr: boolean): Term {
    return noOr ? this.parseAnd() : this.binary(() => this.parseAnd(), ['|']);
  }
  private parseAnd(): Term {
    return this.binary(() => this.parseRel(), ['&']);
  }
  private parseRel(): Term {
    return this.binary(() => this.parseArith(), ['==', '!=', '<', '<=', '>', '>=']);
  }
  private parseArith(): Term {
    return this.binary(() => this.parseFactor(), ['+', '-']);
  }
  private parseFactor(): Term {
    return this.binary(() => this.parseTerm(true), ['*', '/', '%']);
  }

  parseTerm(allowUnary: boolean): Term {
    const t = this.peek();
    if (allowUnary && t.kind === 'op' && t.text === '-') {
      const n = this.peekAt(1);
      if (n.kind === 'number' && !n.spaceBefore) {
        this.next();
        this.next();
        return this.postfix({ type: 'scalar', value: parseNumber('-' + n.text), loc: t.loc });
      }
      this.next();
      const operand = this.parseTerm(true);
      return { type: 'call', name: 'minus', args: [{ type: 'scalar', value: 0, loc: t.loc }, operand], loc: t.loc };
    }
    return this.postfix(this.parsePrimary());
  }

  private nesting = 0;
  private parsePrimary(): Term {
    if (++this.nesting > MAX_NESTING) this.err(this.peek(), `nesting deeper than ${MAX_NESTING} levels`);
    try {
      return this.parsePrimaryInner();
    } finally {
      this.nesting--;
    }
  }

  private parsePrimaryInner(): Term {
    const t = this.next();
    switch (t.kind) {
      case 'number':
        return { type: 'scalar', value: parseNumber(t.text), loc: t.loc };
      case 'string':
        return { type: 'scalar', value: t.value!, loc: t.loc };
      case 'ident':
        if (t.text === 'true') return { type: 'scalar', value: true, loc: t.loc };
        if (t.text === 'false') return { type: 'scalar', value: false, loc: t.loc };
        if (t.text === 'null') return { type: 'scalar', value: null, loc: t.loc };
        if (t.text === '_') return { type: 'var', name: `$_${wildcardCounter++}`, loc: t.loc };
        return { type: 'var', name: t.text, loc: t.loc };
      case 'op':
        if (t.text === '(') {
          this.nlSkip++;
          const inner = this.parseTermIn(false, true);
          this.nlSkip--;
          this.expectOp(')');
          return inner;
        }
        if (t.text === '[') return this.parseArray(t);
        if (t.text === '{') return this.parseBrace(t);
        break;
    }
    return this.err(t, `${this.describe(t)}: expected a term`);
  }

  private parseArray(open: Token): Term {
    this.nlSkip++;
    if (this.isOp(']')) {
      this.nlSkip--;
      this.next();
      return { type: 'array', items: [], loc: open.loc };
    }
    const first = this.parseTermIn(true);
    if (this.isOp('|')) {
      this.next();
      const body = this.parseBodyUntil(']');
      this.nlSkip--;
      return { type: 'arraycomp', term: first, body, loc: open.loc };
    }
    const items = [first];
    while (this.isOp(',')) {
      this.next();
      if (this.isOp(']')) break;
      items.push(this.parseTermIn(false));
    }
    this.nlSkip--;
    this.expectOp(']');
    return { type: 'array', items, loc: open.loc };
  }

  private parseBrace(open: Token): Term {
    this.nlSkip++;
    if (this.isOp('}')) {
      this.nlSkip--;
      this.next();
      return { type: 'object', items: [], loc: open.loc };
    }
    const first = this.parseTermIn(true);
    if (this.isOp(':')) {
      this.next();
      const v = this.parseTermIn(true);
      if (this.isOp('|')) {
        this.next();
        const body = this.parseBodyUntil('}');
        this.nlSkip--;
        return { type: 'objectcomp', key: first, value: v, body, loc: open.loc };
      }
      const items: [Term, Term][] = [[first, v]];
      while (this.isOp(',')) {
        this.next();
        if (this.isOp('}')) break;
        const k = this.parseTermIn(false);
        this.expectOp(':');
        items.push([k, this.parseTermIn(false)]);
      }
      this.nlSkip--;
      this.expectOp('}');
      return { type: 'object', items, loc: open.loc };
    }
    if (this.isOp('|')) {
      this.next();
      const body = this.parseBodyUntil('}');
      this.nlSkip--;
      return { type: 'setcomp', term: first, body, loc: open.loc };
    }
    const items = [first];
    while (this.isOp(',')) {
      this.next();
      if (this.isOp('}')) break;
      items.push(this.parseTermIn(false));
    }
    this.nlSkip--;
    this.expectOp('}');
    return { type: 'set', items, loc: open.loc };
  }

  private postfix(term: Term): Term {
    for (;;) {
      const t = this.rawPeek();
      if (t.kind !== 'op' || t.spaceBefore) return term;
      if (t.text === '.') {
        this.next();
        const id = this.rawPeek();
        if (id.kind !== 'ident') this.err(id, `${this.describe(id)}: expected ident`);
        this.next();
        term = appendRef(term, { type: 'scalar', value: id.text, loc: id.loc });
        continue;
      }
      if (t.text === '[') {
        this.next();
        this.nlSkip++;
        const k = this.parseTermIn(false);
        this.nlSkip--;
        this.expectOp(']');
        term = appendRef(term, k);
        continue;
      }
      if (t.text === '(') {
        const name = callName(term);
        if (name === undefined) return term;
        this.next();
        this.nlSkip++;
        const args: Term[] = [];
        if (!this.isOp(')')) {
          for (;;) {
            args.push(this.parseTermIn(false));
            if (this.isOp(',')) {
              this.next();
              if (this.isOp(')')) break;
              continue;
            }
            break;
          }
        }
        this.nlSkip--;
        this.expectOp(')');
        if (name === 'set' && args.length === 0) term = { type: 'set', items: [], loc: term.loc };
        else term = { type: 'call', name, args, loc: term.loc };
        continue;
      }
      return term;
    }
  }
}

function isRefContinuation(t: Token): boolean {
  return t.kind === 'op' && ['=', ':=', '.', '(', '==', '!='].includes(t.text) || (t.kind === 'op' && t.text === '[' && !t.spaceBefore) || t.kind === 'nl' || t.kind === 'eof';
}

function appendRef(term: Term, seg: Term): Term {
  if (term.type === 'ref') return { type: 'ref', head: term.head, path: [...term.path, seg], loc: term.loc };
  return { type: 'ref', head: term, path: [seg], loc: term.loc };
}

function callName(t: Term): string | undefined {
  if (t.type === 'var') return t.name;
  if (t.type === 'ref' && t.head.type === 'var') {
    const parts = [t.head.name];
    for (const s of t.path) {
      if (s.type !== 'scalar' || typeof s.value !== 'string') return undefined;
      parts.push(s.value);
    }
    return parts.join('.');
  }
  return undefined;
}

export function parseModule(source: string, file: string): Module {
  const comments: Comment[] = [];
  const m = new Parser(tokenize(source, file, comments), file).parseModule();
  if (comments.some((c) => c.text.trim() === 'METADATA')) attachAnnotations(m, comments);
  return m;
}

/** `# METADATA` blocks (YAML in consecutive comment lines) attach to the package or rule that follows them. */
function attachAnnotations(m: Module, comments: Comment[]): void {
  for (let i = 0; i < comments.length; i++) {
    const c = comments[i]!;
    if (c.text.trim() !== 'METADATA') continue;
    const lines: string[] = [];
    let row = c.row;
    let j = i + 1;
    while (j < comments.length && comments[j]!.row === row + 1) {
      lines.push(comments[j]!.text.startsWith(' ') ? comments[j]!.text.slice(1) : comments[j]!.text);
      row++;
      j++;
    }
    i = j - 1;
    let doc: unknown;
    try {
      doc = parseYaml(lines.join('\n'));
    } catch (e) {
      throw new RegoError('rego_parse_error', `invalid METADATA block: ${(e as Error).message.split('\n')[0]}`, { file: m.file, row: c.row, col: c.col });
    }
    const ann: Record<string, unknown> = doc && typeof doc === 'object' && !Array.isArray(doc) ? { ...(doc as Record<string, unknown>) } : {};
    if (Array.isArray(ann.authors)) {
      ann.authors = ann.authors.map((a) => {
        if (typeof a !== 'string') return a;
        const mm = /^(.*?)\s*<([^>]*)>\s*$/.exec(a);
        return mm ? (mm[1] ? { name: mm[1], email: mm[2] } : { email: mm[2] }) : { name: a.trim() };
      });
    }
    const target = row + 1;
    if (m.loc.row >= target && m.loc.row <= target + 1 && !m.rules.some((r) => r.loc.row < m.loc.row)) {
      m.annotations = { scope: 'package', ...ann };
      continue;
    }
    const rule = m.rules.find((r) => r.loc.row >= target && r.loc.row <= target + 1);
    if (rule) rule.annotations = { scope: 'rule', ...ann };
  }
}

export function parseQuery(source: string, file = 'query'): Expr[] {
  return new Parser(tokenize(source, file), file).parseQuery();
}

export function parseTermText(source: string, file = 'term'): Term {
  const p = new Parser(tokenize(source, file), file);
  const t = p.parseTermIn(false);
  p.skipSeparators();
  const e = p.peek();
  if (e.kind !== 'eof') p.err(e, `${p.describe(e)}: expected end of term`);
  return t;
}

export { RegoSet };
