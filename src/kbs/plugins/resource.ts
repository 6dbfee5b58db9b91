/**
 * The `resource` plugin (specs/trustee.md §6.5): GET (attestation, encrypted) / POST / DELETE (admin) on
 * `<repo>/<type>/<tag>`, from the KV store (namespace `repository`, key `repo/type/tag`) or from a read-only
 * directory tree `<dir>/<repo>/<type>/<tag>` (Kubernetes secret mounts).
 */
import { readFile, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { KvStore } from '../../storage/types.js';
import { PluginInternalError } from '../errors.js';
import { parseResourcePath, resourceKey, type ResourceDesc } from '../resource-path.js';
import type { KbsPlugin, PluginRequest } from './types.js';

export const RESOURCE_NAMESPACE = 'repository';

export interface ResourceSource {
  read(d: ResourceDesc): Promise<Uint8Array | undefined>;
  write(d: ResourceDesc, value: Uint8Array): Promise<void>;
  delete(d: ResourceDesc): Promise<boolean>;
}

export class KvResourceSource implements ResourceSource {
  constructor(private readonly kv: KvStore) {}
  read(d: ResourceDesc): Promise<Uint8Array | undefined> {
    return this.kv.get(resourceKey(d));
  }
  write(d: ResourceDesc, value: Uint8Array): Promise<void> {
    return this.kv.set(resourceKey(d), value);
  }
  delete(d: ResourceDesc): Promise<boolean> {
    return this.kv.delete(resourceKey(d));
  }
}

export class DirectoryResourceSource implements ResourceSource {
  constructor(private readonly dir: string) {}
  async read(d: ResourceDesc): Promise<Uint8Array | undefined> {
    const file = join(this.dir, d.repository, d.type, d.tag);
    try {
      // Secret mounts are symlink farms (..data/…); follow them, but never out of the directory.
      const [root, real] = await Promise.all([realpath(this.dir), realpath(file)]);
      if (!real.startsWith(root + sep)) return undefined;
      return await readFile(real);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
      throw new PluginInternalError('resource directory is not readable');
    }
  }
  async write(): Promise<void> {
    throw new PluginInternalError('the resource directory backend is read-only');
  }
  async delete(): Promise<boolean> {
    throw new PluginInternalError('the resource directory backend is read-only');
  }
}

export interface ResourceEvents {
  read?(path: string): void;
  write?(path: string): void;
  delete?(path: string): void;
}

export class ResourcePlugin implements KbsPlugin {
  readonly name = 'resource';
  constructor(private readonly source: ResourceSource, private readonly events: ResourceEvents = {}) {}
  requiresAdmin(req: PluginRequest): boolean {
    return req.method !== 'GET';
  }
  encrypted(req: PluginRequest): boolean {
    return req.method === 'GET';
  }
  async handle(req: PluginRequest): Promise<Uint8Array> {
    const d = parseResourcePath(req.path);
    const key = resourceKey(d);
    switch (req.method) {
      case 'GET': {
        const v = await this.source.read(d);
        if (v === undefined) throw new PluginInternalError('resource not found');
        this.events.read?.(key);
        return v;
      }
      case 'POST':
        await this.source.write(d, req.body);
        this.events.write?.(key);
        return new Uint8Array();
      case 'DELETE':
        if (!(await this.source.delete(d))) throw new PluginInternalError('resource not found');
        this.events.delete?.(key);
        return new Uint8Array();
      default:
        throw new PluginInternalError(`method ${req.method} is not supported by the resource plugin`);
    }
  }
}
