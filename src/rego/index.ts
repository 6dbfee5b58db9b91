/**
 * Public API of the Rego engine (work in progress — see docs/rego.md).
 *
 *   const policy = compile([{ filename: 'policy.rego', source }], { builtins: [hostBuiltin] });
 *   const allow = policy.evaluate('data.policy.allow', { input });   // plain JSON in, plain JSON (or undefined) out
 */
import type { BuiltinDef } from './builtins/types.js';
import type { JsonValue } from './value.js';

export type { BuiltinDef } from './builtins/types.js';
export type { Value, JsonValue } from './value.js';

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
}

export interface CompiledPolicy {
  /** SHA-256 hex of the modules; compiled policies are cached by it. */
  readonly hash: string;
  /**
   * Evaluate a query (any Rego query text, or a ref such as `data.policy.allow`). Returns the value of the single
   * expression as plain JSON, or undefined when the query is undefined. Throws RegoError on errors.
   */
  evaluate(query: string, options?: EvaluateOptions): JsonValue | undefined;
}

export declare function compile(modules: RegoModule[], options?: CompileOptions): CompiledPolicy;
