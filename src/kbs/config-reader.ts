/**
 * A strict reader over one config table: every key must be read exactly once, unknown keys are reported with their
 * dotted path, and each accessor checks the type. Parse-don't-validate for config files.
 */
import { ConfigError } from '../util/config-error.js';

export type RawTable = Record<string, unknown>;

export function isTable(v: unknown): v is RawTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

export class TableReader {
  private readonly seen = new Set<string>();
  constructor(readonly raw: RawTable, readonly path: string) {}

  key(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }
  has(name: string): boolean {
    return this.raw[name] !== undefined;
  }
  /** Marks a key as consumed and returns the raw value (undefined when absent). */
  take(name: string): unknown {
    this.seen.add(name);
    return this.raw[name];
  }
  string(name: string): string | undefined {
    const v = this.take(name);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new ConfigError(this.key(name), `expected a string, got ${describe(v)}`);
    return v;
  }
  requiredString(name: string): string {
    const v = this.string(name);
    if (v === undefined) throw new ConfigError(this.key(name), 'required');
    return v;
  }
  bool(name: string): boolean | undefined {
    const v = this.take(name);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') throw new ConfigError(this.key(name), `expected a boolean, got ${describe(v)}`);
    return v;
  }
  /** Integers within [min, max]. TOML integers may arrive as bigint. */
  int(name: string, min: number, max: number): number | undefined {
    let v = this.take(name);
    if (v === undefined) return undefined;
    if (typeof v === 'bigint') v = Number(v);
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new ConfigError(this.key(name), `expected an integer, got ${describe(v)}`);
    if (v < min || v > max) throw new ConfigError(this.key(name), `must be between ${min} and ${max}`);
    return v;
  }
  stringArray(name: string): string[] | undefined {
    const v = this.take(name);
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
      throw new ConfigError(this.key(name), 'expected an array of strings');
    return v as string[];
  }
  table(name: string): TableReader | undefined {
    const v = this.take(name);
    if (v === undefined) return undefined;
    if (!isTable(v)) throw new ConfigError(this.key(name), `expected a table, got ${describe(v)}`);
    return new TableReader(v, this.key(name));
  }
  tableArray(name: string): TableReader[] | undefined {
    const v = this.take(name);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) throw new ConfigError(this.key(name), 'expected an array of tables');
    return v.map((t, i) => {
      if (!isTable(t)) throw new ConfigError(`${this.key(name)}[${i}]`, 'expected a table');
      return new TableReader(t, `${this.key(name)}[${i}]`);
    });
  }
  /** Throws for the first key nobody read. Call after all accessors. */
  done(): void {
    for (const k of Object.keys(this.raw)) {
      if (this.raw[k] !== undefined && !this.seen.has(k)) throw new ConfigError(this.key(k), 'unknown key');
    }
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}
