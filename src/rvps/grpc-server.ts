/** Serves an RVPS over gRPC (`reference.proto`) plus grpc.health.v1. */
import * as grpc from '@grpc/grpc-js';
import type { ReferenceValueProvider } from './index.js';
import { RvpsError } from './errors.js';
import { addHealthService, loadProto, serviceOf } from './grpc-proto.js';

export const REFERENCE_SERVICE = 'reference.ReferenceValueProviderService';

/** The protocol has only single-name queries, so serving it needs only `register` and `query`. */
export type ServedReferenceValueProvider = Pick<ReferenceValueProvider, 'register' | 'query'>;

export function addReferenceService(server: grpc.Server, rvps: ServedReferenceValueProvider, log?: { warn(m: string): void }): void {
  const svc = serviceOf(loadProto('reference'), REFERENCE_SERVICE);
  server.addService(svc.service, {
    QueryReferenceValue(call: grpc.ServerUnaryCall<{ reference_value_id: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      rvps.query(call.request.reference_value_id).then(
        (v) => cb(null, v === undefined ? {} : { reference_value_results: JSON.stringify(v) }),
        (e) => {
          log?.warn(`rvps query failed: ${(e as Error).message}`);
          cb({ code: grpc.status.INTERNAL, details: 'query failed' });
        },
      );
    },
    RegisterReferenceValue(call: grpc.ServerUnaryCall<{ message: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      rvps.register(call.request.message).then(
        () => cb(null, {}),
        (e) => {
          const safe = e instanceof RvpsError ? e.message : 'register failed';
          if (!(e instanceof RvpsError)) log?.warn(`rvps register failed: ${(e as Error).message}`);
          cb({ code: e instanceof RvpsError && e.code !== 'ERR_RVPS_STORAGE' ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL, details: safe });
        },
      );
    },
  });
}

export interface RunningGrpcServer {
  port: number;
  close(): Promise<void>;
}

export async function listenGrpc(server: grpc.Server, address: string, creds = grpc.ServerCredentials.createInsecure()): Promise<RunningGrpcServer> {
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(address, creds, (err, p) => (err ? reject(err) : resolve(p))));
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
      }),
  };
}

export async function startRvpsGrpcServer(rvps: ServedReferenceValueProvider, address: string, log?: { warn(m: string): void }): Promise<RunningGrpcServer> {
  const server = new grpc.Server();
  addReferenceService(server, rvps, log);
  addHealthService(server, [REFERENCE_SERVICE]);
  return listenGrpc(server, address);
}
