import type { ClusterObject, EndpointSliceObject, FilteredObject, NamespaceObject, PodObject, ServiceObject } from '../records/objects.js';
import { objectKey } from '../records/objects.js';
import {
  apexRecords,
  namespaceRecords,
  serviceRecords,
  type ClusterZone,
} from '../records/kubernetes.js';
import type { Change, OwnerSet, RecordStore } from '../zone/store.js';
import { ClusterRecords } from '../zone/cluster-records.js';
import type { ObjectSink } from './source.js';
import { ChangeLog } from './change-log.js';

/**
 * Holds the slim objects one source delivered and turns each batch of them into one batch
 * of record changes: only the owners an object touches are rebuilt (a Service and its
 * slices, a Pod, a Namespace), and the store applies them in one swap. Service and Pod
 * records are not held: the store reads them through ClusterRecords, which builds a
 * Service's records from the objects here when one of its names is asked.
 */
export class ClusterState implements ObjectSink {
  private namespaces = new Map<string, NamespaceObject>();
  private services = new Map<string, ServiceObject>();
  /** Slices by "<ns>/<service>", then by slice name. */
  private slices = new Map<string, Map<string, EndpointSliceObject>>();
  /** Slice objectKey -> "<ns>/<service>", so a deleted slice finds its Service. */
  private sliceOwner = new Map<string, string>();
  private pods = new ByNamespace<PodObject>();
  /** What the source's own filters left out, by objectKey (see FilteredObject). */
  private filteredObjects = new Map<string, FilteredObject>();
  private readonly prefix: string;
  private readonly records: ClusterRecords;
  /** The last batches applied, for the status page. */
  readonly changes: ChangeLog;

  constructor(
    private readonly store: RecordStore,
    private readonly zone: ClusterZone,
    /** Distinguishes this source's owners in the store. */
    private readonly sourceId: string,
    changes?: ChangeLog,
  ) {
    this.prefix = `${sourceId}:`;
    this.changes = changes ?? new ChangeLog();
    this.records = new ClusterRecords(zone, (key) => this.serviceSet(key)?.records ?? []);
    store.addView(this.records);
  }

  // Read access for explain and the status page (never used on the query path).

  namespace(name: string): NamespaceObject | undefined {
    return this.namespaces.get(name);
  }

  namespaceNames(): IterableIterator<string> {
    return this.namespaces.keys();
  }

  service(namespace: string, name: string): ServiceObject | undefined {
    return this.services.get(`${namespace}/${name}`);
  }

  allServices(): IterableIterator<ServiceObject> {
    return this.services.values();
  }

  /** The slices of a Service, in the order they arrived. */
  slicesOf(namespace: string, service: string): EndpointSliceObject[] {
    return [...(this.slices.get(`${namespace}/${service}`)?.values() ?? [])];
  }

  allPods(): IterableIterator<PodObject> {
    return this.pods.values();
  }

  /** An object the source's filters left out, by kind, namespace ('' for a Namespace) and name. */
  filteredObject(kind: ClusterObject['kind'], namespace: string, name: string): FilteredObject | undefined {
    return this.filteredObjects.get(kind === 'Namespace' ? `Namespace//${name}` : `${kind}/${namespace}/${name}`);
  }

  /** Replaces the set of objects the source's filters left out (ObjectSink.reportFiltered). */
  reportFiltered(objects: readonly FilteredObject[]): void {
    const next = new Map<string, FilteredObject>();
    for (const o of objects) next.set(o.kind === 'Namespace' ? `Namespace//${o.name}` : `${o.kind}/${o.namespace}/${o.name}`, o);
    this.filteredObjects = next;
  }

  get objectCount(): number {
    let n = this.namespaces.size + this.services.size + this.pods.size;
    for (const m of this.slices.values()) n += m.size;
    return n;
  }

