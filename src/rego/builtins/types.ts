/**
 * Built-in function contract shared by the evaluator (src/rego/*) and the built-in library (src/rego/builtins/*).
 *
 * A built-in receives already-evaluated operands and returns a value, or `undefined` when the call is undefined
 * (OPA: the expression fails). Operand type problems throw `BuiltinTypeError` (OPA `eval_type_error`, message as
 * OPA's: `plus: operand 1 must be number but got string`); other failures throw `BuiltinError` (OPA
 * `eval_builtin_error`). Whether a builtin error makes the expression undefined or aborts evaluation is the
 * evaluator's decision (OPA's `strict_builtin_errors`).
 */
import type { Value } from '../value.js';

/** Type of an operand or result, OPA-declaration style, for compile-time arity/type checks and error messages. */
export type BuiltinType =
  | 'any'
  | 'null'
  | 'boolean'
  | 'number'
  | 'string'
  | 'array'
  | 'object'
  | 'set'
  | 'array|set'
  | 'object|set'
  | 'array|object'
  | 'array|object|set'
  | 'string|number'
  | 'string|array'
  | 'string|set'
  | 'string|array|set'
  | 'array|string';

export interface BuiltinContext {
  /** The evaluation's clock in nanoseconds since the epoch, fixed for one evaluation (OPA's `time.now_ns`). */
  nowNs(): bigint;
  /** Per-evaluation cache (e.g. compiled regexes, parsed JWKS); survives only for one evaluation. */
  cache: Map<string, unknown>;
  /** Deterministic random source for `rand.intn`/`uuid.rfc4122`: same seed in one evaluation gives same value. */
  seed: string;
}

export interface BuiltinDef {
  /** Dotted name as in OPA: `count`, `strings.replace_n`, `io.jwt.decode`. */
  name: string;
  /** Operand types; the length is the arity. Variadic built-ins are not part of Rego (except print, handled by the evaluator). */
  args: BuiltinType[];
  result: BuiltinType;
  fn: (args: Value[], ctx: BuiltinContext) => Value | undefined;
  /** Needs the network (http.send, net.lookup_ip_addr): compiled but refused at evaluation unless the host enables it. */
  network?: boolean;
  /** Result depends on the clock or randomness (time.now_ns, rand.intn, uuid.rfc4122). */
  nondeterministic?: boolean;
  /** Infix operator spelling, if any (`+`, `==`, …) for error messages. */
  infix?: string;
}

export class BuiltinTypeError extends Error {
  readonly code = 'eval_type_error';
  constructor(message: string) {
    super(message);
    this.name = 'BuiltinTypeError';
  }
}

export class BuiltinError extends Error {
  readonly code = 'eval_builtin_error';
  constructor(message: string) {
    super(message);
    this.name = 'BuiltinError';
  }
}
