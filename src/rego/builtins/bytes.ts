/**
 * Go strings are byte strings: `base64.decode` can yield bytes that are not UTF-8, and OPA keeps them, so
 * `hex.encode(base64.decode("/w=="))` is "ff". JS strings are UTF-16, so invalid bytes are carried losslessly as
 * lone low surrogates U+DC80..U+DCFF (Python's "surrogateescape"), one per byte — which also makes `count` agree with
 * Go's rune count — and turned back into the same bytes whenever a string is encoded again.
 */

const fatal = new TextDecoder('utf-8', { fatal: true });

/** Length of the valid UTF-8 sequence starting at i, or 0 (Go's utf8.DecodeRune rules). */
function seqLen(b: Uint8Array, i: number): number {
  const b0 = b[i]!;
  let n: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) n = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    n = 3;
    if (b0 === 0xe0) lo = 0xa0;
    if (b0 === 0xed) hi = 0x9f; // no UTF-16 surrogates in UTF-8
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    n = 4;
    if (b0 === 0xf0) lo = 0x90;
    if (b0 === 0xf4) hi = 0x8f;
  } else return 0;
  if (i + n > b.length) return 0;
  const b1 = b[i + 1]!;
  if (b1 < lo || b1 > hi) return 0;
  for (let k = 2; k < n; k++) if (b[i + k]! < 0x80 || b[i + k]! > 0xbf) return 0;
  return n;
}

export function bytesToString(b: Uint8Array): string {
  try {
    return fatal.decode(b);
  } catch {
    /* not UTF-8: escape the invalid bytes */
  }
  let out = '';
  let start = 0;
  let i = 0;
  while (i < b.length) {
    if (b[i]! < 0x80) {
      i++;
      continue;
    }
    const n = seqLen(b, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += fatal.decode(b.subarray(start, i)) + String.fromCharCode(0xdc00 + b[i]!);
    i++;
    start = i;
  }
  return out + fatal.decode(b.subarray(start));
}

export function stringToBytes(s: string): Buffer {
  // Fast path: no escaped bytes.
  if (!/[\udc80-\udcff]/.test(s)) return Buffer.from(s, 'utf8');
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc80 && c <= 0xdcff && !(i > 0 && s.charCodeAt(i - 1) >= 0xd800 && s.charCodeAt(i - 1) <= 0xdbff)) {
      parts.push(Buffer.from(s.slice(start, i), 'utf8'), Buffer.from([c - 0xdc00]));
      start = i + 1;
    }
  }
  parts.push(Buffer.from(s.slice(start), 'utf8'));
  return Buffer.concat(parts);
}