  /** A few Services of each type, for the names `serve --hints` suggests trying. */
  sample(): { clusterIP?: ServiceObject; headless?: ServiceObject; externalName?: ServiceObject } {
    const out: { clusterIP?: ServiceObject; headless?: ServiceObject; externalName?: ServiceObject } = {};
    for (const svc of this.services.values()) {
      if (svc.type === 'ClusterIP') {
        // Prefer a Service with a named port, so the SRV hint answers.
        if (!out.clusterIP || (!out.clusterIP.ports.some((p) => p.name) && svc.ports.some((p) => p.name))) out.clusterIP = svc;
      } else if (svc.type === 'Headless') {
        if (!out.headless && this.slices.has(`${svc.namespace}/${svc.name}`)) out.headless = svc;
      } else out.externalName ??= svc;
    }
    return out;
  }

  reset(objects: readonly ClusterObject[]): void {
    const before = { namespaces: this.namespaces, services: this.services, slices: this.slices, pods: this.pods };
    this.namespaces = new Map();
    this.services = new Map();
    this.slices = new Map();
    this.sliceOwner = new Map();
    this.pods = new ByNamespace();
    this.records.clear();
    for (const o of objects) this.put(o);
    for (const key of this.services.keys()) this.records.setService(key, this.serviceSet(key)!.records);
    const next = new Map<string, OwnerSet>();
    for (const key of this.namespaces.keys()) next.set(this.owner('ns', key), this.namespaceSet(key)!);
    next.set(this.owner('apex', ''), this.apexSet());
    const gen = this.store.generation;
    this.store.replacePrefix(this.prefix, next);
    // A relist that brought the same objects leaves the answers (and the SOA serial) as they were.
    const same =
      sameMap(before.namespaces, this.namespaces, sameObject) &&
      sameMap(before.services, this.services, sameObject) &&
      sameMap(before.slices, this.slices, (a, b) => sameMap(a, b, sameObject)) &&
      sameMap(before.pods.byNs, this.pods.byNs, (a, b) => sameMap(a, b, sameObject));
    if (!same && this.store.generation === gen) this.store.bump();
    this.changes.record(this.sourceId, 'reset', objects, []);
  }

  apply(upserts: readonly ClusterObject[], deletes: readonly string[]): void {
    const dirty = new Set<string>();
    for (const key of deletes) this.remove(key, dirty);
    for (const o of upserts) {
      this.remove(objectKey(o), dirty);
      this.put(o);
      this.markDirty(o, dirty);
    }
    const changes: Change[] = [];
    for (const d of dirty) {
      const bar = d.indexOf('|');
      const kind = d.slice(0, bar);
      const key = d.slice(bar + 1);
      if (kind === 'svc') this.records.setService(key, this.serviceSet(key)?.records ?? []);
      else if (kind === 'ns') changes.push({ owner: this.owner(kind, key), set: this.namespaceSet(key) });
      else if (kind === 'apex') changes.push({ owner: this.owner(kind, key), set: this.apexSet() });
      // Pods: the index changed in put and remove.
    }
    this.store.apply(changes);
    if (changes.length === 0 && dirty.size > 0) this.store.bump();
    this.changes.record(this.sourceId, 'apply', upserts, deletes);
  }

  private owner(kind: string, key: string): string {
    return [this.prefix, kind, '/', key].join(''); // flat: held as a store key
  }

  private put(o: ClusterObject): void {
    switch (o.kind) {
      case 'Namespace':
        this.namespaces.set(o.name, o);
        break;
      case 'Service':
        this.services.set([o.namespace, o.name].join('/'), o);
        break;
      case 'EndpointSlice': {
        const svc = [o.namespace, o.serviceName].join('/');
        let m = this.slices.get(svc);
        if (!m) this.slices.set(svc, (m = new Map()));
        m.set(o.name, o);
        this.sliceOwner.set(objectKey(o), svc);
        break;
      }
      case 'Pod':
        this.pods.set(o.namespace, o.name, o);
        this.records.addPod(o);
        break;
    }
  }

