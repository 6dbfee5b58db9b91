/** Test helper: call a standard built-in by name with plain JS/Rego values. */
import { STANDARD_BUILTINS } from '../../src/rego/builtins/index.js';
import type { BuiltinContext } from '../../src/rego/builtins/types.js';
import { fromJSON, toJSON, RegoSet } from '../../src/rego/value.js';
import type { Value, JsonValue } from '../../src/rego/value.js';

const byName = new Map(STANDARD_BUILTINS.map((d) => [d.name, d]));

export function ctx(nowNs = 1_700_000_000_000_000_000n, seed = 'test-seed'): BuiltinContext {
  return { nowNs: () => nowNs, cache: new Map(), seed };
}

/** Calls a built-in; plain JS arguments are converted (use `set()` for sets). Returns the raw Rego value. */
export function callRaw(name: string, ...args: unknown[]): Value | undefined {
  const d = byName.get(name);
  if (!d) throw new Error(`no built-in ${name}`);
  if (d.args.length !== args.length) throw new Error(`${name} takes ${d.args.length} operands, got ${args.length}`);
  return d.fn(args.map((a) => fromJSON(a)), ctx());
}

/** Calls a built-in and returns its result as plain JSON (sets become sorted arrays). */
export function call(name: string, ...args: unknown[]): JsonValue | undefined {
  const r = callRaw(name, ...args);
  return r === undefined ? undefined : toJSON(r);
}

export function callCtx(c: BuiltinContext, name: string, ...args: unknown[]): JsonValue | undefined {
  const d = byName.get(name)!;
  const r = d.fn(args.map((a) => fromJSON(a)), c);
  return r === undefined ? undefined : toJSON(r);
}

export function set(...xs: unknown[]): RegoSet {
  return new RegoSet(xs.map((x) => fromJSON(x)));
}

export function has(name: string): boolean {
  return byName.has(name);
}
