/** RVPS client over gRPC (`reference.ReferenceValueProviderService`), for `rvps_config.type = "GrpcRemote"`. */
import * as grpc from '@grpc/grpc-js';
import type { Json } from '../verifiers/types.js';
import type { ReferenceValueProvider } from './index.js';
import { RvpsError } from './errors.js';
import { grpcTarget, loadProto, serviceOf } from './grpc-proto.js';

const TIMEOUT_MS = 30_000;

type Unary<Req, Res> = (req: Req, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: Res) => void) => void;

export function connectRemoteRvps(address: string): ReferenceValueProvider & { close(): void } {
  const Ctor = serviceOf(loadProto('reference'), 'reference.ReferenceValueProviderService');
  const { target, creds } = grpcTarget(address);
  const client = new Ctor(target, creds) as unknown as grpc.Client & {
    QueryReferenceValue: Unary<{ reference_value_id: string }, { reference_value_results?: string | null }>;
    RegisterReferenceValue: Unary<{ message: string }, object>;
  };
  function call<Req, Res>(fn: Unary<Req, Res>, req: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      fn.call(client, req, { deadline: Date.now() + TIMEOUT_MS }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }
  async function query(name: string): Promise<Json | undefined> {
    const res = await call(client.QueryReferenceValue, { reference_value_id: name });
    const text = res.reference_value_results;
    if (text === undefined || text === null || text === '') return undefined;
    try {
      return JSON.parse(text) as Json;
    } catch {
      throw new RvpsError('ERR_RVPS_STORAGE', 'remote RVPS returned a value that is not JSON');
    }
  }
  return {
    async register(message) {
      try {
        await call(client.RegisterReferenceValue, { message });
      } catch (e) {
        throw new RvpsError('ERR_RVPS_STORAGE', `remote RVPS refused the reference value: ${(e as grpc.ServiceError).details ?? 'error'}`, { cause: e });
      }
    },
    query,
    // reference.proto has no batch call: one QueryReferenceValue per distinct name, all in flight at once on the
    // one HTTP/2 channel. The remote server answers by its own clock, as `query` does.
    async queryMany(names) {
      const distinct = [...new Set(names)];
      const values = await Promise.all(distinct.map((name) => query(name)));
      const out = new Map<string, Json>();
      distinct.forEach((name, i) => {
        const v = values[i];
        if (v !== undefined) out.set(name, v);
      });
      return out;
    },
    close() {
      client.close();
    },
  };
}
