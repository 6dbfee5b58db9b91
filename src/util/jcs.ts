/**
 * RFC 8785 JSON Canonicalization Scheme: keys sorted by UTF-16 code units, no whitespace, ECMAScript number form
 * (JSON.stringify already produces it), minimal string escaping (JSON.stringify's, which matches RFC 8785 §3.2.2.2).
 * Used for the runtime-data binding (specs/trustee.md §2.2) by the AS and by the client.
 */
export function canonicalize(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('JCS: non-finite number');
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError(`JCS: cannot canonicalize ${typeof value}`);
  }
  if (Array.isArray(value)) return '[' + value.map((v) => canonicalize(v === undefined ? null : v)).join(',') + ']';
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)); // JS string comparison is by UTF-16 code units, as RFC 8785 asks
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalize(obj[k])).join(',') + '}';
}
