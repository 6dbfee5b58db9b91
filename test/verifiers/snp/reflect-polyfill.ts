// @peculiar/x509 loads tsyringe, which requires the Reflect metadata API, and the `reflect-metadata` package is not
// installed. The tests only mint certificates with it, so a map-backed stand-in is enough. Import before x509.
const meta = new WeakMap<object, Map<unknown, Map<unknown, unknown>>>();
function slot(target: object, prop: unknown, create: boolean): Map<unknown, unknown> | undefined {
  let byProp = meta.get(target);
  if (!byProp && create) meta.set(target, (byProp = new Map()));
  let m = byProp?.get(prop);
  if (!m && create && byProp) byProp.set(prop, (m = new Map()));
  return m;
}
const R = Reflect as unknown as Record<string, unknown>;
if (typeof R.getMetadata !== 'function') {
  const get = (k: unknown, t: object, p?: unknown): unknown => {
    for (let o: object | null = t; o; o = Object.getPrototypeOf(o)) {
      const m = slot(o, p, false);
      if (m?.has(k)) return m.get(k);
    }
    return undefined;
  };
  R.defineMetadata = (k: unknown, v: unknown, t: object, p?: unknown) => void slot(t, p, true)!.set(k, v);
  R.getOwnMetadata = (k: unknown, t: object, p?: unknown) => slot(t, p, false)?.get(k);
  R.getMetadata = get;
  R.hasMetadata = (k: unknown, t: object, p?: unknown) => get(k, t, p) !== undefined;
  R.metadata = (k: unknown, v: unknown) => (t: object, p?: unknown) => void slot(t, p, true)!.set(k, v);
}
export {};
