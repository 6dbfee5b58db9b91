/** Loads the repo's own .proto files (protos/) for @grpc/grpc-js. Field names are kept as written (snake_case). */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO_DIR = fileURLToPath(new URL('../../protos/', import.meta.url));

const cache = new Map<string, grpc.GrpcObject>();

export function loadProto(name: 'reference' | 'attestation' | 'health'): grpc.GrpcObject {
  let g = cache.get(name);
  if (g === undefined) {
    const def = protoLoader.loadSync(`${PROTO_DIR}${name}.proto`, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    g = grpc.loadPackageDefinition(def);
    cache.set(name, g);
  }
  return g;
}

export type ServiceCtor = grpc.ServiceClientConstructor;

export function serviceOf(pkg: grpc.GrpcObject, path: string): ServiceCtor {
  let cur: unknown = pkg;
  for (const part of path.split('.')) cur = (cur as Record<string, unknown>)[part];
  return cur as ServiceCtor;
}

/** `http://h:p` → plaintext `h:p`; `https://h:p` → TLS; bare `h:p` → plaintext. */
export function grpcTarget(address: string): { target: string; creds: grpc.ChannelCredentials } {
  if (address.startsWith('https://')) return { target: address.slice(8).replace(/\/$/, ''), creds: grpc.credentials.createSsl() };
  const bare = address.startsWith('http://') ? address.slice(7) : address;
  return { target: bare.replace(/\/$/, ''), creds: grpc.credentials.createInsecure() };
}

/** Adds grpc.health.v1 reporting SERVING for "" and the given services. */
export function addHealthService(server: grpc.Server, services: string[]): void {
  const health = serviceOf(loadProto('health'), 'grpc.health.v1.Health');
  const known = new Set(['', ...services]);
  server.addService(health.service, {
    Check(call: grpc.ServerUnaryCall<{ service: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      if (!known.has(call.request.service)) return cb({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      cb(null, { status: 'SERVING' });
    },
    Watch(call: grpc.ServerWritableStream<{ service: string }, unknown>) {
      call.write({ status: known.has(call.request.service) ? 'SERVING' : 'SERVICE_UNKNOWN' });
    },
  });
}
