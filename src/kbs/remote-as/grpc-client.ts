/**
 * The KBS's `coco_as_grpc` backend (specs/trustee.md §3.3): the `AttestationService` interface over a remote
 * grpc-as — Trustee's `attestation.AttestationService` and `reference.ReferenceValueProviderService` on one address.
 *
 * Like Trustee's mobc pool, up to `poolSize` channels, each with its own connection, are used in turn; they are
 * created and connect on first use, so an AS that is down at KBS start does not stop start-up. Every call has a
 * deadline (300 s, Trustee's). Outcomes:
 *  - the AS answers with an error (ABORTED with its message, INVALID_ARGUMENT, …) → `AttestationServiceError` with
 *    that message, which the KBS turns into the same 401 problem as the built-in AS;
 *  - the AS cannot be reached or does not answer in time → `RemoteAsError` (503 at the KBS, no internals shown);
 *  - calls with no gRPC counterpart (list/get policy, signer JWKS) → `RemoteAsError('ERR_REMOTE_AS_UNSUPPORTED')`.
 */
import type { GrpcIndividualRequest } from '../../as/wire.js';
import * as grpc from '@grpc/grpc-js';
import type { AttestationService, VerificationRequest } from '../../as/types.js';
import { AttestationServiceError, type AsErrorCode } from '../../as/errors.js';
import type { Json } from '../../verifiers/types.js';
import { loadProto, serviceOf } from '../../rvps/grpc-proto.js';
import { DEFAULT_AS_POOL_SIZE, MAX_AS_POOL_SIZE, type AsAddress } from './address.js';
import { RemoteAsError } from './errors.js';

/** Trustee's per-request timeout for the gRPC AS (`COCO_AS_GRPC_TIMEOUT`-style 300 s). */
export const REMOTE_AS_TIMEOUT_MS = 300_000;
/** Our grpc-as accepts 16 MiB; tokens with verbose evidence can exceed grpc-js's 4 MiB default. */
const MAX_MESSAGE_BYTES = 16 << 20;
/** AS messages are relayed to clients; keep them to one short line. */
const MAX_DETAIL_CHARS = 1024;

export interface GrpcAsClientOptions {
  address: AsAddress;
  poolSize?: number;
  /** Per-request deadline; default REMOTE_AS_TIMEOUT_MS (tests use shorter ones). */
  timeoutMs?: number;
  /** PEM roots for `https://` instead of Node's trusted roots (tests with a private CA). */
  rootCerts?: Buffer;
  /** Transport failures are logged here with the address and grpc's own text (never sent to clients). */
  log?: { warn(m: string): void };
}

type Unary<Req, Res> = (req: Req, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => grpc.ClientUnaryCall;

/** What the client sends: the proto message's fields (the oneof case names are what proto-loader adds when decoding). */
type GrpcVerificationRequest = Omit<GrpcIndividualRequest, 'runtime_data' | 'init_data'>;

type AsStub = grpc.Client & {
  AttestationEvaluate: Unary<{ verification_requests: GrpcVerificationRequest[]; policy_ids: string[] }, { attestation_token: string }>;
  SetAttestationPolicy: Unary<{ policy_id: string; policy: string }, object>;
  GetAttestationChallenge: Unary<{ inner: Record<string, string> }, { attestation_challenge: string }>;
};
type RefStub = grpc.Client & {
  QueryReferenceValue: Unary<{ reference_value_id: string }, { reference_value_results?: string | null }>;
  RegisterReferenceValue: Unary<{ message: string }, object>;
};

interface Slot {
  channel: grpc.Channel;
  as: AsStub;
  ref: RefStub;
}

/** The wire form of one request, exactly what grpc-as's `parseGrpcVerificationRequest` (src/as/wire.ts) reads. */
export function toGrpcVerificationRequest(r: VerificationRequest): GrpcVerificationRequest {
  const out: GrpcVerificationRequest = {
    tee: r.tee,
    evidence: Buffer.from(JSON.stringify(r.evidence), 'utf8').toString('base64url'),
    // Empty means sha384 on the AS side; send what the KBS chose so the AS never has to guess.
    runtime_data_hash_algorithm: r.runtimeDataHashAlgorithm ?? '',
  };
  const rd = r.runtimeData;
  if (rd?.kind === 'raw') out.raw_runtime_data = Buffer.from(rd.bytes).toString('base64url');
  else if (rd?.kind === 'structured') out.structured_runtime_data = JSON.stringify(rd.json);
  const id = r.initData;
  if (id?.kind === 'digest') out.init_data_digest = Buffer.from(id.bytes).toString('base64url');
  else if (id?.kind === 'toml') out.init_data_toml = id.toml;
  return out;
}

/** One printable line of at most MAX_DETAIL_CHARS. */
function safeDetail(s: string | undefined): string {
  // eslint-disable-next-line no-control-regex
  return (s ?? '').replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, MAX_DETAIL_CHARS);
}

