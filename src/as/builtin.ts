/**
 * The built-in Attestation Service: verifiers (registry) → policy (Rego, per TEE class) → EAR token.
 * Used in-process by the KBS (`coco_as_builtin`) and by the standalone restful-as / grpc-as servers.
 */
import { join } from 'node:path';
import type { JsonWebKey } from 'node:crypto';
import '../verifiers/index.js';
import { verifierFactory, VerificationError } from '../verifiers/types.js';
import type { Json, Verifier, VerifierContext } from '../verifiers/types.js';
import { StorageUnavailableError, type StorageBackend } from '../storage/types.js';
import type { AttestationService, VerificationRequest } from './types.js';
import type { AsConfig } from './config.js';
import { AttestationServiceError } from './errors.js';
import { EarTokenBroker, parseExtensions, parseTrustClaims, type Appraisal } from './ear.js';
import { loadTokenSigner, type EcPublicJwk } from './signer.js';
import { checkPolicyId, POLICY_NAMESPACE, PolicyStore } from './policy-store.js';
import { compileAttestationPolicy, type AttestationPolicy } from './policy-engine.js';
import { bindRuntimeData } from './runtime-data.js';
import { bindInitData } from './init-data.js';
import { policyInput, trimRuntimeDataClaims } from './input.js';
import { Rvps, type ReferenceValueProvider } from '../rvps/index.js';
import { connectRemoteRvps } from '../rvps/grpc-client.js';
import { retryingOnce } from '../util/retrying-once.js';

export interface BuiltinAttestationService extends AttestationService {
  /** The P-256 token-signing public key (JWK with `alg: ES256`), so a KBS can trust its own AS. */
  signerPublicJwk(): JsonWebKey;
  /**
   * Resolves once the default attestation policies are installed (where absent); rejects with
   * StorageUnavailableError while storage is down. Every policy-using call awaits it first.
   */
  ensureReady(): Promise<void>;
  close(): Promise<void>;
}

export interface BuiltinAsOptions {
  config: AsConfig;
  storage: StorageBackend;
  dataDir?: string;
  log?: { info(m: string): void; warn(m: string): void };
  fetch?: VerifierContext['fetch'];
  /** Clock used when `evaluate` gets no `now` (and for RVPS expiry). */
  clock?: () => Date;
  /**
   * Storage may be down at start-up (the KBS passes a backend whose `open` never fails): do not fail creation when
   * installing the default policies hits StorageUnavailableError; retry on use (`ensureReady`). Default false.
   */
  deferStorageInit?: boolean;
}


