/**
 * Trustee's `LocalJson` layout (specs/trustee.md §6.4): one JSON file per namespace, `<file_dir_path>/<namespace>`
 * (no extension), holding `{ "<key>": "<base64url of value, padded as Rust's URL_SAFE engine writes it>" }`.
 * Unpadded values are read too. A namespace containing "/" (Trustee uses none) is one file with `\x2F` for each "/".
 *
 * TTLs: when a namespace holds values with a TTL, the file gains one more member, `"@expires"` (not a valid key),
 * whose value is a JSON string `{"<key>": <expiry ms since epoch>}`. It is a string so that Trustee, which reads the
 * file as a string→string map, still loads it.
 *
 * Every operation reads the file; every change rewrites it whole (temp file, fsync, rename, fsync directory) under a
 * per-file lock, so writes within one process are serialized and a crash leaves the old or the new file. Several
 * processes may read one directory, but only one should write it.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { StorageAlreadyExistsError, StorageInvalidKeyError, StorageUnavailableError, type KvStore, type StorageBackend } from './types.js';
import { ValidatedStore, answersInOrder, validateNamespace, type RawStore } from './validate.js';
import { fsyncDir, replaceFile } from './atomic-file.js';
import { withLock } from './mutex.js';

export const DEFAULT_LOCAL_JSON_DIR = '/opt/confidential-containers/storage/local_json';
const EXPIRES_MEMBER = '@expires';
const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

export interface LocalJsonOptions {
  /** Trustee's `file_dir_path`; one file per namespace. */
  fileDirPath: string;
  clock?: () => number;
}

interface Contents {
  values: Map<string, Uint8Array>;
  expires: Map<string, number>;
}

export function encodeB64UrlPadded(value: Uint8Array): string {
  const s = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64url');
  return s + '='.repeat((4 - (s.length % 4)) % 4);
}

function corrupt(why: string): StorageUnavailableError {
  return new StorageUnavailableError(`local-json: corrupt namespace file (${why})`);
}

function decodeB64Url(s: string): Uint8Array {
  if (!B64URL.test(s) || s.replace(/=+$/, '').length % 4 === 1) throw corrupt('value is not base64url');
  return new Uint8Array(Buffer.from(s, 'base64url'));
}

export function parseContents(text: string): Contents {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw corrupt('not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw corrupt('not a JSON object');
  const values = new Map<string, Uint8Array>();
  const expires = new Map<string, number>();
  for (const [k, v] of Object.entries(doc)) {
    if (typeof v !== 'string') throw corrupt('member is not a string');
    if (k === EXPIRES_MEMBER) {
      let e: unknown;
      try {
        e = JSON.parse(v);
      } catch {
        throw corrupt('@expires is not JSON');
      }
      if (typeof e !== 'object' || e === null || Array.isArray(e)) throw corrupt('@expires is not an object');
      for (const [ek, ev] of Object.entries(e)) {
        if (typeof ev !== 'number' || !Number.isFinite(ev)) throw corrupt('@expires entry is not a number');
        expires.set(ek, ev);
      }
    } else {
      values.set(k, decodeB64Url(v));
    }
  }
  return { values, expires };
}

export function serializeContents(c: Contents): string {
  const doc: Record<string, string> = Object.create(null); // a stored "__proto__" stays a member
  const keys = [...c.values.keys()].sort();
  for (const k of keys) doc[k] = encodeB64UrlPadded(c.values.get(k)!);
  const exp: Record<string, number> = Object.create(null);
  let any = false;
  for (const k of keys) {
    const e = c.expires.get(k);
    if (e !== undefined) (exp[k] = e), (any = true);
  }
  if (any) doc[EXPIRES_MEMBER] = JSON.stringify(exp);
  return JSON.stringify(doc);
}

function wrap(op: string) {
  return (err: unknown): never => {
    if (err instanceof StorageAlreadyExistsError || err instanceof StorageInvalidKeyError || err instanceof StorageUnavailableError)
      throw err;
    const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'error';
    throw new StorageUnavailableError(`local-json: ${op} failed (${code})`, { cause: err });
  };
}

class LocalJsonStore implements RawStore {
  private readonly dir: string;
  private readonly name: string;
  constructor(private readonly namespace: string, private readonly file: string, private readonly clock: () => number) {
    this.dir = dirname(file);
    this.name = basename(file);
  }

  private async load(): Promise<Contents> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { values: new Map(), expires: new Map() };
      throw err;
    }
    const c = parseContents(text);
    const now = this.clock();
    for (const [k, e] of c.expires) {
      if (e <= now) c.values.delete(k);
      if (!c.values.has(k)) c.expires.delete(k);
    }
    return c;
  }

  private async save(c: Contents): Promise<void> {
    await replaceFile(this.dir, this.name, [Buffer.from(serializeContents(c), 'utf8')]);
    await fsyncDir(this.dir);
  }

  private locked<T>(op: string, fn: () => Promise<T>): Promise<T> {
    return withLock(`local-json:${this.file}`, fn).catch(wrap(op));
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return this.locked('get', async () => (await this.load()).values.get(key));
  }

  /** One read of the file for the whole batch (so the answers are one snapshot). */
  getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    return this.locked('getMany', async () => answersInOrder(keys, (await this.load()).values));
  }

  set(key: string, value: Uint8Array, overwrite: boolean, ttlMs: number | undefined): Promise<void> {
    return this.locked('set', async () => {
      const c = await this.load();
      if (!overwrite && c.values.has(key)) throw new StorageAlreadyExistsError(this.namespace, key);
      c.values.set(key, new Uint8Array(value));
      if (ttlMs === undefined) c.expires.delete(key);
      else c.expires.set(key, this.clock() + ttlMs);
      await this.save(c);
    });
  }

  delete(key: string): Promise<boolean> {
    return this.locked('delete', async () => {
      const c = await this.load();
      if (!c.values.delete(key)) return false;
      c.expires.delete(key);
      await this.save(c);
      return true;
    });
  }

  take(key: string): Promise<Uint8Array | undefined> {
    return this.locked('take', async () => {
      const c = await this.load();
      const v = c.values.get(key);
      if (v === undefined) return undefined;
      c.values.delete(key);
      c.expires.delete(key);
      await this.save(c);
      return v;
    });
  }

  list(): Promise<string[]> {
    return this.locked('list', async () => [...(await this.load()).values.keys()]);
  }
}

export class LocalJsonBackend implements StorageBackend {
  readonly type = 'LocalJson';
  readonly fileDirPath: string;
  private readonly clock: () => number;
  private readonly stores = new Map<string, KvStore>();

  constructor(options: LocalJsonOptions) {
    this.fileDirPath = resolve(options.fileDirPath);
    this.clock = options.clock ?? Date.now;
  }

  async open(namespace: string): Promise<KvStore> {
    validateNamespace(namespace);
    const cached = this.stores.get(namespace);
    if (cached) return cached;
    // "/" in a namespace is written `\x2F` (as local-fs keys): namespace "a/b" must not need "a" to be a directory.
    const file = join(this.fileDirPath, namespace.split('/').join('\\x2F'));
    try {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    } catch (err) {
      wrap('open')(err);
    }
    const store = this.stores.get(namespace) ?? new ValidatedStore(namespace, new LocalJsonStore(namespace, file, this.clock));
    this.stores.set(namespace, store);
    return store;
  }

  async ping(): Promise<void> {
    try {
      await mkdir(this.fileDirPath, { recursive: true, mode: 0o700 });
    } catch (err) {
      wrap('ping')(err);
    }
  }

  async close(): Promise<void> {}
}
