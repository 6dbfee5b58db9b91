/**
 * Helpers for the deployment tests: read the Kubernetes manifests as typed objects (multi-document YAML), look
 * objects up by kind/name, and read the Dockerfile's instructions.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../support/testdata.js';

export const DEPLOY_DIR = join(repoRoot, 'deploy');
export const K8S_DIR = join(DEPLOY_DIR, 'kubernetes');
export const CHART_DIR = join(DEPLOY_DIR, 'helm', 'keybroker');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  /** File it came from, relative to the repository root. */
  file: string;
  [k: string]: unknown;
}

export function listFiles(dir: string, suffixes: readonly string[]): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p, suffixes));
    else if (suffixes.some((s) => e.name.endsWith(s))) out.push(p);
  }
  return out.sort();
}

/** Every document of every YAML file under `dir`; a YAML syntax error or a document without kind/name throws. */
export function loadManifests(dir: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const path of listFiles(dir, ['.yaml', '.yml'])) {
    const file = relative(repoRoot, path);
    for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) continue; // empty document (e.g. a trailing ---)
      if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${file}: a document is not a mapping`);
      const o = value as Record<string, unknown>;
      const meta = o.metadata as { name?: unknown } | undefined;
      if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string')
        throw new Error(`${file}: document without apiVersion/kind`);
      if (o.kind !== 'Kustomization' && typeof meta?.name !== 'string') throw new Error(`${file}: ${o.kind} without metadata.name`);
      objects.push({ ...o, apiVersion: o.apiVersion, kind: o.kind, metadata: (meta ?? { name: '' }) as K8sObject['metadata'], file });
    }
  }
  return objects;
}

export function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} named ${name}`);
  return o;
}

/** A nested property, typed by the caller's expectation (tests assert on the result). */
export function at<T = unknown>(o: unknown, ...path: (string | number)[]): T {
  let cur: unknown = o;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') throw new Error(`missing ${path.join('.')}`);
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur as T;
}

export interface DockerInstruction {
  op: string;
  args: string;
}

/** Dockerfile instructions with line continuations joined and comments dropped. */
export function dockerInstructions(text: string): DockerInstruction[] {
  const joined = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((l) => {
      const m = /^(\S+)\s*(.*)$/.exec(l)!;
      return { op: m[1]!.toUpperCase(), args: m[2]! };
    });
}
