import { ipv4Text, reverseName, type RR } from '../dns/rr.js';
import { Type } from '../dns/constants.js';
import { dashedIP, ipFromDashed, podRecords, type ClusterZone } from '../records/kubernetes.js';
import type { PodObject } from '../records/objects.js';
import { NameNode, parentOf, type NameView } from './store.js';

/**
 * The records of a cluster's Services and Pods, computed when a name is asked instead of held
 * one object per record. A cluster of 20,000 Services, 100,000 endpoints and 50,000 Pods has
 * some 640,000 records at 320,000 names; held as objects in a name map they cost about 120 MB.
 * Here a name is read by its shape instead:
 *
 *   <...>.<service>.<ns>.svc.<domain>   the Service's records, built by the pure builder (and kept
 *                                       for a few hundred recently asked Services)
 *   <dashed-ip>.<ns>.pod.<domain>       the Pod index (IP -> namespaces), --pods verified only
 *   <reverse name>                      the PTR index (address -> Services with a PTR for it)
 *
 * What is held per Service is a count of its names and the keys of its PTR names. The owner
 * of the objects (ClusterState) calls `setService` with the Service's new records whenever a
 * Service or one of its slices changes, and `addPod`/`removePod` as Pods come and go; it then
 * bumps the store's generation, so a reader sees a batch whole.
 */

/** A Service's records as the lookup reads them: nodes by name, and the empty non-terminals below its name. */
interface Built {
  readonly nodes: Map<string, NameNode>;
  readonly parents: Set<string>;
}

/** What is held per Service that has records. */
interface Summary {
  /** Distinct names of its records, PTR names left out (they are counted by the PTR index). */
  names: number;
  /** The PTR index keys of its PTR records: none, one, or several. */
  ptr: OneOrMany<PtrKey> | undefined;
}

/** An IPv4 reverse name as its address (a number), any other reverse name as itself. */
type PtrKey = number | string;

/** How many recently asked Services keep their built records. */
const BUILT_CAPACITY = 256;

export class ClusterRecords implements NameView {
  private readonly svcSuffix: string;
  private readonly podSuffix: string;
  private readonly summaries = new Map<string, Summary>();
  /** Services with records, per namespace: `<ns>.svc.<domain>` exists while this is above 0. */
  private readonly servicesPerNs = new Map<string, number>();
  /** PTR key -> the Service key (or keys) with a PTR record at that reverse name. */
  private readonly ptr = new Map<PtrKey, string | string[]>();
  /** Reverse names above a PTR name, with how many PTR names lie below each. */
  private readonly reverseParents = new Map<string, number>();
  /** Pod IP -> the Pod (or Pods) with that IP. */
  private readonly podAt = new Map<string, PodObject | PodObject[]>();
  /** Pods per namespace: `<ns>.pod.<domain>` exists while this is above 0. */
  private readonly podsPerNs = new Map<string, number>();
  private readonly built = new Map<string, Built>();
  private serviceNames = 0;

  constructor(
    private readonly zone: ClusterZone,
    /** The Service's current records (the pure builder's output); [] when it is gone. */
    private readonly recordsOf: (serviceKey: string) => readonly RR[],
  ) {
    this.svcSuffix = `.svc.${zone.domain}`;
    this.podSuffix = `.pod.${zone.domain}`;
  }

  /** Names held, for the status page. */
  get nameCount(): number {
    return this.serviceNames + this.ptr.size + (this.zone.pods === 'verified' ? this.podAt.size : 0);
  }

  /** Forgets every Service and Pod. */
  clear(): void {
    this.summaries.clear();
    this.servicesPerNs.clear();
    this.ptr.clear();
    this.reverseParents.clear();
    this.podAt.clear();
    this.podsPerNs.clear();
    this.built.clear();
    this.serviceNames = 0;
  }

