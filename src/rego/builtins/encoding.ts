/** base64, base64url, hex, JSON, YAML and URL-query encodings. */
import { parse as yamlParse, stringify as yamlStringify } from 'yaml';
import { def, asString, asObject, typeError, builtinError, BuiltinTypeError, RegoObject, RegoSet, typeName } from './util.js';
import type { BuiltinDef, Value } from './util.js';
import { fromJSON, jsonText } from '../value.js';
import { parseJson, JsonSyntaxError } from './jsonparse.js';

import { bytesToString, stringToBytes } from './bytes.js';

export { bytesToString, stringToBytes };

const STD_FULL = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const URL_FULL = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/;

/** Go's padded base64 decoding (StdEncoding/URLEncoding): strict alphabet and padding, CR/LF ignored. */
function decodeBase64(name: string, input: string, url: boolean): Buffer {
  const s = input.replace(/[\r\n]/g, '');
  if (!(url ? URL_FULL : STD_FULL).test(s)) {
    const alpha = url ? /[A-Za-z0-9_-]/ : /[A-Za-z0-9+/]/;
    let at = [...s].findIndex((c) => !alpha.test(c));
    if (at < 0) at = s.length - (s.length % 4);
    throw builtinError(name, `illegal base64 data at input byte ${at}`);
  }
  return Buffer.from(s, url ? 'base64url' : 'base64');
}

function hexDecode(s: string): Buffer {
  const isHex = (c: string) => /^[0-9a-fA-F]$/.test(c);
  for (let i = 0; i + 1 < s.length; i += 2) {
    for (const c of [s[i]!, s[i + 1]!]) {
      if (!isHex(c)) throw builtinError('hex.decode', `encoding/hex: invalid byte: ${goSharpU(c)}`);
    }
  }
  if (s.length % 2 === 1) {
    const last = s[s.length - 1]!;
    if (!isHex(last)) throw builtinError('hex.decode', `encoding/hex: invalid byte: ${goSharpU(last)}`);
    throw builtinError('hex.decode', 'encoding/hex: odd length hex string');
  }
  return Buffer.from(s, 'hex');
}

function goSharpU(c: string): string {
  const cp = c.codePointAt(0)!;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${c}'`;
}

// ---- JSON