type Rpc = 'AttestationEvaluate' | 'SetAttestationPolicy' | 'GetAttestationChallenge' | 'QueryReferenceValue' | 'RegisterReferenceValue';

/** What an AS refusal of each RPC means, for the stable error code. */
const REFUSAL_CODE: Record<Rpc, AsErrorCode> = {
  AttestationEvaluate: 'ERR_AS_VERIFICATION',
  SetAttestationPolicy: 'ERR_AS_POLICY_INVALID',
  GetAttestationChallenge: 'ERR_AS_BAD_REQUEST',
  QueryReferenceValue: 'ERR_AS_RVPS',
  RegisterReferenceValue: 'ERR_AS_RVPS',
};

export class GrpcAttestationService implements AttestationService {
  readonly address: AsAddress;
  readonly poolSize: number;
  private readonly timeoutMs: number;
  private readonly creds: grpc.ChannelCredentials;
  private readonly log: { warn(m: string): void } | undefined;
  private readonly slots: Array<Slot | undefined>;
  private next = 0;
  private closed = false;

  constructor(opts: GrpcAsClientOptions) {
    const poolSize = opts.poolSize ?? DEFAULT_AS_POOL_SIZE;
    if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > MAX_AS_POOL_SIZE) throw new RangeError(`poolSize must be an integer in 1..${MAX_AS_POOL_SIZE}`);
    this.address = opts.address;
    this.poolSize = poolSize;
    this.timeoutMs = opts.timeoutMs ?? REMOTE_AS_TIMEOUT_MS;
    this.creds = opts.address.tls ? grpc.credentials.createSsl(opts.rootCerts ?? null) : grpc.credentials.createInsecure();
    this.log = opts.log;
    this.slots = new Array<Slot | undefined>(poolSize).fill(undefined);
  }

  async evaluate(requests: VerificationRequest[], policyIds: string[]): Promise<string> {
    if (requests.length === 0) throw new AttestationServiceError('ERR_AS_BAD_REQUEST', 'no verification requests');
    const slot = this.slot();
    const res = await this.call('AttestationEvaluate', slot.as, slot.as.AttestationEvaluate, {
      verification_requests: requests.map(toGrpcVerificationRequest),
      // The KBS asks for "default" (Trustee's KBS always does); an empty list means the same to the AS.
      policy_ids: policyIds.length > 0 ? policyIds : ['default'],
    });
    const token = res.attestation_token;
    if (typeof token !== 'string' || token === '') throw new AttestationServiceError('ERR_AS_TOKEN', 'the attestation service returned no token');
    return token;
  }

  async setPolicy(policyId: string, policyB64Url: string): Promise<void> {
    const slot = this.slot();
    await this.call('SetAttestationPolicy', slot.as, slot.as.SetAttestationPolicy, { policy_id: policyId, policy: policyB64Url });
  }

  async generateSupplementalChallenge(tee: string, teeParameters: string): Promise<string> {
    // Only IBM SE has a supplemental challenge; Trustee's KBS asks the AS for nothing else, so neither do we
    // (no round trip per /auth, and /auth keeps working while the AS is briefly away).
    if (tee !== 'se') return '';
    const slot = this.slot();
    const res = await this.call('GetAttestationChallenge', slot.as, slot.as.GetAttestationChallenge, { inner: { tee, tee_params: teeParameters } });
    return res.attestation_challenge ?? '';
  }

  async registerReferenceValue(message: string): Promise<void> {
    const slot = this.slot();
    await this.call('RegisterReferenceValue', slot.ref, slot.ref.RegisterReferenceValue, { message });
  }

  async queryReferenceValue(id: string): Promise<Json | undefined> {
    const slot = this.slot();
    const res = await this.call('QueryReferenceValue', slot.ref, slot.ref.QueryReferenceValue, { reference_value_id: id });
    const text = res.reference_value_results;
    if (text === undefined || text === null || text === '') return undefined;
    try {
      return JSON.parse(text) as Json;
    } catch {
      throw new AttestationServiceError('ERR_AS_RVPS', 'the attestation service returned a reference value that is not JSON');
    }
  }

  // Trustee's gRPC AS has no RPC for these (specs/trustee.md §3.3); say so rather than pretend.
  async listPolicies(): Promise<string[]> {
    throw new RemoteAsError('ERR_REMOTE_AS_UNSUPPORTED', 'listing attestation policies is not available with a remote gRPC attestation service');
  }

  async getPolicy(): Promise<string | undefined> {
    throw new RemoteAsError('ERR_REMOTE_AS_UNSUPPORTED', 'reading attestation policies is not available with a remote gRPC attestation service');
  }

  async tokenSignerJwks(): Promise<{ keys: Json[] }> {
    throw new RemoteAsError(
      'ERR_REMOTE_AS_UNSUPPORTED',
      'the token signer key is not available over gRPC; configure [attestation_token] trusted_jwk_sets or trusted_certs_paths',
    );
  }

  /** Closes every channel; later calls fail as unavailable. */
  async close(): Promise<void> {
    this.closed = true;
    for (const [i, s] of this.slots.entries()) {
      if (s) s.channel.close();
      this.slots[i] = undefined;
    }
  }

  /** The next channel in turn, created on first use. */
  private slot(): Slot {
    if (this.closed) throw new RemoteAsError('ERR_REMOTE_AS_UNAVAILABLE', 'attestation service unavailable');
    const i = this.next;
    this.next = (i + 1) % this.poolSize;
    let s = this.slots[i];
    if (s === undefined) {
      const channel = new grpc.Channel(this.address.target, this.creds, {
        // One connection per pool slot (grpc-js would otherwise share one subchannel among all of them).
        'grpc.use_local_subchannel_pool': 1,
        'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
        // Back on its feet within ~10 s of the AS returning, not grpc's default of up to 2 minutes.
        'grpc.initial_reconnect_backoff_ms': 500,
        'grpc.max_reconnect_backoff_ms': 10_000,
      });
      const AsCtor = serviceOf(loadProto('attestation'), 'attestation.AttestationService');
      const RefCtor = serviceOf(loadProto('reference'), 'reference.ReferenceValueProviderService');
      s = {
        channel,
        as: new AsCtor(this.address.target, this.creds, { channelOverride: channel }) as unknown as AsStub,
        ref: new RefCtor(this.address.target, this.creds, { channelOverride: channel }) as unknown as RefStub,
      };
      this.slots[i] = s;
    }
    return s;
  }

  private call<Req, Res>(rpc: Rpc, client: grpc.Client, fn: Unary<Req, Res>, req: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      fn.call(client, req, { deadline: Date.now() + this.timeoutMs }, (err, res) => {
        if (err) reject(this.fromGrpcError(rpc, err));
        else resolve((res ?? {}) as Res);
      });
    });
  }

  private fromGrpcError(rpc: Rpc, e: grpc.ServiceError): Error {
    const s = grpc.status;
    switch (e.code) {
      // The AS's own verdicts: relay its message (Trustee's KBS shows it in AttestationError's detail).
      case s.ABORTED:
      case s.INVALID_ARGUMENT:
      case s.FAILED_PRECONDITION:
      case s.NOT_FOUND:
      case s.ALREADY_EXISTS:
      case s.OUT_OF_RANGE:
      case s.PERMISSION_DENIED: {
        const code = e.code === s.INVALID_ARGUMENT ? 'ERR_AS_BAD_REQUEST' : REFUSAL_CODE[rpc];
        return new AttestationServiceError(code, safeDetail(e.details) || `the attestation service refused ${rpc}`, { cause: e });
      }
      case s.DEADLINE_EXCEEDED:
        this.log?.warn(`remote AS ${this.address.text}: ${rpc} did not answer within ${this.timeoutMs} ms`);
        return new RemoteAsError('ERR_REMOTE_AS_TIMEOUT', 'attestation service did not answer in time', { cause: e });
      case s.UNAVAILABLE:
      case s.CANCELLED:
        this.log?.warn(`remote AS ${this.address.text}: ${rpc} unavailable: ${safeDetail(e.details)}`);
        return new RemoteAsError('ERR_REMOTE_AS_UNAVAILABLE', 'attestation service unavailable', { cause: e });
      case s.UNIMPLEMENTED:
        return new AttestationServiceError('ERR_AS_INTERNAL', `the attestation service does not implement ${rpc}`, { cause: e });
      default:
        // INTERNAL, UNKNOWN, RESOURCE_EXHAUSTED, …: transport or server trouble whose text is not for clients.
        this.log?.warn(`remote AS ${this.address.text}: ${rpc} failed with ${s[e.code] ?? e.code}: ${safeDetail(e.details)}`);
        return new AttestationServiceError('ERR_AS_INTERNAL', `the attestation service failed (${s[e.code] ?? e.code})`, { cause: e });
    }
  }
}
