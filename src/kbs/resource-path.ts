/**
 * Request paths under `/kbs/v0/`, decoded once from the raw URL. Resource paths are exactly three segments
 * `[A-Za-z0-9_-]+[A-Za-z0-9_.-]*` (Trustee's ResourceDesc), so `..`, leading dots, empty segments, NUL and any
 * percent-encoding (e.g. `%2e%2e`, `%2f`) are rejected before anything reaches storage or the file system.
 */
import { InvalidRequestPath, PluginInternalError } from './errors.js';

export const KBS_PREFIX = '/kbs/v0/';
const SEGMENT = /^[A-Za-z0-9_-]+[A-Za-z0-9_.-]*$/;

export interface KbsRequestPath {
  /** First segment: built-in endpoint or plugin name. */
  head: string;
  /** Remaining segments, raw (not percent-decoded). */
  rest: string[];
  /** Path and query exactly as sent (matched by admin ACLs). */
  uri: string;
  query: Record<string, string>;
}

export function splitKbsUrl(rawUrl: string): KbsRequestPath {
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  if (!path.startsWith(KBS_PREFIX)) throw new InvalidRequestPath('path is not under /kbs/v0/');
  const segments = path.slice(KBS_PREFIX.length).split('/');
  const head = segments[0] ?? '';
  if (head === '') throw new InvalidRequestPath('empty request path');
  const query: Record<string, string> = {};
  if (q >= 0) {
    for (const [k, v] of new URLSearchParams(rawUrl.slice(q + 1))) query[k] = v;
  }
  return { head, rest: segments.slice(1), uri: rawUrl, query };
}

export interface ResourceDesc {
  repository: string;
  type: string;
  tag: string;
}

export function parseResourcePath(segments: string[]): ResourceDesc {
  if (segments.length !== 3 || !segments.every((s) => SEGMENT.test(s)))
    throw new PluginInternalError('invalid resource path: expected <repository>/<type>/<tag> of [A-Za-z0-9_.-] without leading dots');
  const [repository, type, tag] = segments as [string, string, string];
  return { repository, type, tag };
}

export function resourceKey(d: ResourceDesc): string {
  return `${d.repository}/${d.type}/${d.tag}`;
}
