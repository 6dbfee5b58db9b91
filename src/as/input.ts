/**
 * The policy input document, also the token's `ear.veraison.annotated-evidence` (specs/trustee.md §3.6):
 * the verifier's claims under the TEE name, with `report_data` / `init_data` lifted to the top level, next to the
 * runtime-data and init-data claims.
 */
import type { Json, JsonObject } from '../verifiers/types.js';

export function policyInput(tee: string, claims: JsonObject, runtimeDataClaims: Json, initDataClaims: Json): JsonObject {
  const teeClaims: JsonObject = {};
  for (const [k, v] of Object.entries(claims)) {
    if (k !== 'report_data' && k !== 'init_data') teeClaims[k] = v;
  }
  const doc: JsonObject = { [tee]: teeClaims };
  if (claims.report_data !== undefined) doc.report_data = claims.report_data;
  doc.runtime_data_claims = runtimeDataClaims;
  if (claims.init_data !== undefined) doc.init_data = claims.init_data;
  doc.init_data_claims = initDataClaims;
  return doc;
}

/** `verbose_token = false`: drop the (possibly huge) device evidence string from the echoed runtime data. */
export function trimRuntimeDataClaims(claims: Json, verbose: boolean): Json {
  if (verbose || claims === null || typeof claims !== 'object' || Array.isArray(claims)) return claims;
  const { ['additional-evidence']: _dropped, ...rest } = claims;
  return rest;
}