/** Go's json.Marshal escapes <, >, & and U+2028/U+2029 (they can only occur inside strings in JSON text). */
export function goJsonEscape(text: string): string {
  return text.replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

export function jsonUnmarshal(name: string, s: string): Value {
  try {
    return parseJson(s);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw builtinError(name, e.message);
    throw e;
  }
}

/** Go's json.MarshalIndent layout for a value (objects sorted, sets as arrays). */
function jsonIndent(v: Value, prefix: string, indent: string, level: number): string {
  const nl = '\n' + prefix + indent.repeat(level + 1);
  const close = '\n' + prefix + indent.repeat(level);
  if (Array.isArray(v) || v instanceof RegoSet) {
    const xs = Array.isArray(v) ? v : v.values();
    if (xs.length === 0) return '[]';
    return '[' + xs.map((x) => nl + jsonIndent(x, prefix, indent, level + 1)).join(',') + close + ']';
  }
  if (v instanceof RegoObject) {
    const es = v.entries();
    if (es.length === 0) return '{}';
    return '{' + es.map(([k, x]) => nl + goJsonEscape(JSON.stringify(typeof k === 'string' ? k : jsonText(k))) + ': ' + jsonIndent(x, prefix, indent, level + 1)).join(',') + close + '}';
  }
  return goJsonEscape(jsonText(v));
}

function marshalWithOptions(args: Value[]): Value {
  const v = args[0]!;
  const opts = asObject('json.marshal_with_options', args, 1);
  let pretty = false;
  let prefix = '';
  let indent = '\t';
  let sawIndentOrPrefix = false;
  for (const [k, x] of opts.entries()) {
    switch (k) {
      case 'pretty':
        if (typeof x !== 'boolean') throw new BuiltinTypeError(`json.marshal_with_options: pretty option must be a boolean but got ${typeName(x)}`);
        pretty = x;
        break;
      case 'prefix':
        if (typeof x !== 'string') throw new BuiltinTypeError(`json.marshal_with_options: prefix option must be a string but got ${typeName(x)}`);
        prefix = x;
        sawIndentOrPrefix = true;
        break;
      case 'indent':
        if (typeof x !== 'string') throw new BuiltinTypeError(`json.marshal_with_options: indent option must be a string but got ${typeName(x)}`);
        indent = x;
        sawIndentOrPrefix = true;
        break;
      default:
        throw new BuiltinTypeError(`json.marshal_with_options: object operand had unexpected key ${jsonText(k)}`);
    }
  }
  if (!opts.has('pretty') && sawIndentOrPrefix) pretty = true;
  if (!pretty) return goJsonEscape(jsonText(v));
  return prefix + jsonIndent(v, prefix, indent, 0);
}

// ---- YAML (OPA goes through sigs.k8s.io/yaml: YAML is read as JSON-compatible data)

/** libyaml's wording (what OPA reports) for the parse errors whose meaning is the same in both parsers. */
function goYamlMessage(e: Error & { code?: string; linePos?: { line: number }[] }): string {
  const first = e.message.split('\n')[0] ?? 'invalid YAML';
  const line = e.linePos?.[0]?.line ?? Number(/line (\d+)/.exec(first)?.[1] ?? 1);
  let msg = first.replace(/ at line \d+, column \d+:?$/, '');
  if (e.code === 'MISSING_CHAR' || e.code === 'BAD_INDENT') {
    if (/Flow sequence/.test(first)) msg = "did not find expected ',' or ']'";
    else if (/Flow map/.test(first)) msg = "did not find expected ',' or '}'";
  }
  return `yaml: line ${line}: ${msg}`;
}

function yamlUnmarshal(s: string): Value {
  let doc: unknown;
  try {
    doc = yamlParse(s, { intAsBigInt: true, uniqueKeys: false, version: '1.1', logLevel: 'error' });
  } catch (e) {
    throw builtinError('yaml.unmarshal', goYamlMessage(e as Error));
  }
  return fromJSON(yamlPlain(doc));
}

/** YAML-only scalars as sigs.k8s.io/yaml turns them into JSON: timestamps → RFC 3339 text, !!binary → base64. */
function yamlPlain(x: unknown): unknown {
  if (x === undefined) return null;
  if (x instanceof Date) return Number.isNaN(x.getTime()) ? null : x.toISOString().replace(/\.000Z$/, 'Z');
  if (x instanceof Uint8Array) return Buffer.from(x).toString('base64');
  if (typeof x === 'number' && !Number.isFinite(x)) throw builtinError('yaml.unmarshal', 'yaml: infinity and NaN are not JSON numbers');
  if (Array.isArray(x)) return x.map(yamlPlain);
  if (x instanceof Map) return new Map([...x].map(([k, v]) => [typeof k === 'string' ? k : String(k), yamlPlain(v)]));
  if (x instanceof Set) return [...x].map(yamlPlain);
  if (x && typeof x === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) o[k] = yamlPlain(v);
    return o;
  }
  return x;
}

function toPlain(v: Value): unknown {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'bigint') return v;
    return v;
  }
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof RegoSet) return v.values().map(toPlain);
  const o: Record<string, unknown> = {};
  for (const [k, x] of (v as RegoObject).entries()) o[typeof k === 'string' ? k : jsonText(k)] = toPlain(x);
  return o;
}

// ---- URL query (Go's net/url)

function queryEscape(s: string): string {
  let out = '';
  for (const b of stringToBytes(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function queryUnescape(name: string, s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '%') {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) throw builtinError(name, `invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`);
      bytes.push(parseInt(h, 16));
      i += 2;
    } else if (c === '+') bytes.push(0x20);
    else bytes.push(...stringToBytes(c));
  }
  return bytesToString(Uint8Array.from(bytes));
}

function encodeObject(args: Value[]): Value {
  const obj = asObject('urlquery.encode_object', args, 0);
  const parts: string[] = [];
  for (const [k, v] of obj.entries()) {
    if (typeof k !== 'string') throw typeError('urlquery.encode_object', 1, 'object[string: string|array|set]', obj);
    const vals = typeof v === 'string' ? [v] : Array.isArray(v) ? v : v instanceof RegoSet ? v.values() : undefined;
    if (!vals) throw new BuiltinTypeError(`urlquery.encode_object: operand 1 must be object[string: string|array|set] but got object containing ${typeName(v)}`);
    for (const x of vals) {
      if (typeof x !== 'string') throw new BuiltinTypeError(`urlquery.encode_object: operand 1 must be object[string: string|array|set] but got object containing ${typeName(x)}`);
      parts.push(queryEscape(k) + '=' + queryEscape(x));
    }
  }
  return parts.join('&');
}

