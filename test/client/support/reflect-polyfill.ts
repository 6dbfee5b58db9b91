/**
 * @peculiar/x509 loads tsyringe, which insists on the Reflect metadata API; the `reflect-metadata` package is not
 * installed and the tests only mint certificates, so a small map-backed stand-in is enough.
 * Import this before '@peculiar/x509'.
 */
const store = new WeakMap<object, Map<unknown, unknown>>();
const key = (k: unknown, p?: string | symbol) => (p === undefined ? k : `${String(p)}\u0000${String(k)}`);
const R = Reflect as unknown as Record<string, unknown>;
if (typeof R.getMetadata !== 'function') {
  const define = (k: unknown, v: unknown, t: object, p?: string | symbol) => {
    let m = store.get(t);
    if (!m) store.set(t, (m = new Map()));
    m.set(key(k, p), v);
  };
  const get = (k: unknown, t: object, p?: string | symbol): unknown => {
    for (let o: object | null = t; o; o = Object.getPrototypeOf(o) as object | null) {
      const m = store.get(o);
      if (m?.has(key(k, p))) return m.get(key(k, p));
    }
    return undefined;
  };
  R.defineMetadata = define;
  R.getMetadata = get;
  R.getOwnMetadata = (k: unknown, t: object, p?: string | symbol) => store.get(t)?.get(key(k, p));
  R.hasMetadata = (k: unknown, t: object, p?: string | symbol) => get(k, t, p) !== undefined;
  R.metadata = (k: unknown, v: unknown) => (t: object, p?: string | symbol) => define(k, v, t, p);
}
export {};
