import type { Logger } from 'pino';
import { isReverseName, keyToName, nameRecords, parentName, parseSkyDnsValue, SkyDnsValueError, type KeyedService } from '../../records/skydns.js';
import type { Change, OwnerSet, RecordStore } from '../../zone/store.js';

/** Where the etcd source delivers keys: each call is one atomic batch. */
export interface KvSink {
  /** Everything under the prefix, replacing what was delivered before (first read, re-read after compaction). */
  reset(kvs: Iterable<readonly [string, Uint8Array | string]>): void;
  apply(puts: readonly (readonly [string, Uint8Array | string])[], deletes: readonly string[]): void;
  /** Keys held now. */
  readonly size: number;
}

export interface SkyDnsStateOptions {
  readonly prefix: string;
  /** The zones served: the cluster domain and the reverse zones; keys for other names are held but not served. */
  readonly zoneOf: (name: string) => string | null;
  readonly defaultTtl: number;
  readonly logger: Logger;
}

const OWNER = 'etcd:';

/**
 * SkyDNS keys, turned into record-store owners, one per name (`etcd:<name>`): a name's records
 * come from its own key and the keys one label below it, and SRV weights and groups are
 * properties of the whole set, so the set is rebuilt from its keys whenever one changes.
 * A value that does not parse is logged with its key and counted; the key keeps its last good
 * value (or none), and everything else is served.
 */
export class SkyDnsState implements KvSink {
  private keys = new Map<string, KeyedService>();
  /** Name -> keys contributing to it (a few each: arrays cost less than sets at 500,000 names). */
  private contributors = new Map<string, string[]>();
  badValues = 0;
  /** The last bad value's error, '' when none. */
  lastBadValue = '';

  constructor(
    private readonly store: RecordStore,
    private readonly opts: SkyDnsStateOptions,
  ) {}

  get size(): number {
    return this.keys.size;
  }

  reset(kvs: Iterable<readonly [string, Uint8Array | string]>): void {
    const old = this.keys;
    this.keys = new Map();
    this.contributors = new Map();
    for (const [key, value] of kvs) {
      const k = this.parse(key, value) ?? old.get(key);
      if (k) this.link(k);
    }
    const next = new Map<string, OwnerSet>();
    for (const name of this.contributors.keys()) next.set(OWNER + name, this.build(name));
    this.store.replacePrefix(OWNER, next);
  }

  apply(puts: readonly (readonly [string, Uint8Array | string])[], deletes: readonly string[]): void {
    const dirty = new Set<string>();
    for (const key of deletes) this.unlink(key, dirty);
    for (const [key, value] of puts) {
      const k = this.parse(key, value);
      if (!k) continue;
      this.unlink(key, dirty);
      this.link(k, dirty);
    }
    const changes: Change[] = [];
    for (const name of dirty) changes.push({ owner: OWNER + name, set: this.contributors.has(name) ? this.build(name) : null });
    this.store.apply(changes);
  }

  /** The names a key's records are served at. */
  private namesOf(name: string): string[] {
    // Reverse names are exact; a wildcard answers for names below its parent, not for the parent.
    if (isReverseName(name) || name.startsWith('*.')) return [name];
    const parent = parentName(name);
    return parent !== null && this.opts.zoneOf(parent) !== null ? [name, parent] : [name];
  }

  private parse(key: string, value: Uint8Array | string): KeyedService | null {
    const name = keyToName(this.opts.prefix, key);
    if (name === null) {
      this.bad(new SkyDnsValueError(key, 'the key is not a domain name under the prefix (labels of letters, digits, "-", "_" or "*", 63 at most)'));
      return null;
    }
    // Names outside the zones served are other servers' data: held by etcd, not by us.
    if (this.opts.zoneOf(name) === null) return null;
    const service = parseSkyDnsValue(key, value);
    if (service instanceof SkyDnsValueError) {
      this.bad(service);
      return null;
    }
    return { key, name, service };
  }

  private bad(e: SkyDnsValueError): void {
    this.badValues++;
    this.lastBadValue = e.message;
    this.opts.logger.warn({ key: e.key, err: e.reason, code: e.code }, `${e.message}; the key keeps its last good value`);
  }

  private link(k: KeyedService, dirty?: Set<string>): void {
    this.keys.set(k.key, k);
    for (const n of this.namesOf(k.name)) {
      const list = this.contributors.get(n);
      if (!list) this.contributors.set(n, [k.key]);
      else if (!list.includes(k.key)) list.push(k.key);
      dirty?.add(n);
    }
  }

  private unlink(key: string, dirty: Set<string>): void {
    const k = this.keys.get(key);
    if (!k) return;
    this.keys.delete(key);
    for (const n of this.namesOf(k.name)) {
      const list = this.contributors.get(n);
      const i = list ? list.indexOf(key) : -1;
      if (list && i >= 0) list.splice(i, 1);
      if (list && list.length === 0) this.contributors.delete(n);
      dirty.add(n);
    }
  }

  private build(name: string): OwnerSet {
    const keys = (this.contributors.get(name) ?? []).map((k) => this.keys.get(k)!);
    return nameRecords(name, keys, this.opts.defaultTtl);
  }
}
