/**
 * The resource policy (specs/trustee.md §6.3): Rego stored in KV namespace `kbs`, key `resource-policy.rego`;
 * our default is written only when absent. Per request: `data = {plugin, resource-path, query}`, `input` = token
 * claims; the request is allowed only when `data.policy.allow` is exactly `true`.
 */
import * as rego from '../rego/index.js';
import type { KvStore } from '../storage/types.js';
import { ParsePolicyError, PolicyEngineError } from './errors.js';
import { resourcePolicyText, type ResourcePolicyName } from '../policies/resource.js';
import { retryingOnce } from '../util/retrying-once.js';

export const RESOURCE_POLICY_NAMESPACE = 'kbs';
export const RESOURCE_POLICY_ID = 'resource-policy';
const KEY = `${RESOURCE_POLICY_ID}.rego`;

export type SamplePolicyName = ResourcePolicyName;

export function samplePolicy(name: SamplePolicyName): string {
  return resourcePolicyText(name);
}

export interface ResourceRequest {
  plugin: string;
  resourcePath: string[];
  query: Record<string, string>;
}

function compileRego(source: string): rego.CompiledPolicy {
  const compile = (rego as { compile?: typeof rego.compile }).compile;
  if (typeof compile !== 'function') throw new PolicyEngineError('the Rego engine is not available in this build');
  try {
    return compile([{ filename: 'resource-policy.rego', source }]);
  } catch (e) {
    throw new PolicyEngineError(`resource policy does not compile: ${(e as Error).message}`);
  }
}

/** Decode the wire form `{"policy": "<b64url Rego>"}` (bytes as received). */
export function parseSetResourcePolicyBody(body: Buffer): string {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ParsePolicyError('request body is not JSON');
  }
  const p = (v as { policy?: unknown } | null)?.policy;
  if (typeof v !== 'object' || v === null || typeof p !== 'string') throw new ParsePolicyError('missing "policy" string');
  if (!/^[A-Za-z0-9_-]*$/.test(p)) throw new ParsePolicyError('"policy" is not base64url');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(p, 'base64url'));
  } catch {
    throw new ParsePolicyError('"policy" is not UTF-8 text');
  }
}

export class ResourcePolicy {
  private cached?: { source: string; policy: rego.CompiledPolicy };
  /** Installs our default policy if none is stored; retried on the next call until it succeeds once. */
  readonly installDefault: () => Promise<void>;

  private constructor(private readonly kv: KvStore) {
    this.installDefault = retryingOnce(async () => {
      if ((await kv.get(KEY)) !== undefined) return;
      try {
        await kv.set(KEY, Buffer.from(samplePolicy('default')), { overwrite: false });
      } catch (e) {
        if ((e as { code?: string }).code !== 'ERR_STORAGE_ALREADY_EXISTS') throw e;
      }
    });
  }

  /** Opens the store and installs the default policy if none is stored. */
  static async open(kv: KvStore): Promise<ResourcePolicy> {
    const p = new ResourcePolicy(kv);
    await p.installDefault();
    return p;
  }

  /**
   * The policy without touching storage yet (storage may be down at start-up): every call first makes sure the
   * default was installed, so an outage gives StorageUnavailableError (503) — never "absent → deny_all/default".
   */
  static deferred(kv: KvStore): ResourcePolicy {
    return new ResourcePolicy(kv);
  }

  async ids(): Promise<string[]> {
    await this.installDefault();
    return (await this.kv.list()).filter((k) => k.endsWith('.rego')).map((k) => k.slice(0, -'.rego'.length));
  }

  /** Compile first; store only a policy that compiles (nothing changes on error). */
  async set(source: string): Promise<void> {
    const policy = compileRego(source);
    await this.installDefault();
    await this.kv.set(KEY, Buffer.from(source, 'utf8'));
    this.cached = { source, policy };
  }

  private async current(): Promise<rego.CompiledPolicy> {
    await this.installDefault();
    const bytes = await this.kv.get(KEY);
    // A missing policy (deleted behind our back) denies everything.
    const source = bytes === undefined ? samplePolicy('deny_all') : Buffer.from(bytes).toString('utf8');
    if (this.cached?.source === source) return this.cached.policy;
    const policy = compileRego(source);
    this.cached = { source, policy };
    return policy;
  }

  async allows(req: ResourceRequest, claims: unknown, now: Date): Promise<boolean> {
    const policy = await this.current();
    try {
      const out = policy.evaluate('data.policy.allow', {
        input: claims,
        data: { plugin: req.plugin, 'resource-path': req.resourcePath, query: req.query },
        now,
      });
      return out === true;
    } catch (e) {
      throw new PolicyEngineError(`resource policy evaluation failed: ${(e as Error).message}`);
    }
  }
}
