/**
 * Trustee's `LocalFs` layout (specs/trustee.md §6.4): one file per key, `<dir_path>/<namespace>/<key>` with every
 * "/" in the key written as the four literal characters `\x2F`, holding the raw value bytes. Existing Trustee data
 * directories keep working, and what we write without a TTL Trustee can read.
 *
 * A namespace containing "/" (Trustee uses none) becomes one directory with `\x2F`, like keys.
 *
 * Additions, all named with `+` (outside the key alphabet, so never mistaken for a key, and skipped by `list`):
 *  - `<name>+ttl`: a value stored with a TTL: 8-byte magic `KBTTL1\0\0`, 8-byte big-endian expiry (ms since epoch),
 *    then the value. When both `<name>` and `<name>+ttl` exist, `+ttl` wins (an expired `+ttl` means "absent").
 *    Every write orders its two steps (write the winner first, then remove the loser) so a crash between them leaves
 *    the old or the new value visible, never a mix.
 *  - `+tmp.<hex>`: temp files (write, fsync, rename over the target, fsync the directory) and take() tombstones.
 *
 * Within one process every operation on a key is serialized by a per-key lock; `take()` renames the file to a
 * unique tombstone before reading it, so two processes sharing a directory cannot both take the same value.
 */
import { mkdir, open, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StorageAlreadyExistsError, StorageInvalidKeyError, StorageUnavailableError, type KvStore, type StorageBackend } from './types.js';
import { ValidatedStore, answersInOrder, isValidKey, validateNamespace, type RawStore } from './validate.js';
import { TEMP_PREFIX, createFileExclusive, fsyncDir, replaceFile, tempName } from './atomic-file.js';
import { withLock } from './mutex.js';

export const DEFAULT_LOCAL_FS_DIR = '/opt/confidential-containers/storage/local_fs';

const SLASH = '\\x2F';
const TTL_SUFFIX = '+ttl';
const MAGIC = Buffer.from('KBTTL1\0\0', 'latin1');
const HEADER_LENGTH = 16;
const MAX_FILE_NAME = 255;
/** Temp files older than this at open() are leftovers of a crash. */
const STALE_TEMP_MS = 10 * 60_000;
/** File reads `getMany` keeps in flight at once. */
const GET_MANY_CONCURRENCY = 16;

export interface LocalFsOptions {
  /** Trustee's `dir_path`; one sub-directory per namespace. */
  dirPath: string;
  /** ms since epoch; decides TTL expiry. */
  clock?: () => number;
}

type State =
  | { kind: 'absent' }
  | { kind: 'expired' }
  | { kind: 'raw'; value: Uint8Array }
  | { kind: 'ttl'; value: Uint8Array; expiresAt: number };

function fileName(key: string): string {
  const name = key.split('/').join(SLASH);
  if (Buffer.byteLength(name) + TTL_SUFFIX.length > MAX_FILE_NAME)
    throw new StorageInvalidKeyError(`storage key too long for local-fs (file names are limited to ${MAX_FILE_NAME} bytes)`);
  return name;
}

function ttlHeader(expiresAt: number): Buffer {
  const h = Buffer.alloc(HEADER_LENGTH);
  MAGIC.copy(h, 0);
  h.writeBigUInt64BE(BigInt(expiresAt), 8);
  return h;
}

function parseExpiry(header: Uint8Array): number {
  const b = Buffer.from(header.buffer, header.byteOffset, header.byteLength);
  if (b.length < HEADER_LENGTH || !b.subarray(0, MAGIC.length).equals(MAGIC))
    throw new StorageUnavailableError('local-fs: corrupt TTL entry');
  return Number(b.readBigUInt64BE(8));
}

function isErrno(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}

