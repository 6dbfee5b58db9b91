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
  const tokens = compilePointer(pointer);
  return tokens === null ? undefined : resolve(doc, tokens);
}

/** A pointer split into its unescaped reference tokens once (null: not a valid pointer, never matches). */
function compilePointer(pointer: string): string[] | null {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return null;
  return pointer
    .slice(1)
    .split('/')
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function resolve(doc: unknown, tokens: readonly string[]): unknown {
  let cur: unknown = doc;
  for (const token of tokens) {
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

const DEFAULT_COMPILED = DEFAULT_TEEKEY_PATHS.map(compilePointer);
/** Compiled `extra_teekey_paths` lists, by identity (the KBS passes the same array from its config every time). */
const compiledExtra = new WeakMap<readonly string[], Array<string[] | null>>();

export function findTeePubKey(claims: unknown, extraPaths: readonly string[]): unknown {
  let extra = compiledExtra.get(extraPaths);
  if (!extra) compiledExtra.set(extraPaths, (extra = extraPaths.map(compilePointer)));
  for (const list of [extra, DEFAULT_COMPILED]) {
    for (const tokens of list) {
      if (tokens === null) continue;
      const v = resolve(claims, tokens);
      if (v !== undefined && v !== null) return v;
    }
  }
  return undefined;
}
