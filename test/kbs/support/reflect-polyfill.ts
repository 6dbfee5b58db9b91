/**
 * @peculiar/x509 (through tsyringe) needs Reflect metadata and its polyfill package is not installed; tests only use
 * it to mint certificates, so a minimal map-backed polyfill is enough. Import before '@peculiar/x509'.
 */
type MetaMap = Map<unknown, unknown>;
const store = new WeakMap<object, Map<string | symbol | undefined, MetaMap>>();
function bucket(target: object, prop: string | symbol | undefined, create: boolean): MetaMap | undefined {
  let byProp = store.get(target);
  if (!byProp) {
    if (!create) return undefined;
    store.set(target, (byProp = new Map()));
  }
  let m = byProp.get(prop);
  if (!m && create) byProp.set(prop, (m = new Map()));
  return m;
}
const R = Reflect as unknown as Record<string, unknown>;
if (typeof R.getMetadata !== 'function') {
  R.defineMetadata = (k: unknown, v: unknown, t: object, p?: string | symbol) => void bucket(t, p, true)!.set(k, v);
  R.getOwnMetadata = (k: unknown, t: object, p?: string | symbol) => bucket(t, p, false)?.get(k);
  R.getMetadata = (k: unknown, t: object, p?: string | symbol): unknown => {
    for (let o: object | null = t; o; o = Object.getPrototypeOf(o)) {
      const m = bucket(o, p, false);
      if (m?.has(k)) return m.get(k);
    }
    return undefined;
  };
  R.hasMetadata = (k: unknown, t: object, p?: string | symbol) => (R.getMetadata as Function)(k, t, p) !== undefined;
  R.metadata = (k: unknown, v: unknown) => (t: object, p?: string | symbol) => void bucket(t, p, true)!.set(k, v);
}
export {};