  /** The Service ("<ns>/<name>") now has these records (none when it is gone). */
  setService(key: string, records: readonly RR[]): void {
    this.built.delete(key);
    const old = this.summaries.get(key);
    if (old) {
      this.serviceNames -= old.names;
      forEachKey(old.ptr, (k) => this.unindexPtr(k, key));
      this.summaries.delete(key);
      this.countNs(key, -1);
    }
    if (records.length === 0) return;
    const names = new Set<string>();
    let ptr: OneOrMany<PtrKey> | undefined;
    for (const rr of records) {
      if (rr.type !== Type.PTR) {
        names.add(rr.name);
        continue;
      }
      const k = ptrKey(rr.name);
      if (ptr === k || (Array.isArray(ptr) && ptr.includes(k))) continue;
      ptr = withOne(ptr, k);
      this.indexPtr(k, key, rr.name);
    }
    this.summaries.set(key, { names: names.size, ptr });
    this.serviceNames += names.size;
    this.countNs(key, 1);
  }

  addPod(pod: PodObject): void {
    for (const ip of pod.ips) this.podAt.set(ip, withOne(this.podAt.get(ip), pod));
    count(this.podsPerNs, pod.namespace, 1);
  }

  removePod(pod: PodObject): void {
    for (const ip of pod.ips) setOrDelete(this.podAt, ip, withoutOne(this.podAt.get(ip), pod));
    count(this.podsPerNs, pod.namespace, -1);
  }

  /** The namespace of a Pod with this IP, host-network Pods left out (they share their node's IP). */
  podNamespace(ip: string): string | undefined {
    const at = this.podAt.get(ip);
    if (at === undefined) return undefined;
    if (!Array.isArray(at)) return at.hostNetwork ? undefined : at.namespace;
    return at.find((p) => !p.hostNetwork)?.namespace;
  }

  node(name: string): NameNode | undefined {
    if (name.endsWith(this.svcSuffix)) {
      const key = serviceKeyOf(name, this.svcSuffix.length);
      return key === null ? undefined : this.builtOf(key)?.nodes.get(name);
    }
    if (name.endsWith(this.podSuffix)) return this.podNode(name);
    const owners = this.ptr.get(ptrKey(name));
    if (owners === undefined) return undefined;
    if (!Array.isArray(owners)) return this.builtOf(owners)?.nodes.get(name);
    const rrs: RR[] = [];
    for (const key of owners) rrs.push(...(this.builtOf(key)?.nodes.get(name)?.rrs ?? []));
    return NameNode.of(rrs);
  }

  exists(name: string): boolean {
    if (name.endsWith(this.svcSuffix)) {
      const rest = name.length - this.svcSuffix.length;
      const key = serviceKeyOf(name, this.svcSuffix.length);
      if (key === null) return (this.servicesPerNs.get(name.slice(0, rest)) ?? 0) > 0;
      const b = this.builtOf(key);
      return b !== undefined && (b.nodes.has(name) || b.parents.has(name));
    }
    if (name.endsWith(this.podSuffix)) {
      const rest = name.slice(0, name.length - this.podSuffix.length);
      if (!rest.includes('.')) return this.zone.pods === 'verified' && (this.podsPerNs.get(rest) ?? 0) > 0;
      return this.podNode(name) !== undefined;
    }
    return this.ptr.has(ptrKey(name)) || this.reverseParents.has(name);
  }

  /** The Service's records as nodes, from the few kept or built now. */
  private builtOf(key: string): Built | undefined {
    const hit = this.built.get(key);
    if (hit) {
      // Most recently used last: the oldest entry is the first a full map gives up.
      this.built.delete(key);
      this.built.set(key, hit);
      return hit;
    }
    if (!this.summaries.has(key)) return undefined;
    const slash = key.indexOf('/');
    const b = build(this.recordsOf(key), `${key.slice(slash + 1)}.${key.slice(0, slash)}${this.svcSuffix}`);
    if (this.built.size >= BUILT_CAPACITY) this.built.delete(this.built.keys().next().value!);
    this.built.set(key, b);
    return b;
  }

  /** `<dashed-ip>.<ns>.pod.<domain>`: an A or AAAA record when a Pod of that namespace has that IP. */
  private podNode(name: string): NameNode | undefined {
    if (this.zone.pods !== 'verified') return undefined;
    const rest = name.slice(0, name.length - this.podSuffix.length);
    const dot = rest.indexOf('.');
    if (dot < 0 || rest.indexOf('.', dot + 1) >= 0) return undefined;
    const label = rest.slice(0, dot);
    const ns = rest.slice(dot + 1);
    const ip = ipFromDashed(label);
    if (ip === null || dashedIP(ip) !== label) return undefined;
    const at = this.podAt.get(ip);
    if (at === undefined || (Array.isArray(at) ? !at.some((p) => p.namespace === ns) : at.namespace !== ns)) return undefined;
    // The record the specification's builder gives a Pod of that namespace with that one IP.
    return NameNode.of(podRecords(this.zone, { kind: 'Pod', namespace: ns, name: '', ips: [ip], hostNetwork: false }).records);
  }

