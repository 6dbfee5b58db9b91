/**
 * RCAR sessions (specs/trustee.md §2.6): stored in KV namespace `kbs_protocol_session`, key = session id (UUIDv4
 * simple form), value = Trustee's externally tagged JSON `{"Authed":{request,challenge,id,timeout}}` →
 * `{"Attested":{token,id,timeout}}`, `timeout` RFC 3339. The challenge is consumed with `take()` so one nonce
 * yields at most one attestation, even with several KBS instances on one store.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { KvStore } from '../storage/types.js';
import { bytesEqual } from '../util/bytes.js';
import { TooManySessions } from './errors.js';
import type { SessionLimiter } from './session-limit.js';

export const SESSION_NAMESPACE = 'kbs_protocol_session';
export const SESSION_COOKIE = 'kbs-session-id';

export interface AuthRequestBody {
  version: string;
  tee: string;
  'extra-params': unknown;
}

export interface ChallengeBody {
  nonce: string;
  'extra-params': unknown;
}

export type Session =
  | { state: 'Authed'; id: string; request: AuthRequestBody; challenge: ChallengeBody; timeout: Date }
  | { state: 'Attested'; id: string; token: string; timeout: Date };

const SESSION_ID = /^[0-9a-f]{32}$/;

export function newSessionId(): string {
  return randomUUID().replaceAll('-', '');
}

/**
 * Challenge nonces are drawn from a 4 KiB block of CSPRNG output, refilled when used up: one randomBytes call per
 * 128 nonces instead of one per /auth (each call is a crypto job, a few µs). Every byte is handed out once; nonces
 * are public values (they are sent to the client), so holding the next ones in memory reveals nothing secret.
 */
const NONCE_POOL_BYTES = 4096;
let noncePool = Buffer.alloc(0);
let noncePoolOffset = 0;

/** 32 random bytes, standard base64 with padding (44 chars). */
export function newNonce(): string {
  if (noncePoolOffset + 32 > noncePool.length) {
    noncePool = randomBytes(NONCE_POOL_BYTES);
    noncePoolOffset = 0;
  }
  const nonce = noncePool.toString('base64', noncePoolOffset, noncePoolOffset + 32);
  noncePoolOffset += 32;
  return nonce;
}

/** Constant-time comparison of two challenge nonces on their UTF-8 bytes (security-cases.md #31). */
export function nonceMatches(a: string, b: string): boolean {
  return bytesEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function encode(s: Session): Uint8Array {
  const timeout = s.timeout.toISOString();
  const json =
    s.state === 'Authed'
      ? { Authed: { request: s.request, challenge: s.challenge, id: s.id, timeout } }
      : { Attested: { token: s.token, id: s.id, timeout } };
  return Buffer.from(JSON.stringify(json));
}

function decode(bytes: Uint8Array): Session | undefined {
  let v: unknown;
  try {
    // A view on the stored bytes (Buffer.from(Uint8Array) would copy them first).
    v = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, Record<string, unknown> | undefined>;
  const body = o.Authed ?? o.Attested;
  if (!body || typeof body.id !== 'string' || typeof body.timeout !== 'string') return undefined;
  const timeout = new Date(body.timeout);
  if (Number.isNaN(timeout.getTime())) return undefined;
  if (o.Authed) {
    const ch = body.challenge as ChallengeBody | undefined;
    if (!ch || typeof ch.nonce !== 'string') return undefined;
    return { state: 'Authed', id: body.id, request: body.request as AuthRequestBody, challenge: ch, timeout };
  }
  if (typeof body.token !== 'string') return undefined;
  return { state: 'Attested', id: body.id, token: body.token, timeout };
}

/** The stored bytes each decoded session came from (see consumeChallenge). */
const sourceBytes = new WeakMap<Session, Uint8Array>();

export class SessionStore {
  constructor(
    private readonly kv: KvStore,
    private readonly lifetimeMs: number,
    private readonly clock: () => Date = () => new Date(),
    /** Cap on live sessions created by this instance (absent: no cap). */
    private readonly limiter?: SessionLimiter,
  ) {}

  static isSessionId(id: string): boolean {
    return SESSION_ID.test(id);
  }

  async create(request: AuthRequestBody, challenge: ChallengeBody): Promise<Session & { state: 'Authed' }> {
    const id = newSessionId();
    const now = this.clock().getTime();
    const timeout = new Date(now + this.lifetimeMs);
    const s = { state: 'Authed' as const, id, request, challenge, timeout };
    const bytes = encode(s);
    if (this.limiter && !this.limiter.tryAcquire(now, timeout.getTime(), bytes.length))
      throw new TooManySessions('too many live sessions on this instance (max_sessions / max_session_bytes); retry later');
    try {
      await this.kv.set(id, bytes, { overwrite: false, ttlMs: this.lifetimeMs });
    } catch (e) {
      this.limiter?.releaseLast();
      throw e;
    }
    return s;
  }

  /** The live session, or undefined (unknown, malformed or expired; expired ones are deleted). */
  async get(id: string): Promise<Session | undefined> {
    if (!SessionStore.isSessionId(id)) return undefined;
    const bytes = await this.kv.get(id);
    if (!bytes) return undefined;
    const s = decode(bytes);
    if (!s || s.id !== id || s.timeout.getTime() <= this.clock().getTime()) {
      await this.kv.delete(id);
      return undefined;
    }
    sourceBytes.set(s, bytes);
    return s;
  }

  /**
   * Atomically consume an Authed session whose challenge nonce equals `nonce`. Returns it, or undefined when another
   * request consumed it first (or it changed meanwhile). `seen`: the session `get` returned for this id a moment
   * ago; when the taken bytes are exactly the bytes it was decoded from, it is reused instead of decoded again.
   */
  async consumeChallenge(id: string, nonce: string, seen?: Session): Promise<(Session & { state: 'Authed' }) | undefined> {
    const bytes = await this.kv.take(id);
    if (!bytes) return undefined;
    const prior = seen && sourceBytes.get(seen);
    const s = prior && bytesEqual(prior, bytes) ? seen : decode(bytes);
    if (!s || s.state !== 'Authed' || s.id !== id || !nonceMatches(s.challenge.nonce, nonce)) return undefined;
    if (s.timeout.getTime() <= this.clock().getTime()) return undefined;
    return s;
  }

  async markAttested(s: Session, token: string): Promise<void> {
    const remaining = s.timeout.getTime() - this.clock().getTime();
    if (remaining <= 0) return;
    await this.kv.set(s.id, encode({ state: 'Attested', id: s.id, token, timeout: s.timeout }), { ttlMs: remaining });
  }
}