async function readOrUndefined(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

async function unlinkIfPresent(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
}

/** Renames `from` to a fresh tombstone and reads it; undefined when someone else got there first. */
async function claim(dir: string, from: string): Promise<Buffer | undefined> {
  const tomb = join(dir, tempName());
  try {
    await rename(join(dir, from), tomb);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
  try {
    return await readFile(tomb);
  } finally {
    await unlinkIfPresent(tomb);
  }
}

function wrapFsError(op: string) {
  return (err: unknown): never => {
    if (err instanceof StorageAlreadyExistsError || err instanceof StorageInvalidKeyError || err instanceof StorageUnavailableError)
      throw err;
    const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'error';
    throw new StorageUnavailableError(`local-fs: ${op} failed (${code})`, { cause: err });
  };
}

class LocalFsStore implements RawStore {
  constructor(private readonly namespace: string, private readonly dir: string, private readonly clock: () => number) {}

  private lockName(name: string): string {
    return `local-fs:${this.dir}/${name}`;
  }

  private async state(name: string): Promise<State> {
    const ttl = await readOrUndefined(join(this.dir, name + TTL_SUFFIX));
    if (ttl) {
      const expiresAt = parseExpiry(ttl);
      if (expiresAt <= this.clock()) return { kind: 'expired' };
      return { kind: 'ttl', value: new Uint8Array(ttl.subarray(HEADER_LENGTH)), expiresAt };
    }
    const raw = await readOrUndefined(join(this.dir, name));
    return raw ? { kind: 'raw', value: new Uint8Array(raw) } : { kind: 'absent' };
  }

  /** Removes an expired entry: the loser first, so a crash never uncovers it. Caller holds the key lock. */
  private async purge(name: string): Promise<void> {
    await unlinkIfPresent(join(this.dir, name));
    await unlinkIfPresent(join(this.dir, name + TTL_SUFFIX));
  }

  /** `get` of one file name under its key lock; an expired entry is removed on the way. */
  private read(name: string): Promise<Uint8Array | undefined> {
    return withLock(this.lockName(name), async () => {
      const s = await this.state(name);
      if (s.kind === 'expired') await this.purge(name);
      return s.kind === 'raw' || s.kind === 'ttl' ? s.value : undefined;
    });
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const name = fileName(key);
    return this.read(name).catch(wrapFsError('get'));
  }

  async getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    // Every file name first: a key too long for the file system fails the call before any file is read.
    const names = new Map<string, string>();
    for (const key of keys) if (!names.has(key)) names.set(key, fileName(key));
    const pending = [...names];
    const found = new Map<string, Uint8Array>();
    // A few reads in flight at once, not one per key: a policy names ~40 ids, a sweep may name thousands.
    const worker = async (): Promise<void> => {
      try {
        for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
          const [key, name] = next;
          const v = await this.read(name);
          if (v !== undefined) found.set(key, v);
        }
      } catch (err) {
        pending.length = 0; // the call fails: the other workers stop after their current read
        throw err;
      }
    };
    await Promise.all(Array.from({ length: Math.min(GET_MANY_CONCURRENCY, pending.length) }, worker)).catch(wrapFsError('getMany'));
    return answersInOrder(keys, found);
  }

  async set(key: string, value: Uint8Array, overwrite: boolean, ttlMs: number | undefined): Promise<void> {
    const name = fileName(key);
    const [target, loser, chunks] =
      ttlMs === undefined
        ? [name, name + TTL_SUFFIX, [value]]
        : [name + TTL_SUFFIX, name, [ttlHeader(this.clock() + ttlMs), value]];
    return withLock(this.lockName(name), async () => {
      if (overwrite) {
        await replaceFile(this.dir, target, chunks);
        await unlinkIfPresent(join(this.dir, loser));
      } else {
        const s = await this.state(name);
        if (s.kind === 'raw' || s.kind === 'ttl') throw new StorageAlreadyExistsError(this.namespace, key);
        if (s.kind === 'expired') await this.purge(name);
        // link(2) refuses an existing target even if another process raced us since state().
        if (!(await createFileExclusive(this.dir, target, chunks))) throw new StorageAlreadyExistsError(this.namespace, key);
      }
      await fsyncDir(this.dir);
    }).catch(wrapFsError('set'));
  }

  async delete(key: string): Promise<boolean> {
    const name = fileName(key);
    return withLock(this.lockName(name), async () => {
      const s = await this.state(name);
      await this.purge(name);
      await fsyncDir(this.dir);
      return s.kind === 'raw' || s.kind === 'ttl';
    }).catch(wrapFsError('delete'));
  }

  async take(key: string): Promise<Uint8Array | undefined> {
    const name = fileName(key);
    return withLock(this.lockName(name), async () => {
      const s = await this.state(name);
      let taken: Uint8Array | undefined;
      if (s.kind === 'expired') {
        await this.purge(name);
      } else if (s.kind === 'ttl') {
        await unlinkIfPresent(join(this.dir, name)); // hidden loser goes first
        const content = await claim(this.dir, name + TTL_SUFFIX);
        if (content && parseExpiry(content) > this.clock()) taken = new Uint8Array(content.subarray(HEADER_LENGTH));
      } else if (s.kind === 'raw') {
        const content = await claim(this.dir, name);
        if (content) taken = new Uint8Array(content);
      }
      if (s.kind !== 'absent') await fsyncDir(this.dir);
      return taken;
    }).catch(wrapFsError('take'));
  }

  async list(): Promise<string[]> {
    try {
      const entries = await readdir(this.dir, { withFileTypes: true });
      const raw = new Set<string>();
      const ttl: string[] = [];
      for (const e of entries) {
        if (!e.isFile()) continue;
        if (e.name.endsWith(TTL_SUFFIX)) ttl.push(e.name.slice(0, -TTL_SUFFIX.length));
        else if (!e.name.includes('+')) raw.add(e.name);
      }
      const live = new Set<string>();
      for (const name of ttl) {
        raw.delete(name); // +ttl wins, live or not
        const expiresAt = await this.readExpiry(name);
        if (expiresAt === undefined) continue;
        if (expiresAt > this.clock()) live.add(name);
        else await withLock(this.lockName(name), async () => {
          if ((await this.state(name)).kind === 'expired') await this.purge(name);
        });
      }
      for (const name of raw) live.add(name);
      return [...live].map((n) => n.split(SLASH).join('/')).filter((k) => isValidKey(k));
    } catch (err) {
      return wrapFsError('list')(err);
    }
  }

  private async readExpiry(name: string): Promise<number | undefined> {
    let fh;
    try {
      fh = await open(join(this.dir, name + TTL_SUFFIX), 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
    try {
      const header = Buffer.alloc(HEADER_LENGTH);
      const { bytesRead } = await fh.read(header, 0, HEADER_LENGTH, 0);
      return parseExpiry(header.subarray(0, bytesRead));
    } finally {
      await fh.close();
    }
  }

  /** Deletes temp files a crash left behind (only old ones: a live writer in another process may own a new one). */
  async removeStaleTemps(): Promise<void> {
    for (const name of await readdir(this.dir)) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      const p = join(this.dir, name);
      try {
        if ((await stat(p)).mtimeMs < this.clock() - STALE_TEMP_MS) await unlinkIfPresent(p);
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
    }
  }
}

export class LocalFsBackend implements StorageBackend {
  readonly type = 'LocalFs';
  readonly dirPath: string;
  private readonly clock: () => number;
  private readonly stores = new Map<string, KvStore>();

  constructor(options: LocalFsOptions) {
    this.dirPath = resolve(options.dirPath);
    this.clock = options.clock ?? Date.now;
  }

  async open(namespace: string): Promise<KvStore> {
    validateNamespace(namespace);
    const cached = this.stores.get(namespace);
    if (cached) return cached;
    // A "/" in a namespace is escaped like one in a key: namespace directories stay siblings, so namespace
    // "a/b" can never collide with key "b" of namespace "a" (Trustee's own namespaces have no "/").
    const dir = join(this.dirPath, namespace.split('/').join(SLASH));
    const raw = new LocalFsStore(namespace, dir, this.clock);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await raw.removeStaleTemps();
    } catch (err) {
      wrapFsError('open')(err);
    }
    const store = this.stores.get(namespace) ?? new ValidatedStore(namespace, raw);
    this.stores.set(namespace, store);
    return store;
  }

  async ping(): Promise<void> {
    try {
      await mkdir(this.dirPath, { recursive: true, mode: 0o700 });
      await fsyncDir(this.dirPath);
    } catch (err) {
      wrapFsError('ping')(err);
    }
  }

  async close(): Promise<void> {}
}