  /** The namespace of the pod with this IP, if one is known. */
  podNamespace(ip: string): string | undefined {
    return this.records.podNamespace(ip.startsWith('::ffff:') ? ip.slice(7) : ip);
  }

  private markDirty(o: ClusterObject, dirty: Set<string>): void {
    switch (o.kind) {
      case 'Namespace':
        dirty.add(`ns|${o.name}`);
        break;
      case 'Service':
        dirty.add(`svc|${o.namespace}/${o.name}`);
        if (o.namespace === 'kube-system' && o.name === 'kube-dns') dirty.add('apex|');
        break;
      case 'EndpointSlice':
        dirty.add(`svc|${o.namespace}/${o.serviceName}`);
        break;
      case 'Pod':
        dirty.add(`pod|${o.namespace}/${o.name}`);
        break;
    }
  }

  /** Removes the object with this objectKey, marking what it affected. */
  private remove(key: string, dirty: Set<string>): void {
    const [kind, ns, name] = key.split('/');
    switch (kind) {
      case 'Namespace':
        if (this.namespaces.delete(name)) dirty.add(`ns|${name}`);
        break;
      case 'Service':
        if (this.services.delete(`${ns}/${name}`)) {
          dirty.add(`svc|${ns}/${name}`);
          if (ns === 'kube-system' && name === 'kube-dns') dirty.add('apex|');
        }
        break;
      case 'EndpointSlice': {
        const svc = this.sliceOwner.get(key);
        if (svc === undefined) break;
        this.sliceOwner.delete(key);
        const m = this.slices.get(svc);
        m?.delete(name);
        if (m && m.size === 0) this.slices.delete(svc);
        dirty.add(`svc|${svc}`);
        break;
      }
      case 'Pod': {
        const pod = this.pods.get(ns, name);
        if (!pod) break;
        this.pods.delete(ns, name);
        this.records.removePod(pod);
        dirty.add(`pod|${ns}/${name}`);
        break;
      }
    }
  }

  private serviceSet(key: string): OwnerSet | null {
    const svc = this.services.get(key);
    if (!svc) return null;
    return serviceRecords(this.zone, svc, [...(this.slices.get(key)?.values() ?? [])]);
  }

  private namespaceSet(name: string): OwnerSet | null {
    const ns = this.namespaces.get(name);
    return ns ? namespaceRecords(this.zone, ns) : null;
  }

  private apexSet(): OwnerSet {
    return apexRecords(this.zone, this.services.get('kube-system/kube-dns')?.clusterIPs ?? []);
  }
}

function sameMap<V>(a: ReadonlyMap<string, V>, b: ReadonlyMap<string, V>, eq: (x: V, y: V) => boolean): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of b) {
    const w = a.get(k);
    if (w === undefined || !eq(w, v)) return false;
  }
  return true;
}

function sameObject(a: ClusterObject, b: ClusterObject): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Objects by namespace, then by name: keyed by the strings the objects already hold, where one
 * map keyed "<ns>/<name>" would hold a new string per object (1.5 MB for 50,000 Pods).
 */
class ByNamespace<T> {
  readonly byNs = new Map<string, Map<string, T>>();
  size = 0;

  get(ns: string, name: string): T | undefined {
    return this.byNs.get(ns)?.get(name);
  }

  set(ns: string, name: string, value: T): void {
    let m = this.byNs.get(ns);
    if (!m) this.byNs.set(ns, (m = new Map()));
    const before = m.size;
    m.set(name, value);
    this.size += m.size - before;
  }

  delete(ns: string, name: string): boolean {
    const m = this.byNs.get(ns);
    if (!m?.delete(name)) return false;
    this.size--;
    if (m.size === 0) this.byNs.delete(ns);
    return true;
  }

  *values(): IterableIterator<T> {
    for (const m of this.byNs.values()) yield* m.values();
  }
}
