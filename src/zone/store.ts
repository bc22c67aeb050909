import type { RR } from '../dns/rr.js';

/**
 * The record store: every name the server is authoritative for, with its records,
 * keyed by the object that owns them ("svc/<ns>/<name>", "pod/<ns>/<name>", "zone/<domain>").
 *
 * A batch of changes is applied synchronously, within one turn of the event loop, so a
 * query (which is handled in a turn of its own) sees all of a batch or none of it. An
 * owner's new set replaces exactly its old set; nothing else moves.
 */

/** What one owner contributes: records, plus names that exist without records (a namespace). */
export interface OwnerSet {
  readonly records: readonly RR[];
  readonly names: readonly string[];
}

export interface Change {
  readonly owner: string;
  /** The owner's complete new set, or null to remove it. */
  readonly set: OwnerSet | null;
}

const NO_RECORDS: readonly RR[] = Object.freeze([]);

/**
 * Names whose records are computed when asked rather than held as records here (the cluster's
 * Services and Pods: see ClusterRecords). Its owner changes it and then calls `bump`, in one turn.
 */
export interface NameView {
  node(name: string): NameNode | undefined;
  /** True when the name has records or descendants that do. */
  exists(name: string): boolean;
  readonly nameCount: number;
}

/**
 * One name of the zone. Most names of a large cluster hold exactly one record (an endpoint's A,
 * a PTR, a pod's A), so a lone record is held as itself rather than in an array of one: 56 bytes
 * less for each of a few hundred thousand names.
 */
export class NameNode {
  /** The name's records: none, one, or an array that is replaced, never mutated, once published. */
  private held: RR | readonly RR[] | undefined = undefined;
  /** How many contributions (records and existence markers) keep this node alive. */
  refs = 0;

  /** A node made for one answer, outside the store (a view's name, a wildcard's expansion). */
  static of(rrs: readonly RR[]): NameNode {
    const n = new NameNode();
    n.rrs = rrs;
    n.refs = 1;
    return n;
  }

  /** Every record at this name, of all types, in the order their owners added them. */
  get rrs(): readonly RR[] {
    const h = this.held;
    return h === undefined ? NO_RECORDS : isList(h) ? h : [h];
  }

  set rrs(list: readonly RR[]) {
    this.held = list.length === 0 ? undefined : list.length === 1 ? list[0] : list;
  }
}

function isList(h: RR | readonly RR[]): h is readonly RR[] {
  return Array.isArray(h);
}

export class RecordStore {
  private readonly nodes = new Map<string, NameNode>();
  /** Names that have descendants: empty non-terminals answer NODATA, not NXDOMAIN (RFC 8020). */
  private readonly parents = new Map<string, number>();
  private readonly owners = new Map<string, OwnerSet>();
  private readonly views: NameView[] = [];
  /** Increases with every applied batch; caches of answers key on it. */
  generation = 0;
  /** Epoch seconds of the last applied batch (the SOA serial). */
  lastChange = Math.floor(Date.now() / 1000);

  /** Applies a batch atomically. */
  apply(changes: readonly Change[], now = Date.now()): void {
    if (changes.length === 0) return;
    for (const c of changes) {
      const old = this.owners.get(c.owner);
      if (old) this.unlink(old);
      if (c.set && !isEmpty(c.set)) {
        this.owners.set(c.owner, c.set);
        this.link(c.set);
      } else {
        this.owners.delete(c.owner);
      }
    }
    this.bump(now);
  }

  /** Adds names computed elsewhere; they answer alongside the records held here. */
  addView(view: NameView): void {
    this.views.push(view);
  }

  /** Marks a change made through a view: answers cached for the old generation are dropped. */
  bump(now = Date.now()): void {
    this.generation++;
    this.lastChange = Math.max(this.lastChange + 1, Math.floor(now / 1000));
  }