  private indexPtr(k: PtrKey, key: string, name: string): void {
    const at = this.ptr.get(k);
    this.ptr.set(k, withOne(at, key));
    if (at === undefined) this.countReverseParents(name, 1);
  }

  private unindexPtr(k: PtrKey, key: string): void {
    const rest = withoutOne(this.ptr.get(k), key);
    setOrDelete(this.ptr, k, rest);
    if (rest === undefined) this.countReverseParents(typeof k === 'string' ? k : reverseName(ipv4Text(k)), -1);
  }

  private countReverseParents(name: string, by: number): void {
    for (let p = parentOf(name); p !== null && p !== ''; p = parentOf(p)) count(this.reverseParents, p, by);
  }

  private countNs(key: string, by: number): void {
    count(this.servicesPerNs, key.slice(0, key.indexOf('/')), by);
  }
}

/** Adds by to the count at k, dropping the entry when it reaches 0. */
function count(m: Map<string, number>, k: string, by: number): void {
  const n = (m.get(k) ?? 0) + by;
  if (n <= 0) m.delete(k);
  else m.set(k, n);
}

/** One value, or several in an array (a few share an address; most do not, and hold no array). */
type OneOrMany<T> = T | T[];

function withOne<T>(at: OneOrMany<T> | undefined, x: T): OneOrMany<T> {
  return at === undefined ? x : Array.isArray(at) ? [...at, x] : [at, x];
}

/** What is left once x is taken out; undefined when nothing is. */
function withoutOne<T>(at: OneOrMany<T> | undefined, x: T): OneOrMany<T> | undefined {
  if (!Array.isArray(at)) return at === x ? undefined : at;
  const rest = at.filter((y) => y !== x);
  return rest.length === 1 ? rest[0] : rest;
}

function setOrDelete<K, V>(m: Map<K, V>, k: K, v: V | undefined): void {
  if (v === undefined) m.delete(k);
  else m.set(k, v);
}

/** "<...>.<service>.<ns>.svc.<domain>" -> "<ns>/<service>"; null for "<ns>.svc.<domain>" alone. */
function serviceKeyOf(name: string, suffixLength: number): string | null {
  const end = name.length - suffixLength;
  const nsDot = name.lastIndexOf('.', end - 1);
  if (nsDot < 0) return null;
  const svcDot = name.lastIndexOf('.', nsDot - 1);
  return `${name.slice(nsDot + 1, end)}/${name.slice(svcDot + 1, nsDot)}`;
}

function build(records: readonly RR[], base: string): Built {
  const lists = new Map<string, RR[]>();
  for (const rr of records) {
    const list = lists.get(rr.name);
    if (list) list.push(rr);
    else lists.set(rr.name, [rr]);
  }
  const nodes = new Map<string, NameNode>();
  const parents = new Set<string>();
  for (const [name, rrs] of lists) {
    nodes.set(name, NameNode.of(rrs));
    if (name.length <= base.length || !name.endsWith(base)) continue;
    for (let p = parentOf(name); p !== null && p !== base; p = parentOf(p)) parents.add(p);
  }
  return { nodes, parents };
}

/** A reverse name's key in the PTR index: the address for a full IPv4 name, else the name. */
function ptrKey(name: string): PtrKey {
  if (!name.endsWith('.in-addr.arpa')) return name;
  const labels = name.split('.');
  if (labels.length !== 6) return name;
  let n = 0;
  for (let i = 3; i >= 0; i--) {
    const l = labels[i];
    if (!/^(0|[1-9]\d{0,2})$/.test(l) || Number(l) > 255) return name;
    n = n * 256 + Number(l);
  }
  return n;
}

function forEachKey(ptr: OneOrMany<PtrKey> | undefined, f: (k: PtrKey) => void): void {
  if (ptr === undefined) return;
  if (Array.isArray(ptr)) ptr.forEach(f);
  else f(ptr);
}