export async function createBuiltinAttestationService(opts: BuiltinAsOptions): Promise<BuiltinAttestationService> {
  const { config, storage, log } = opts;
  const clock = opts.clock ?? (() => new Date());
  const signer = await loadTokenSigner(config.tokenBroker.signer, opts.dataDir);
  if (signer.source === 'ephemeral') log?.warn('attestation token signer: ephemeral key (tokens cannot be verified after a restart)');
  const broker = new EarTokenBroker(config.tokenBroker, signer);
  const policies = await PolicyStore.open(storage);
  const policyKv = await storage.open(POLICY_NAMESPACE);
  /**
   * Hot-path policy cache: id → the exact stored bytes and their compiled policy. Every evaluation still reads the
   * policy from storage (another instance may have changed it); a byte comparison then replaces PolicyStore.load's
   * UTF-8 decode and text-keyed map lookup (hashing the whole policy text per call). Any difference recompiles.
   */
  const compiled = new Map<string, { bytes: Buffer; policy: AttestationPolicy }>();
  async function loadPolicy(id: string): Promise<AttestationPolicy> {
    checkPolicyId(id);
    const bytes = await policyKv.get(`${id}.rego`);
    if (bytes === undefined) return policies.load(id); // not found (or just created): PolicyStore decides and errs
    const hit = compiled.get(id);
    if (hit !== undefined && hit.bytes.equals(bytes)) return hit.policy;
    const copy = Buffer.from(bytes); // storage may hand out its own buffer: keep a private copy
    const policy = compileAttestationPolicy(id, copy.toString('utf8'));
    if (compiled.size >= 64) compiled.clear();
    compiled.set(id, { bytes: copy, policy });
    return policy;
  }
  const ensureDefaults = retryingOnce(async () => {
    const installed = await policies.installDefaults();
    if (installed.length > 0) log?.info(`installed default attestation policies: ${installed.join(', ')}`);
  });
  try {
    await ensureDefaults();
  } catch (e) {
    if (!(opts.deferStorageInit && e instanceof StorageUnavailableError)) throw e;
  }

  let rvps: ReferenceValueProvider & { close?(): void };
  if (config.rvps.type === 'BuiltIn') {
    rvps = await Rvps.open(storage, clock);
  } else {
    rvps = connectRemoteRvps(config.rvps.address);
  }

  const cacheBase = opts.dataDir ?? config.workDir;
  const verifierCtx: VerifierContext = { config: config.verifierConfig };
  if (cacheBase !== undefined) verifierCtx.cacheDir = join(cacheBase, 'as', 'verifier-cache');
  if (opts.fetch !== undefined) verifierCtx.fetch = opts.fetch;
  if (log !== undefined) verifierCtx.log = log;
  const verifiers = new Map<string, Promise<Verifier>>();
  function verifierFor(tee: string): Promise<Verifier> {
    let v = verifiers.get(tee);
    if (v === undefined) {
      const f = verifierFactory(tee);
      if (f === undefined) throw new AttestationServiceError('ERR_AS_UNKNOWN_TEE', `no verifier for TEE "${tee.slice(0, 40)}"`);
      v = Promise.resolve(f(verifierCtx));
      v.catch(() => verifiers.delete(tee));
      verifiers.set(tee, v);
    }
    return v;
  }

  async function appraise(req: VerificationRequest, policyId: string, now: Date): Promise<Appraisal[]> {
    const verifier = await verifierFor(req.tee);
    const rd = bindRuntimeData(req.runtimeData, req.runtimeDataHashAlgorithm ?? 'sha384');
    const id = bindInitData(req.initData);
    let claimSets;
    try {
      claimSets = await verifier.verify({
        evidence: req.evidence,
        ...(rd.expectedReportData !== undefined ? { expectedReportData: rd.expectedReportData } : {}),
        ...(id.digest !== undefined ? { expectedInitDataHash: id.digest } : {}),
        now,
      });
    } catch (e) {
      if (e instanceof VerificationError) {
        throw new AttestationServiceError('ERR_AS_VERIFICATION', `${req.tee} evidence verification failed: ${e.message}`, { cause: e });
      }
      throw new AttestationServiceError('ERR_AS_VERIFICATION', `${req.tee} evidence verification failed`, { cause: e });
    }
    if (claimSets.length === 0) throw new AttestationServiceError('ERR_AS_VERIFICATION', `${req.tee} verifier returned no claims`);
    const runtimeClaims = trimRuntimeDataClaims(rd.claims, config.tokenBroker.verboseToken);
    const out: Appraisal[] = [];
    for (const cs of claimSets) {
      const input = policyInput(req.tee, cs.claims, runtimeClaims, id.claims);
      const policy = await loadPolicy(`${policyId}_${cs.class}`);
      let ids = policy.referenceValueIds();
      if (ids === 'all') ids = rvps instanceof Rvps ? await rvps.names() : [];
      // One batched read for every id the policy names (KvStore.getMany: one statement on PostgreSQL, one MGET on
      // Redis) instead of one query per id: bench/rvps.ts, docs/performance.md "Reference values".
      let rvs: Map<string, Json>;
      try {
        rvs = await rvps.queryMany(ids, now);
      } catch (e) {
        // A storage outage stays one (503 at the KBS), not an attestation failure.
        if (e instanceof StorageUnavailableError) throw e;
        throw new AttestationServiceError('ERR_AS_RVPS', 'reference value provider unavailable', { cause: e });
      }
      const result = policy.evaluate(input, rvs, now);
      out.push({
        class: cs.class,
        trustVector: parseTrustClaims(result.trustClaims),
        extensions: parseExtensions(result.extensions),
        annotatedEvidence: input,
      });
    }
    return out;
  }

  return {
    async evaluate(requests, policyIds, now) {
      if (requests.length === 0) throw new AttestationServiceError('ERR_AS_BAD_REQUEST', 'no verification request');
      await ensureDefaults();
      const at = now ?? clock();
      const policyId = policyIds[0] ?? 'default';
      const appraisals: Appraisal[] = [];
      for (const r of requests) appraisals.push(...(await appraise(r, policyId, at)));
      return broker.issue({ appraisals, policyId, now: at });
    },
    async setPolicy(id, b64) {
      await ensureDefaults();
      return policies.set(id, b64);
    },
    async listPolicies() {
      await ensureDefaults();
      return policies.list();
    },
    async getPolicy(id) {
      await ensureDefaults();
      return policies.get(id);
    },
    ensureReady: ensureDefaults,
    async tokenSignerJwks() {
      return broker.jwks();
    },
    async registerReferenceValue(message) {
      await rvps.register(message);
    },
    async queryReferenceValue(id) {
      return rvps.query(id, clock());
    },
    async generateSupplementalChallenge(tee, params) {
      const v = await verifierFor(tee);
      return v.generateSupplementalChallenge ? v.generateSupplementalChallenge(params) : '';
    },
    signerPublicJwk(): JsonWebKey {
      return { ...(signer.publicJwk as EcPublicJwk) } as JsonWebKey;
    },
    async close() {
      rvps.close?.();
    },
  };
}
