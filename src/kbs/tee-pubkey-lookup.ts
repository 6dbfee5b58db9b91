/** Where the KBS finds `tee-pubkey` in token claims (specs/trustee.md §2.5): first present JSON pointer wins. */
export const DEFAULT_TEEKEY_PATHS = [
  '/tdx/attester_runtime_data/tee-pubkey',
  '/tdx/attester_user_data/tee-pubkey',
  '/customized_claims/runtime_data/tee-pubkey',
  '/submods/cpu0/ear.veraison.annotated-evidence/runtime_data_claims/tee-pubkey',
  '/tee-pubkey',
];

/** RFC 6901 JSON pointer; undefined when any step is missing. */
export function jsonPointer(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  if (!pointer.startsWith('/')) return undefined;
  let cur: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9]\d*)$/.test(token)) return undefined;
      cur = cur[Number(token)];
    } else if (typeof cur === 'object' && cur !== null && Object.hasOwn(cur, token)) {
      cur = (cur as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
  }
  return cur;
}

export function findTeePubKey(claims: unknown, extraPaths: string[]): unknown {
  for (const p of [...extraPaths, ...DEFAULT_TEEKEY_PATHS]) {
    const v = jsonPointer(claims, p);
    if (v !== undefined && v !== null) return v;
  }
  return undefined;
}
