/** Typed AST of Rego modules and queries. Every node carries its source location. */
import type { Value } from './value.js';
import type { Location } from './errors.js';

export type Term =
  | { type: 'scalar'; value: Value; loc: Location }
  | { type: 'var'; name: string; loc: Location }
  /** head is a var (input, data, local) or any other term (call, composite); path segments are terms. */
  | { type: 'ref'; head: Term; path: Term[]; loc: Location }
  | { type: 'array'; items: Term[]; loc: Location }
  | { type: 'set'; items: Term[]; loc: Location }
  | { type: 'object'; items: [Term, Term][]; loc: Location }
  /** name: dotted function name as written (resolved by the compiler into `target`). */
  | { type: 'call'; name: string; args: Term[]; loc: Location; target?: CallTarget }
  | { type: 'arraycomp'; term: Term; body: Expr[]; loc: Location }
  | { type: 'setcomp'; term: Term; body: Expr[]; loc: Location }
  | { type: 'objectcomp'; key: Term; value: Term; body: Expr[]; loc: Location };

export type CallTarget = { kind: 'builtin'; name: string } | { kind: 'user'; path: string[] };

export interface With {
  target: Term;
  value: Term;
  loc: Location;
}

export type ExprBody =
  | { kind: 'term'; term: Term }
  | { kind: 'unify'; left: Term; right: Term }
  | { kind: 'assign'; left: Term; right: Term }
  | { kind: 'some'; vars: string[] }
  | { kind: 'somein'; key: Term | undefined; value: Term; coll: Term }
  | { kind: 'every'; key: Term | undefined; value: Term; coll: Term; body: Expr[] }
  | { kind: 'not'; expr: Expr };

export type Expr = ExprBody & { loc: Location; withs: With[] };

export interface RuleHead {
  /** Static path of the rule relative to the package (`p`, `a.b.c`). */
  path: string[];
  /** Partial rules: the key term (`p[k] = v`, `p contains k`). */
  key?: Term;
  /** Value term (complete / partial object / function); true when absent for complete rules. */
  value?: Term;
  args?: Term[];
  assign: boolean;
  kind: 'complete' | 'partialset' | 'partialobject' | 'function';
}

export interface Rule {
  head: RuleHead;
  body: Expr[];
  isDefault: boolean;
  elseChain: { value: Term | undefined; body: Expr[]; loc: Location }[];
  loc: Location;
  file: string;
  /** METADATA annotations attached to this rule (YAML block comment right above it). */
  annotations?: Record<string, unknown>;
}

export interface Import {
  path: Term;
  alias?: string;
  loc: Location;
}

export interface Module {
  file: string;
  pkg: string[];
  imports: Import[];
  rules: Rule[];
  loc: Location;
  /** METADATA annotations attached to the package statement. */
  annotations?: Record<string, unknown>;
}