function decodeObject(args: Value[]): Value {
  const s = asString('urlquery.decode_object', args, 0);
  const out = new Map<string, string[]>();
  for (const part of s.split('&')) {
    if (part === '') continue;
    if (part.includes(';')) throw builtinError('urlquery.decode_object', 'invalid semicolon separator in query');
    const eq = part.indexOf('=');
    const k = queryUnescape('urlquery.decode_object', eq < 0 ? part : part.slice(0, eq));
    const v = queryUnescape('urlquery.decode_object', eq < 0 ? '' : part.slice(eq + 1));
    const list = out.get(k) ?? [];
    list.push(v);
    out.set(k, list);
  }
  return new RegoObject([...out].map(([k, v]) => [k, v] as [Value, Value]));
}

export const ENCODING_BUILTINS: BuiltinDef[] = [
  def('base64.encode', ['string'], 'string', (args) => stringToBytes(asString('base64.encode', args, 0)).toString('base64')),
  def('base64.decode', ['string'], 'string', (args) => bytesToString(decodeBase64('base64.decode', asString('base64.decode', args, 0), false))),
  def('base64.is_valid', ['string'], 'boolean', (args) => {
    try {
      decodeBase64('base64.is_valid', asString('base64.is_valid', args, 0), false);
      return true;
    } catch {
      return false;
    }
  }),
  def('base64url.encode', ['string'], 'string', (args) => {
    const b = stringToBytes(asString('base64url.encode', args, 0)).toString('base64url');
    return b + '='.repeat((4 - (b.length % 4)) % 4);
  }),
  def('base64url.encode_no_pad', ['string'], 'string', (args) => stringToBytes(asString('base64url.encode_no_pad', args, 0)).toString('base64url')),
  def('base64url.decode', ['string'], 'string', (args) => {
    let s = asString('base64url.decode', args, 0);
    if (!s.endsWith('=')) {
      switch (s.length % 4) {
        case 0:
          break;
        case 2:
          s += '==';
          break;
        case 3:
          s += '=';
          break;
        default:
          throw builtinError('base64url.decode', `illegal base64url string: ${s}`);
      }
    }
    return bytesToString(decodeBase64('base64url.decode', s, true));
  }),
  def('hex.encode', ['string'], 'string', (args) => stringToBytes(asString('hex.encode', args, 0)).toString('hex')),
  def('hex.decode', ['string'], 'string', (args) => bytesToString(hexDecode(asString('hex.decode', args, 0)))),
  def('json.marshal', ['any'], 'string', (args) => goJsonEscape(jsonText(args[0]!))),
  def('json.marshal_with_options', ['any', 'object'], 'string', marshalWithOptions),
  def('json.unmarshal', ['string'], 'any', (args) => jsonUnmarshal('json.unmarshal', asString('json.unmarshal', args, 0))),
  def('json.is_valid', ['any'], 'boolean', (args) => {
    const s = args[0];
    if (typeof s !== 'string') return false;
    try {
      parseJson(s);
      return true;
    } catch {
      return false;
    }
  }),
  def('yaml.marshal', ['any'], 'string', (args) =>
    yamlStringify(toPlain(args[0]!), { sortMapEntries: true, indentSeq: false, lineWidth: 0, version: '1.1' }),
  ),
  def('yaml.unmarshal', ['string'], 'any', (args) => yamlUnmarshal(asString('yaml.unmarshal', args, 0))),
  def('yaml.is_valid', ['any'], 'boolean', (args) => {
    const s = args[0];
    if (typeof s !== 'string') return false;
    try {
      yamlUnmarshal(s);
      return true;
    } catch {
      return false;
    }
  }),
  def('urlquery.encode', ['string'], 'string', (args) => queryEscape(asString('urlquery.encode', args, 0))),
  def('urlquery.decode', ['string'], 'string', (args) => queryUnescape('urlquery.decode', asString('urlquery.decode', args, 0))),
  def('urlquery.encode_object', ['object'], 'string', encodeObject),
  def('urlquery.decode_object', ['string'], 'object', decodeObject),
];
