import { ipv4Number, ipv4Text } from '../dns/rr.js';

/**
 * Slim Kubernetes objects: only what DNS needs. Sources cut API objects (or manifest
 * documents) down to these before anything is retained, so a store of 100,000 endpoints
 * holds names, addresses and ports, not whole objects with managedFields.
 */

/** Where an object came from, for logs and for explaining an answer. */
export interface Origin {
  /** "manifests", "kubernetes" or "etcd". */
  readonly source: string;
  /** A file path (manifests), an API path, or an etcd key. */
  readonly ref: string;
}

/**
 * The origin of an object read from a manifest document: the file (one string shared by all its
 * objects) and the document's number. The ref ("<file>#<n>") is made when asked; held as a string
 * per object it cost 4 MB in a cluster of 75,000 objects.
 */
export class DocumentOrigin implements Origin {
  constructor(
    readonly file: string,
    readonly document: number,
  ) {}

  get source(): string {
    return 'manifests';
  }

  get ref(): string {
    return `${this.file}#${this.document}`;
  }

  toJSON(): Origin {
    return { source: this.source, ref: this.ref };
  }
}

export interface NamespaceObject {
  readonly kind: 'Namespace';
  readonly name: string;
  readonly origin?: Origin;
}

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface ServicePort {
  /** Empty string when the port is unnamed (no SRV record then). */
  readonly name: string;
  readonly port: number;
  readonly protocol: Protocol;
}

export interface ServiceObject {
  readonly kind: 'Service';
  readonly namespace: string;
  readonly name: string;
  /** 'ClusterIP' (also NodePort and LoadBalancer, which have a cluster IP), 'Headless' or 'ExternalName'. */
  readonly type: 'ClusterIP' | 'Headless' | 'ExternalName';
  /** Cluster IPs in canonical text form (IPv4 dotted, IPv6 compressed lowercase); empty when headless. */
  readonly clusterIPs: readonly string[];
  /** Lowercase, without trailing dot; only for ExternalName. */
  readonly externalName: string;
  readonly ports: readonly ServicePort[];
  readonly publishNotReadyAddresses: boolean;
  readonly origin?: Origin;
}

export interface Endpoint {
  /** Canonical text form addresses (one family per slice, but Endpoints objects can mix). */
  readonly addresses: readonly string[];
  /** Ready for traffic: EndpointSlice conditions.ready (unset counts as ready), or Endpoints.addresses vs notReadyAddresses. */
  readonly ready: boolean;
  /** endpoints[].hostname, '' when unset. */
  readonly hostname: string;
  /** targetRef.name when targetRef.kind is Pod, '' otherwise (for --endpoint-pod-names). */
  readonly podName: string;
}

/** Endpoints as they are read: in order, any number of times. */
export type Endpoints = Iterable<Endpoint> & { readonly length: number };

/**
 * A slice's endpoints held column by column: addresses as numbers when every endpoint has one
 * IPv4 address (8 bytes each instead of a 32-byte string), else an endpoint's one address as the
 * string itself (an array only when it has several); hostnames and pod names in arrays of their
 * own (none when no endpoint has one); the positions of endpoints that are not ready. An object
 * and an array per endpoint cost about 100 bytes more each: 10 MB for 100,000 endpoints. Reading
 * yields a new Endpoint object per endpoint, which only record building and explain do.
 */
export class EndpointList implements Iterable<Endpoint> {
  private constructor(
    private readonly addresses: readonly number[] | readonly (string | readonly string[])[],
    private readonly hostnames: readonly string[] | null,
    private readonly podNames: readonly string[] | null,
    /** Positions of the endpoints not ready, in order; null when every one is. */
    private readonly notReady: readonly number[] | null,
  ) {}

  static from(endpoints: Iterable<Endpoint>): EndpointList {
    const addresses: (string | readonly string[])[] = [];
    const hostnames: string[] = [];
    const podNames: string[] = [];
    const notReady: number[] = [];
    let named = false;
    let podded = false;
    for (const ep of endpoints) {
      if (!ep.ready) notReady.push(addresses.length);
      addresses.push(ep.addresses.length === 1 ? ep.addresses[0] : Object.freeze([...ep.addresses]));
      hostnames.push(ep.hostname);
      podNames.push(ep.podName);
      named ||= ep.hostname !== '';
      podded ||= ep.podName !== '';
    }
    const v4 = addresses.every((a) => typeof a === 'string' && !a.includes(':')) ? addresses.map((a) => ipv4Number(a as string)) : null;
    return new EndpointList(v4 ?? addresses, named ? hostnames : null, podded ? podNames : null, notReady.length > 0 ? notReady : null);
  }

  get length(): number {
    return this.addresses.length;
  }

  *[Symbol.iterator](): Iterator<Endpoint> {
    const n = this.addresses.length;
    for (let i = 0; i < n; i++) {
      const a = this.addresses[i];
      yield {
        addresses: typeof a === 'number' ? [ipv4Text(a)] : typeof a === 'string' ? [a] : a,
        ready: this.notReady === null || !this.notReady.includes(i),
        hostname: this.hostnames?.[i] ?? '',
        podName: this.podNames?.[i] ?? '',
      };
    }
  }

  /** As the plain array it stands for (comparisons, JSON output). */
  toJSON(): Endpoint[] {
    return [...this];
  }
}

export interface EndpointPort {
  readonly name: string;
  readonly port: number;
  readonly protocol: Protocol;
}

/**
 * One EndpointSlice (discovery.k8s.io/v1), or one subset of a core/v1 Endpoints object.
 * Several slices of one Service are merged when records are built.
 */
export interface EndpointSliceObject {
  readonly kind: 'EndpointSlice';
  readonly namespace: string;
  /** The slice's own name (for Endpoints: "<name>" plus a subset index suffix). */
  readonly name: string;
  /** The Service it belongs to (label kubernetes.io/service-name, or the Endpoints object's name). */
  readonly serviceName: string;
  /** The endpoints, in order: an EndpointList from the sources (see compact.ts), or a plain array. */
  readonly endpoints: Endpoints;
  readonly ports: readonly EndpointPort[];
  /** True when converted from a core/v1 Endpoints object; ignored for a Service that also has real slices. */
  readonly fromEndpoints: boolean;
  readonly origin?: Origin;
}

export interface PodObject {
  readonly kind: 'Pod';
  readonly namespace: string;
  readonly name: string;
  /** status.podIPs (or status.podIP), canonical text form. */
  readonly ips: readonly string[];
  readonly hostNetwork: boolean;
  readonly origin?: Origin;
}

export type ClusterObject = NamespaceObject | ServiceObject | EndpointSliceObject | PodObject;

/** A stable identity for an object: "<Kind>/<namespace>/<name>" ("Namespace//<name>" for namespaces). */
export function objectKey(o: ClusterObject): string {
  // One flat string: a template literal would make a rope of two strings, and keys are held by the thousand.
  return o.kind === 'Namespace' ? ['Namespace/', o.name].join('/') : [o.kind, o.namespace, o.name].join('/');
}

/**
 * An object a source saw but does not serve because a filter of its own left it out (a
 * namespace filter, a label selector). Sources report these so `explain` can say why a name
 * is missing instead of only that it is.
 */
export interface FilteredObject {
  readonly kind: ClusterObject['kind'];
  /** '' for a Namespace. */
  readonly namespace: string;
  readonly name: string;
  /** Which filter left it out. */
  readonly filter: 'namespace' | 'label';
  /** The filter as configured, e.g. "--namespaces shop,default" or "app!=canary". */
  readonly detail: string;
  readonly origin?: Origin;
}
