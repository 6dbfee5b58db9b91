/**
 * providers.aws.sign_req: AWS Signature Version 4 over an http.send-style request object, as OPA computes it
 * (internal/providers/aws SignV4). Deterministic: the signing time is an operand. Keybroker has no http.send, so this
 * exists for policy compatibility only.
 */
import { createHash, createHmac } from 'node:crypto';
import { def, typeError, BuiltinTypeError, RegoObject, RegoSet, isNumber } from './util.js';
import type { BuiltinDef, Value } from './util.js';
import { termString } from './format.js';
import { jsonText } from '../value.js';
import { stringToBytes } from './bytes.js';
import { goJsonEscape } from './encoding.js';

const NAME = 'providers.aws.sign_req';
const REQUIRED_CONFIG = ['aws_access_key', 'aws_region', 'aws_secret_access_key', 'aws_service'];
/** The request keys http.send accepts (OPA validates sign_req's request against the same list). */
const HTTP_KEYS = new Set([
  'method', 'url', 'body', 'enable_redirect', 'force_json_decode', 'force_yaml_decode', 'headers', 'raw_body',
  'tls_use_system_certs', 'tls_ca_cert', 'tls_ca_cert_file', 'tls_ca_cert_env_variable', 'tls_client_cert',
  'tls_client_cert_file', 'tls_client_cert_env_variable', 'tls_client_key', 'tls_client_key_file',
  'tls_client_key_env_variable', 'tls_insecure_skip_verify', 'tls_server_name', 'timeout', 'cache', 'force_cache',
  'force_cache_duration_seconds', 'raise_error', 'caching_mode', 'max_retry_attempts', 'cache_ignored_headers',
]);
const IGNORED_HEADERS = new Set(['authorization', 'user-agent', 'x-amzn-trace-id']);

function operandErr(pos: number, msg: string): BuiltinTypeError {
  return new BuiltinTypeError(`${NAME}: operand ${pos} ${msg}`);
}

function setText(keys: string[]): string {
  return termString(new RegoSet(keys));
}

function str(o: RegoObject, k: string): string {
  const v = o.getStr(k);
  return typeof v === 'string' ? v : '';
}

