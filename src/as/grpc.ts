/**
 * grpc-as service (specs/trustee.md §3.3): `attestation.AttestationService` + `reference.ReferenceValueProviderService`
 * + grpc.health.v1 on one server. Errors are gRPC ABORTED with the safe message (INVALID_ARGUMENT for malformed input).
 */
import * as grpc from '@grpc/grpc-js';
import type { AttestationService } from './types.js';
import { AttestationServiceError } from './errors.js';
import { parseGrpcVerificationRequest, GRPC_TEES, type GrpcIndividualRequest } from './wire.js';
import { addHealthService, loadProto, serviceOf } from '../rvps/grpc-proto.js';
import { addReferenceService, REFERENCE_SERVICE } from '../rvps/grpc-server.js';
import { RvpsError } from '../rvps/errors.js';

export const ATTESTATION_SERVICE = 'attestation.AttestationService';

function toStatus(e: unknown, log?: { warn(m: string): void }): Partial<grpc.StatusObject> {
  if (e instanceof AttestationServiceError) {
    return { code: e.code === 'ERR_AS_BAD_REQUEST' ? grpc.status.INVALID_ARGUMENT : grpc.status.ABORTED, details: e.message };
  }
  if (e instanceof RvpsError) return { code: grpc.status.ABORTED, details: e.message };
  log?.warn(`grpc-as: ${(e as Error)?.message ?? String(e)}`);
  return { code: grpc.status.ABORTED, details: 'internal error' };
}

export function createGrpcAsServer(as: AttestationService, log?: { warn(m: string): void }): grpc.Server {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 16 << 20 });
  const svc = serviceOf(loadProto('attestation'), ATTESTATION_SERVICE);
  const handle =
    <Req, Res>(fn: (req: Req) => Promise<Res>) =>
    (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => {
      fn(call.request).then(
        (res) => cb(null, res),
        (e) => cb(toStatus(e, log)),
      );
    };
  server.addService(svc.service, {
    AttestationEvaluate: handle(async (req: { verification_requests: GrpcIndividualRequest[]; policy_ids: string[] }) => {
      const requests = (req.verification_requests ?? []).map(parseGrpcVerificationRequest);
      const policyIds = req.policy_ids?.length ? req.policy_ids : ['default'];
      return { attestation_token: await as.evaluate(requests, policyIds) };
    }),
    SetAttestationPolicy: handle(async (req: { policy_id: string; policy: string }) => {
      await as.setPolicy(req.policy_id, req.policy);
      return {};
    }),
    GetAttestationChallenge: handle(async (req: { inner: Record<string, string> }) => {
      const tee = req.inner?.tee;
      if (tee === undefined || !GRPC_TEES.includes(tee)) throw new AttestationServiceError('ERR_AS_BAD_REQUEST', 'unsupported TEE');
      return { attestation_challenge: await as.generateSupplementalChallenge(tee, req.inner.tee_params ?? '') };
    }),
  });
  addReferenceService(server, { register: (m) => as.registerReferenceValue(m), query: (id) => as.queryReferenceValue(id) }, log);
  addHealthService(server, [ATTESTATION_SERVICE, REFERENCE_SERVICE]);
  return server;
}
