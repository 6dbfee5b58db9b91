/**
 * The attestation-policy engine: Rego (src/rego) with the host built-in `query_reference_value(id)`.
 *
 * Rego evaluates synchronously, so the built-in answers from a map of reference values fetched before evaluation.
 * Which ids to fetch: the engine's `constantArgs('query_reference_value')`; when a call computes its id, every
 * reference value the provider can list (a remote RVPS cannot list: computed ids then read as null, which never
 * makes a claim pass).
 */
import { createHash } from 'node:crypto';
import { compile } from '../rego/index.js';
import type { BuiltinDef, CompiledPolicy } from '../rego/index.js';
import { fromJSON, type Value } from '../rego/value.js';
import type { Json } from '../verifiers/types.js';
import { AttestationServiceError } from './errors.js';

export interface PolicyResult {
  trustClaims: unknown;
  extensions: unknown;
}

export interface AttestationPolicy {
  /** sha384 hex of the text (Trustee computes it; we log it). */
  readonly hash: string;
  /**
   * Reference-value ids to prefetch before `evaluate`, or 'all' when some call computes its id (then the caller
   * prefetches every stored reference value it can list).
   */
  referenceValueIds(): string[] | 'all';
  evaluate(input: Json, referenceValues: ReadonlyMap<string, Json>, now: Date): PolicyResult;
}

const QUERIES = ['data.policy.trust_claims', 'data.policy.extensions'] as const;

/** Compile a policy; throws ERR_AS_POLICY_INVALID with the engine's message (it names line/column, never secrets). */
export function compileAttestationPolicy(id: string, source: string): AttestationPolicy {
  // The map the built-in reads; replaced for each (synchronous) evaluation, with the Rego values converted so far.
  let current: ReadonlyMap<string, Json> = new Map();
  let converted = new Map<string, Value>();
  const queryRv: BuiltinDef = {
    name: 'query_reference_value',
    args: ['string'],
    result: 'any',
    fn: (args) => {
      const key = args[0];
      if (typeof key !== 'string') return null;
      let v = converted.get(key);
      if (v === undefined) {
        const j = current.get(key);
        v = j === undefined ? null : fromJSON(j);
        converted.set(key, v);
      }
      return v;
    },
  };
  let compiled: CompiledPolicy;
  try {
    compiled = compile([{ filename: `${id}.rego`, source }], { builtins: [queryRv] });
  } catch (e) {
    throw new AttestationServiceError('ERR_AS_POLICY_INVALID', `policy "${id}" does not compile: ${(e as Error).message}`, { cause: e });
  }
  const constIds = compiled.constantArgs('query_reference_value');
  const hash = createHash('sha384').update(source).digest('hex');
  return {
    hash,
    referenceValueIds: () => (constIds === null ? 'all' : [...constIds]),
    evaluate(input, referenceValues, now) {
      current = referenceValues;
      converted = new Map();
      try {
        // one evaluation context for both documents: rules they share are evaluated once
        const [trustClaims, extensions] = compiled.evaluateMany(QUERIES, { input, now });
        return { trustClaims, extensions };
      } catch (e) {
        throw new AttestationServiceError('ERR_AS_POLICY_EVAL', `policy "${id}" failed: ${(e as Error).message}`, { cause: e });
      } finally {
        current = new Map();
        converted = new Map();
      }
    },
  };
}