/** Host, escaped path and raw query of a URL, as Go's net/url keeps them (no normalisation of an empty path). */
function splitUrl(u: string): { host: string; path: string; query: string } {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?/.exec(u);
  if (!m) return { host: '', path: u.replace(/[?#].*$/, ''), query: /\?([^#]*)/.exec(u)?.[1] ?? '' };
  const host = m[1]!.replace(/^[^@]*@/, '');
  return { host, path: m[2]!, query: m[3] ?? '' };
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function twoDigits(n: number): string {
  return String(n).padStart(2, '0');
}

function signReq(args: Value[]): Value {
  const req = args[0]!;
  if (!(req instanceof RegoObject)) throw typeError(NAME, 1, 'object', req);
  const cfg = args[1]!;
  if (!(cfg instanceof RegoObject)) throw typeError(NAME, 1, 'object', cfg);
  const missingCfg = REQUIRED_CONFIG.filter((k) => !cfg.has(k));
  if (missingCfg.length) throw operandErr(2, `missing required AWS config parameters(s): ${setText(missingCfg)}`);
  const invalidCfg = REQUIRED_CONFIG.filter((k) => typeof cfg.getStr(k) !== 'string');
  if (invalidCfg.length) throw operandErr(2, `invalid values for required AWS config parameters(s): ${setText(invalidCfg)}`);
  const ts = args[2]!;
  if (!isNumber(ts)) throw typeError(NAME, 3, 'number', ts);
  if (typeof ts === 'number' && !Number.isInteger(ts)) throw operandErr(3, 'could not convert time_ns value into a unix timestamp');
  const ns = BigInt(ts);
  if (ns < -(2n ** 63n) || ns >= 2n ** 63n) throw operandErr(3, 'could not convert time_ns value into a unix timestamp');

  const keys = req.keys().filter((k): k is string => typeof k === 'string');
  const missingReq = ['method', 'url'].filter((k) => !req.has(k));
  if (missingReq.length) throw operandErr(1, `missing required request parameters(s): ${setText(missingReq)}`);
  const unknown = keys.filter((k) => !HTTP_KEYS.has(k));
  if (unknown.length) throw operandErr(1, `invalid request parameters(s): ${setText(unknown)}`);
  const headersV = req.getStr('headers') ?? RegoObject.EMPTY;
  if (!(headersV instanceof RegoObject)) throw typeError(NAME, 0, 'object', headersV);
  const invalidReq = ['method', 'url'].filter((k) => typeof req.getStr(k) !== 'string');
  if (invalidReq.length) throw operandErr(1, `invalid values for required request parameters(s): ${setText(invalidReq)}`);

  let disablePayloadSigning = false;
  const dps = cfg.getStr('disable_payload_signing');
  if (dps !== undefined) {
    if (typeof dps !== 'boolean') throw operandErr(2, "invalid value for 'disable_payload_signing' in AWS config");
    disablePayloadSigning = dps;
  }

  const rawBody = req.getStr('raw_body');
  const body = req.getStr('body');
  const bodyBytes = rawBody !== undefined ? stringToBytes(typeof rawBody === 'string' ? rawBody : '') : body !== undefined ? stringToBytes(goJsonEscape(jsonText(body))) : Buffer.alloc(0);
  const bodyHash = disablePayloadSigning ? 'UNSIGNED-PAYLOAD' : createHash('sha256').update(bodyBytes).digest('hex');

  const d = new Date(Number(ns / 1_000_000n));
  const dateNow = `${d.getUTCFullYear()}${twoDigits(d.getUTCMonth() + 1)}${twoDigits(d.getUTCDate())}`;
  const isoNow = `${dateNow}T${twoDigits(d.getUTCHours())}${twoDigits(d.getUTCMinutes())}${twoDigits(d.getUTCSeconds())}Z`;
  const service = str(cfg, 'aws_service');
  const region = str(cfg, 'aws_region');
  const session = str(cfg, 'aws_session_token');
  const url = splitUrl(str(req, 'url'));

  const awsHeaders = new Map<string, string>([
    ['host', url.host],
    ['x-amz-date', isoNow],
  ]);
  if (service === 's3' || service === 'glacier') awsHeaders.set('x-amz-content-sha256', bodyHash);
  if (session !== '') awsHeaders.set('x-amz-security-token', session);

  const original = new Map<string, string>();
  for (const [k, v] of headersV.entries()) original.set(typeof k === 'string' ? k : '', typeof v === 'string' ? v : '');
  const toSign = new Map(awsHeaders);
  for (const [k, v] of original) if (!IGNORED_HEADERS.has(k.toLowerCase())) toSign.set(k.toLowerCase(), v);
  const ordered = [...toSign.keys()].sort();
  const signedHeaders = ordered.join(';');
  const canonical =
    `${str(req, 'method')}\n${url.path}\n${url.query}\n` + ordered.map((k) => `${k}:${toSign.get(k)}\n`).join('') + `\n${signedHeaders}\n${bodyHash}`;
  const scope = `${dateNow}/${region}/${service}/aws4_request`;
  const toSignText = `AWS4-HMAC-SHA256\n${isoNow}\n${scope}\n${createHash('sha256').update(canonical, 'utf8').digest('hex')}`;
  let key = hmac(`AWS4${str(cfg, 'aws_secret_access_key')}`, dateNow);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, 'aws4_request');
  const signature = hmac(key, toSignText).toString('hex');
  const auth = `AWS4-HMAC-SHA256 Credential=${str(cfg, 'aws_access_key')}/${scope},SignedHeaders=${signedHeaders},Signature=${signature}`;

  const headersOut: [Value, Value][] = [...original].map(([k, v]) => [k, v]);
  headersOut.push(['Authorization', auth]);
  for (const [k, v] of awsHeaders) headersOut.push([k, v]);
  return new RegoObject([...req.entries(), ['headers', new RegoObject(headersOut)]]);
}

export const PROVIDER_BUILTINS: BuiltinDef[] = [def('providers.aws.sign_req', ['object', 'object', 'number'], 'object', signReq)];
