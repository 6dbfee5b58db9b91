/** Rego's own text form of a value (OPA `ast.Value.String()`), used by sprintf's %v and in error messages. */
import { RegoObject, RegoSet } from '../value.js';
import type { Value } from '../value.js';
import { numText } from './decimal.js';

/** Go's strconv.Quote: JSON-like, but non-ASCII printable characters are kept and control bytes use \x / \u. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
    else if ((c >= 0x80 && c < 0xa0) || c === 0xad) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

export function termString(v: Value): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
    case 'bigint':
      return numText(v);
    case 'string':
      return goQuote(v);
  }
  if (Array.isArray(v)) return '[' + v.map(termString).join(', ') + ']';
  if (v instanceof RegoObject) return '{' + v.entries().map(([k, x]) => `${termString(k)}: ${termString(x)}`).join(', ') + '}';
  const s = v as RegoSet;
  if (s.size === 0) return 'set()';
  return '{' + s.values().map(termString).join(', ') + '}';
}