  /**
   * Replaces every owner whose key starts with prefix by exactly the owners in next,
   * as one batch: owners whose set did not change are left in place.
   */
  replacePrefix(prefix: string, next: ReadonlyMap<string, OwnerSet>): void {
    const changes: Change[] = [];
    for (const owner of this.owners.keys()) {
      if (owner.startsWith(prefix) && !next.has(owner)) changes.push({ owner, set: null });
    }
    for (const [owner, set] of next) {
      const old = this.owners.get(owner);
      if (old === undefined && isEmpty(set)) continue;
      if (!sameSet(old, set)) changes.push({ owner, set });
    }
    this.apply(changes);
  }

  node(name: string): NameNode | undefined {
    let found = this.nodes.get(name);
    for (const v of this.views) {
      const n = v.node(name);
      if (n === undefined) continue;
      // One name from two places (rare: a namespace marker and a view, two sources): one node of both.
      found = found === undefined ? n : NameNode.of([...found.rrs, ...n.rrs]);
    }
    return found;
  }

  /** True when the name holds records or markers, or has descendants that do. */
  exists(name: string): boolean {
    if (this.nodes.has(name) || this.parents.has(name)) return true;
    for (const v of this.views) if (v.exists(name)) return true;
    return false;
  }

  ownerSet(owner: string): OwnerSet | undefined {
    return this.owners.get(owner);
  }

  get size(): { owners: number; names: number } {
    let names = this.nodes.size;
    for (const v of this.views) names += v.nameCount;
    return { owners: this.owners.size, names };
  }

  /** Adds an owner's records; each name's array is rebuilt once per batch, not once per record. */
  private link(set: OwnerSet): void {
    const added = new Map<NameNode, RR[]>();
    for (const rr of set.records) {
      const n = this.touch(rr.name);
      const list = added.get(n);
      if (list) list.push(rr);
      else added.set(n, [rr]);
    }
    for (const [n, rrs] of added) n.rrs = n.rrs.length === 0 ? rrs : [...n.rrs, ...rrs];
    for (const name of set.names) this.touch(name);
  }

  private unlink(set: OwnerSet): void {
    const gone = new Set<RR>(set.records);
    const touched = new Set<string>();
    for (const rr of set.records) touched.add(rr.name);
    for (const name of touched) {
      const n = this.nodes.get(name);
      if (n) n.rrs = n.rrs.filter((r) => !gone.has(r));
    }
    for (const rr of set.records) {
      const n = this.nodes.get(rr.name);
      if (n) this.release(rr.name, n);
    }
    for (const name of set.names) {
      const n = this.nodes.get(name);
      if (n) this.release(name, n);
    }
  }

  private touch(name: string): NameNode {
    let n = this.nodes.get(name);
    if (!n) {
      n = new NameNode();
      this.nodes.set(name, n);
      for (let p = parentOf(name); p !== null; p = parentOf(p)) this.parents.set(p, (this.parents.get(p) ?? 0) + 1);
    }
    n.refs++;
    return n;
  }

  private release(name: string, n: NameNode): void {
    if (--n.refs > 0) return;
    this.nodes.delete(name);
    for (let p = parentOf(name); p !== null; p = parentOf(p)) {
      const c = (this.parents.get(p) ?? 1) - 1;
      if (c === 0) this.parents.delete(p);
      else this.parents.set(p, c);
    }
  }
}

/** The records of one type at a node (a new array; empty when there are none). */
export function rrset(node: NameNode, type: number): RR[] {
  const out: RR[] = [];
  for (const rr of node.rrs) if (rr.type === type) out.push(rr);
  return out;
}

/** "a.b.c" -> "b.c" -> "c" -> "" -> null. */
export function parentOf(name: string): string | null {
  if (name === '') return null;
  const dot = name.indexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1);
}

function isEmpty(set: OwnerSet): boolean {
  return set.records.length === 0 && set.names.length === 0;
}

function sameSet(a: OwnerSet | undefined, b: OwnerSet): boolean {
  if (!a) return false;
  if (a === b) return true;
  if (a.records.length !== b.records.length || a.names.length !== b.names.length) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
