/**
 * Attestation-policy store (specs/trustee.md §3.5): KV namespace `attestation_service_policy`, key `<id>.rego`,
 * value the Rego text. Set = decode base64url + compile-check + overwrite. Defaults are installed at start only
 * when absent. Unlike Trustee we validate ids: 1-128 characters of `[A-Za-z0-9_-]`.
 */
import { readFile } from 'node:fs/promises';
import type { KvStore, StorageBackend } from '../storage/types.js';
import { AttestationServiceError } from './errors.js';
import { compileAttestationPolicy, type AttestationPolicy } from './policy-engine.js';

export const POLICY_NAMESPACE = 'attestation_service_policy';
export const DEFAULT_POLICY_IDS = ['default_cpu', 'default_gpu', 'default_switch', 'default_ppcie'] as const;

// ASCII letters, digits, `-`, `_` only: no `/`, `.`, NUL, percent-encoding or Unicode look-alikes can reach storage
// keys (specs/security-cases.md #22).
const ID_RE = /^[A-Za-z0-9_-]{1,128}$/;

export function checkPolicyId(id: string): void {
  if (!ID_RE.test(id)) {
    throw new AttestationServiceError('ERR_AS_INVALID_POLICY_ID', 'policy id must be 1-128 characters of [A-Za-z0-9_-]');
  }
}

const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

export function decodePolicyB64Url(b64: string): string {
  if (!B64URL.test(b64)) throw new AttestationServiceError('ERR_AS_POLICY_INVALID', 'policy must be base64url');
  const bytes = Buffer.from(b64.replace(/=+$/, ''), 'base64url');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new AttestationServiceError('ERR_AS_POLICY_INVALID', 'policy is not UTF-8 text');
  }
}

export async function readDefaultPolicy(id: (typeof DEFAULT_POLICY_IDS)[number]): Promise<string> {
  return readFile(new URL(`./policies/${id}.rego`, import.meta.url), 'utf8');
}

export class PolicyStore {
  private readonly cache = new Map<string, AttestationPolicy>();

  private constructor(private readonly kv: KvStore) {}

  static async open(storage: StorageBackend): Promise<PolicyStore> {
    return new PolicyStore(await storage.open(POLICY_NAMESPACE));
  }

  /** Install the four default policies where absent (never overwrites an operator's edits). */
  async installDefaults(): Promise<string[]> {
    const installed: string[] = [];
    for (const id of DEFAULT_POLICY_IDS) {
      if ((await this.kv.get(`${id}.rego`)) !== undefined) continue;
      const text = await readDefaultPolicy(id);
      try {
        await this.kv.set(`${id}.rego`, Buffer.from(text, 'utf8'), { overwrite: false });
        installed.push(id);
      } catch (e) {
        if ((e as { code?: string }).code !== 'ERR_STORAGE_ALREADY_EXISTS') throw e;
      }
    }
    return installed;
  }

  async set(id: string, policyB64Url: string): Promise<void> {
    checkPolicyId(id);
    const text = decodePolicyB64Url(policyB64Url);
    compileAttestationPolicy(id, text); // throws before anything is stored
    await this.kv.set(`${id}.rego`, Buffer.from(text, 'utf8'), { overwrite: true });
  }

  async get(id: string): Promise<string | undefined> {
    checkPolicyId(id);
    const v = await this.kv.get(`${id}.rego`);
    return v === undefined ? undefined : Buffer.from(v).toString('utf8');
  }

  async list(): Promise<string[]> {
    return (await this.kv.list()).filter((k) => k.endsWith('.rego')).map((k) => k.slice(0, -'.rego'.length));
  }

  /** Load and compile (cached by text) the policy to evaluate. */
  async load(id: string): Promise<AttestationPolicy> {
    const text = await this.get(id);
    if (text === undefined) throw new AttestationServiceError('ERR_AS_POLICY_NOT_FOUND', `attestation policy "${id}" not found`);
    const cacheKey = `${id}\0${text}`;
    let p = this.cache.get(cacheKey);
    if (p === undefined) {
      p = compileAttestationPolicy(id, text);
      if (this.cache.size > 64) this.cache.clear();
      this.cache.set(cacheKey, p);
    }
    return p;
  }
}
