import { parseType, Rcode, rcodeName, Type, typeName } from '../dns/constants.js';
import { rrText } from '../dns/rr.js';
import { dashedIP, ipFromDashed, type ClusterZone } from '../records/kubernetes.js';
import type { ClusterObject, EndpointSliceObject, FilteredObject, NamespaceObject, Origin, PodObject, ServiceObject } from '../records/objects.js';
import type { ZoneLookup } from '../zone/lookup.js';

/**
 * Why a name does or does not resolve for a pod: the names a pod's resolver tries (the
 * standard Kubernetes resolv.conf: search `<ns>.svc.<domain> svc.<domain> <domain>`, ndots:5),
 * what the server's own lookup returns for each, the object behind the answer, and for a name
 * that fails, the reasons and the nearest names that exist.
 *
 * Pure: reads the lookup and the objects, asks nobody upstream.
 */

/** What explain reads about objects; ClusterState provides it. */
export interface ObjectIndex {
  namespace(name: string): NamespaceObject | undefined;
  namespaceNames(): Iterable<string>;
  service(namespace: string, name: string): ServiceObject | undefined;
  allServices(): Iterable<ServiceObject>;
  slicesOf(namespace: string, service: string): readonly EndpointSliceObject[];
  allPods(): Iterable<PodObject>;
  /** An object the source saw but its filters left out. */
  filteredObject(kind: ClusterObject['kind'], namespace: string, name: string): FilteredObject | undefined;
}

export interface ExplainContext {
  readonly zone: ClusterZone;
  readonly lookup: ZoneLookup;
  readonly index: ObjectIndex;
  /** False until every source has loaded once: cluster names get SERVFAIL then. */
  readonly ready: boolean;
  /** Where a name outside the cluster goes: the upstreams asked (with the stub domain that matched), or null when there are none. */
  readonly forwarding: (name: string) => { readonly upstreams: readonly string[]; readonly stubDomain?: string } | null;
}

export interface ExplainQuery {
  readonly name: string;
  readonly namespace: string;
  readonly type: string;
}

/** One name the resolver tries, and what it got. */
export interface ExplainTry {
  /** Absolute, lowercase, with the trailing dot. */
  readonly name: string;
  /** 'cluster': answered by this server from its records; 'upstream': forwarded; 'none': refused here (no upstream). */
  readonly handledBy: 'cluster' | 'upstream' | 'none';
  /** The rcode, or null for a forwarded name (explain does not ask upstream). */
  readonly rcode: string | null;
  /** Answer records as zone-file lines. */
  readonly answer: readonly string[];
  readonly upstreams?: readonly string[];
  readonly note: string;
}

/** An object behind an answer (or behind a failure), with where it came from. */
export interface ExplainObject {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** "manifests", "kubernetes", "etcd", or '' when not known. */
  readonly source: string;
  /** File, API path or etcd key. */
  readonly ref: string;
  readonly why: string;
}

export type ReasonCode =
  | 'no-ready-endpoints'
  | 'endpoint-not-ready'
  | 'pods-disabled'
  | 'no-such-pod'
  | 'unnamed-port'
  | 'no-such-port'
  | 'no-such-service'
  | 'no-such-namespace'
  | 'namespace-filtered'
  | 'label-filtered'
  | 'no-records-of-type'
  | 'not-synced'
  | 'outside-cluster'
  | 'no-upstream';

export interface ExplainReason {
  readonly code: ReasonCode;
  readonly message: string;
  readonly object?: ExplainObject;
}

export interface ExplainNearest {
  /** A name that exists, absolute with the trailing dot. */
  readonly name: string;
  /** 'other-namespace': the same name in another namespace; 'typo': one letter away; 'named-port': the SRV name of an existing port. */
  readonly why: 'other-namespace' | 'typo' | 'named-port';
  readonly message: string;
}

export type Outcome = 'answered' | 'nodata' | 'nxdomain' | 'forwarded' | 'refused' | 'servfail';

export interface ExplainResult {
  readonly query: { readonly name: string; readonly namespace: string; readonly type: string };
  readonly domain: string;
  readonly search: readonly string[];
  readonly ndots: number;
  readonly tries: readonly ExplainTry[];
  readonly outcome: Outcome;
  /** The name that answered, or null. */
  readonly answeredBy: string | null;
  /** The objects that made the answer (answered or nodata). */
  readonly objects: readonly ExplainObject[];
  /** Why the name does not resolve (empty when it does). */
  readonly reasons: readonly ExplainReason[];
  /** Names that exist and are close to what was asked (empty when it resolves). */
  readonly nearest: readonly ExplainNearest[];
}

/** A bad question: names the parameter and why. */
export class ExplainInputError extends Error {
  readonly code = 'CLUSTERDNS_ERR_EXPLAIN_INPUT';
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(`${param}: ${message}`);
    this.name = 'ExplainInputError';
  }
}

export const NDOTS = 5;
const MAX_NEAREST = 8;

/** The search list of a pod in this namespace (kubelet's resolv.conf for dnsPolicy ClusterFirst). */
export function searchList(namespace: string, domain: string): string[] {
  return [`${namespace}.svc.${domain}`, `svc.${domain}`, domain];
}

/**
 * The names a stub resolver tries, in order (glibc's res_search): an absolute name alone; a
 * name with at least ndots dots as it is first, then with each search domain; else each search
 * domain first and the name as it is last. Names longer than 253 characters are skipped.
 */
export function candidates(name: string, search: readonly string[], ndots = NDOTS): string[] {
  if (name.endsWith('.')) return [name.slice(0, -1)];
  const dots = name.split('.').length - 1;
  const searched = search.map((s) => `${name}.${s}`).filter((n) => n.length <= 253);
  return dots >= ndots ? [name, ...searched] : [...searched, name];
}

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;
const NAMESPACE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function checkQuery(q: ExplainQuery): { name: string; namespace: string; qtype: number } {
  const name = q.name.trim().toLowerCase();
  if (name === '' || name === '.') throw new ExplainInputError('name', 'empty: give a name such as web or web.shop');
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  if (bare.length > 253) throw new ExplainInputError('name', `'${q.name}' is longer than 253 characters`);
  for (const label of bare.split('.')) {
    if (!LABEL.test(label)) throw new ExplainInputError('name', `'${q.name}' has an invalid label '${label}' (letters, digits, '-' and '_', 1-63 characters)`);
  }
  const namespace = q.namespace.trim().toLowerCase();
  if (!NAMESPACE.test(namespace)) throw new ExplainInputError('namespace', `'${q.namespace}' is not a valid namespace name`);
  const qtype = parseType(q.type.trim());
  if (qtype === undefined || qtype === 0) throw new ExplainInputError('type', `unknown record type '${q.type}' (A, AAAA, SRV, PTR, TXT, CNAME, ...)`);
  return { name, namespace, qtype };
}

/** Explains one question as a pod in q.namespace would ask it. Throws ExplainInputError on a bad question. */
export function explain(ctx: ExplainContext, q: ExplainQuery): ExplainResult {
  const { name, namespace, qtype } = checkQuery(q);
  const domain = ctx.zone.domain;
  const search = searchList(namespace, domain);
  const tries: ExplainTry[] = [];
  let answered: { name: string; rcode: number } | null = null;
  let nodata: string | null = null;
  for (const cand of candidates(name, search)) {
    const t = tryName(ctx, cand, qtype);
    tries.push(t.view);
    if (t.answered) {
      answered = { name: cand, rcode: t.rcode };
      break;
    }
    if (t.rcode === Rcode.NOERROR && t.view.handledBy === 'cluster' && nodata === null) nodata = cand;
  }

  const outcome: Outcome = answered
    ? 'answered'
    : nodata !== null
      ? 'nodata'
      : tries.some((t) => t.handledBy === 'upstream')
        ? 'forwarded'
        : tries.some((t) => t.rcode === 'SERVFAIL')
          ? 'servfail'
          : tries.every((t) => t.rcode === 'REFUSED')
            ? 'refused'
            : 'nxdomain';

  const result = {
    query: { name: q.name.trim(), namespace, type: typeName(qtype) },
    domain,
    search,
    ndots: NDOTS,
    tries,
  };
  if (answered) {
    return { ...result, outcome, answeredBy: `${answered.name}.`, objects: describe(ctx, answered.name), reasons: [], nearest: [] };
  }
  const d = new Diagnosis();
  if (!ctx.ready) d.reason({ code: 'not-synced', message: 'the server has not loaded its sources yet: cluster names get SERVFAIL until it has' });
  if (nodata !== null) {
    const objects = describe(ctx, nodata);
    const has = ctx.lookup.lookup(nodata, Type.ANY)?.answer.map((rr) => typeName(rr.type)) ?? [];
    const kinds = [...new Set(has)].filter((t) => t !== typeName(qtype));
    d.reason({
      code: 'no-records-of-type',
      message: `${nodata}. exists but has no ${typeName(qtype)} records${kinds.length > 0 ? ` (it has ${kinds.join(', ')})` : ''}`,
      ...(objects[0] ? { object: objects[0] } : {}),
    });
  }
  for (const t of tries) {
    const bare = t.name.slice(0, -1);
    if (t.handledBy === 'cluster' && t.rcode === 'NXDOMAIN') diagnose(ctx, bare, d);
  }
  if (outcome === 'forwarded') {
    const up = tries.find((t) => t.handledBy === 'upstream')!;
    d.reason({ code: 'outside-cluster', message: `${up.name} is outside the cluster domain ${domain}: this server forwards it to ${up.upstreams!.join(', ')}, whose answer decides (explain does not ask upstream)` });
  } else if (tries.some((t) => t.handledBy === 'none')) {
    const out = tries.find((t) => t.handledBy === 'none')!;
    d.reason({ code: 'no-upstream', message: `${out.name} is outside the cluster domain ${domain} and this server has no upstream (--upstream none): it answers REFUSED` });
  }
  return { ...result, outcome, answeredBy: null, objects: nodata !== null ? describe(ctx, nodata) : [], reasons: d.reasons, nearest: d.nearest };
}

function tryName(ctx: ExplainContext, name: string, qtype: number): { view: ExplainTry; answered: boolean; rcode: number } {
  const fq = `${name}.`;
  const zone = ctx.lookup.zoneOf(name);
  if (zone !== null && !ctx.ready) {
    return { view: { name: fq, handledBy: 'cluster', rcode: 'SERVFAIL', answer: [], note: 'sources not loaded yet' }, answered: false, rcode: Rcode.SERVFAIL };
  }
  const reply = zone !== null ? ctx.lookup.lookup(name, qtype) : null;
  if (reply) {
    const answered = reply.rcode === Rcode.NOERROR && reply.answer.length > 0;
    const note = answered || reply.rcode !== Rcode.NOERROR ? '' : 'the name exists, with no records of this type';
    return { view: { name: fq, handledBy: 'cluster', rcode: rcodeName(reply.rcode), answer: reply.answer.map(rrText), note }, answered, rcode: reply.rcode };
  }
  const fwd = ctx.forwarding(name);
  if (!fwd) return { view: { name: fq, handledBy: 'none', rcode: 'REFUSED', answer: [], note: 'outside the cluster; no upstream' }, answered: false, rcode: Rcode.REFUSED };
  const via = fwd.stubDomain ? ` (stub domain ${fwd.stubDomain})` : '';
  return {
    view: { name: fq, handledBy: 'upstream', rcode: null, answer: [], upstreams: fwd.upstreams, note: `forwarded to ${fwd.upstreams.join(', ')}${via}` },
    answered: false,
    rcode: -1,
  };
}

// ---------------------------------------------------------------------------------------------
// Which object made a name

function objectView(o: { kind: string; namespace?: string; name: string; origin?: Origin }, why: string): ExplainObject {
  return { kind: o.kind, namespace: o.namespace ?? '', name: o.name, source: o.origin?.source ?? '', ref: o.origin?.ref ?? '', why };
}

/** The label of an endpoint address as the records name it. */
function endpointLabel(zone: ClusterZone, ep: { hostname: string; podName: string }, ip: string): string {
  return ep.hostname || (zone.endpointPodNames && ep.podName) || dashedIP(ip);
}

/** Slices that make records (slices converted from Endpoints only when the Service has none of its own). */
function servedSlices(index: ObjectIndex, svc: ServiceObject): EndpointSliceObject[] {
  const all = index.slicesOf(svc.namespace, svc.name);
  const own = all.some((s) => !s.fromEndpoints);
  return all.filter((s) => !own || !s.fromEndpoints);
}

function endpointCounts(index: ObjectIndex, svc: ServiceObject): { ready: number; notReady: number; slices: string[] } {
  let ready = 0;
  let notReady = 0;
  const slices: string[] = [];
  for (const s of servedSlices(index, svc)) {
    slices.push(s.name);
    for (const ep of s.endpoints) {
      if (ep.ready) ready += ep.addresses.length;
      else notReady += ep.addresses.length;
    }
  }
  return { ready, notReady, slices };
}

/** Names under the cluster domain, cut into what they say. */
type Parsed =
  | { form: 'apex' }
  | { form: 'version' }
  | { form: 'nameserver' }
  | { form: 'namespace'; ns: string }
  | { form: 'service'; svc: string; ns: string }
  | { form: 'endpoint'; host: string; svc: string; ns: string }
  | { form: 'port'; port: string; proto: string; svc: string; ns: string }
  | { form: 'pod'; label: string; ns: string }
  | { form: 'other' };

function parse(name: string, domain: string): Parsed {
  if (name === domain) return { form: 'apex' };
  if (!name.endsWith(`.${domain}`)) return { form: 'other' };
  const rel = name.slice(0, -domain.length - 1);
  if (rel === 'dns-version') return { form: 'version' };
  if (rel === 'ns.dns') return { form: 'nameserver' };
  const l = rel.split('.');
  if (l[l.length - 1] === 'svc') {
    if (l.length === 2) return { form: 'namespace', ns: l[0] };
    if (l.length === 3) return { form: 'service', svc: l[0], ns: l[1] };
    if (l.length === 4) return { form: 'endpoint', host: l[0], svc: l[1], ns: l[2] };
    if (l.length === 5 && l[0].startsWith('_') && l[1].startsWith('_')) return { form: 'port', port: l[0].slice(1), proto: l[1].slice(1), svc: l[2], ns: l[3] };
  }
  if (l[l.length - 1] === 'pod' && l.length === 3) return { form: 'pod', label: l[0], ns: l[1] };
  return { form: 'other' };
}

function serviceWhy(ctx: ExplainContext, svc: ServiceObject): string {
  switch (svc.type) {
    case 'ClusterIP':
      return `ClusterIP ${svc.clusterIPs.join(', ')}`;
    case 'ExternalName':
      return `ExternalName: CNAME to ${svc.externalName}`;
    case 'Headless': {
      const c = endpointCounts(ctx.index, svc);
      const notReady = c.notReady > 0 ? (svc.publishNotReadyAddresses ? `, ${c.notReady} not ready but published (publishNotReadyAddresses)` : `, ${c.notReady} not ready left out`) : '';
      return `headless: ${c.ready} ready endpoint address${c.ready === 1 ? '' : 'es'}${notReady}`;
    }
  }
}

/** The objects behind the records of a name in the cluster or reverse zones. */
function describe(ctx: ExplainContext, name: string): ExplainObject[] {
  const { index, zone } = ctx;
  if (name.endsWith('.in-addr.arpa') || name.endsWith('.ip6.arpa')) {
    const out: ExplainObject[] = [];
    for (const rr of ctx.lookup.lookup(name, Type.PTR)?.answer ?? []) {
      if (rr.type === Type.PTR) out.push(...describe(ctx, rr.target).map((o) => ({ ...o, why: `reverse of ${o.why}` })));
    }
    return out;
  }
  const p = parse(name, zone.domain);
  switch (p.form) {
    case 'apex':
      return [{ kind: 'Zone', namespace: '', name: zone.domain, source: '', ref: '', why: 'zone apex: SOA and NS of the cluster domain' }];
    case 'version':
      return [{ kind: 'Zone', namespace: '', name: zone.domain, source: '', ref: '', why: 'dns-version: the version of the DNS specification served' }];
    case 'nameserver': {
      const svc = index.service('kube-system', 'kube-dns');
      return svc ? [objectView(svc, `the nameserver's address: cluster IP ${svc.clusterIPs.join(', ')} of kube-system/kube-dns`)] : [];
    }
    case 'namespace': {
      const ns = index.namespace(p.ns);
      return ns ? [objectView(ns, 'a namespace: the name exists, with no records of its own')] : [];
    }
    case 'service': {
      const svc = index.service(p.ns, p.svc);
      if (!svc) return [];
      const out = [objectView(svc, serviceWhy(ctx, svc))];
      if (svc.type === 'Headless') for (const s of servedSlices(index, svc)) out.push(objectView(s, `endpoints of ${svc.namespace}/${svc.name}`));
      if (svc.type === 'ExternalName' && ctx.lookup.zoneOf(svc.externalName) !== null) out.push(...describe(ctx, svc.externalName));
      return out;
    }
    case 'endpoint': {
      const svc = index.service(p.ns, p.svc);
      if (!svc) return [];
      for (const s of servedSlices(index, svc)) {
        for (const ep of s.endpoints) {
          for (const ip of ep.addresses) {
            if (endpointLabel(zone, ep, ip) !== p.host) continue;
            const state = ep.ready ? 'ready' : 'not ready, published (publishNotReadyAddresses)';
            return [objectView(s, `headless endpoint ${p.host} ${state}: ${ip}${ep.podName ? ` (pod ${ep.podName})` : ''}`), objectView(svc, `headless Service ${svc.namespace}/${svc.name}`)];
          }
        }
      }
      return [];
    }
    case 'port': {
      const svc = index.service(p.ns, p.svc);
      if (!svc) return [];
      const port = svc.ports.find((x) => x.name === p.port && x.protocol.toLowerCase() === p.proto);
      return [objectView(svc, `named port ${p.port} ${port ? `${port.port}/${port.protocol}` : ''} of a ${svc.type === 'Headless' ? 'headless Service (one SRV per endpoint)' : 'Service'}`.trim())];
    }
    case 'pod': {
      const ip = ipFromDashed(p.label);
      if (zone.pods === 'insecure') {
        return [{ kind: 'Pod', namespace: p.ns, name: '', source: '', ref: '', why: `pod IP ${ip ?? p.label} read from the name itself (--pods insecure: no pod is looked up)` }];
      }
      for (const pod of index.allPods()) {
        if (pod.namespace === p.ns && ip !== null && pod.ips.includes(ip)) return [objectView(pod, `pod IP ${ip} (--pods verified)`)];
      }
      return [];
    }
    case 'other':
      return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Why a name fails, and what is near it

class Diagnosis {
  readonly reasons: ExplainReason[] = [];
  readonly nearest: ExplainNearest[] = [];
  private seen = new Set<string>();

  reason(r: ExplainReason): void {
    if (this.seen.has(`r ${r.message}`)) return;
    this.seen.add(`r ${r.message}`);
    this.reasons.push(r);
  }

  near(n: ExplainNearest): void {
    if (this.seen.has(`n ${n.name}`) || this.nearest.length >= MAX_NEAREST) return;
    this.seen.add(`n ${n.name}`);
    this.nearest.push(n);
  }
}

/** Optimal string alignment distance, stopping early past max (one substitution, insertion, deletion or swap of neighbours is 1). */
export function editDistance(a: string, b: string, max = 1): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    let rowMin = Infinity;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      rowMin = Math.min(rowMin, d[i][j]);
    }
    if (rowMin > max) return max + 1;
  }
  return d[a.length][b.length];
}

function namespaceKnown(index: ObjectIndex, ns: string): boolean {
  if (index.namespace(ns)) return true;
  for (const s of index.allServices()) if (s.namespace === ns) return true;
  return false;
}

function filteredReason(f: FilteredObject): ExplainReason {
  const what = f.kind === 'Namespace' ? `namespace ${f.name}` : `${f.kind} ${f.namespace}/${f.name}`;
  return {
    code: f.filter === 'namespace' ? 'namespace-filtered' : 'label-filtered',
    message: `${what} exists but is filtered out by the source's ${f.filter} filter (${f.detail})`,
    object: objectView({ kind: f.kind, namespace: f.namespace, name: f.name, origin: f.origin }, `left out by ${f.filter} filter ${f.detail}`),
  };
}

function diagnose(ctx: ExplainContext, name: string, d: Diagnosis): void {
  const { index, zone } = ctx;
  const domain = zone.domain;
  const p = parse(name, domain);
  const svcName = (svc: string, ns: string) => `${svc}.${ns}.svc.${domain}.`;
  switch (p.form) {
    case 'service': {
      const svc = index.service(p.ns, p.svc);
      if (svc) {
        const c = endpointCounts(index, svc);
        if (svc.type === 'Headless' && c.ready === 0) {
          const slices = c.slices.length > 0 ? ` (EndpointSlice ${c.slices.join(', ')}: ${c.notReady} not ready)` : ' (it has no EndpointSlice or Endpoints)';
          d.reason({ code: 'no-ready-endpoints', message: `Service ${svc.namespace}/${svc.name} is headless and has no ready endpoints${slices}: its name answers NXDOMAIN until one is ready`, object: objectView(svc, serviceWhy(ctx, svc)) });
        }
        return;
      }
      const fSvc = index.filteredObject('Service', p.ns, p.svc);
      if (fSvc) d.reason(filteredReason(fSvc));
      const fNs = index.filteredObject('Namespace', '', p.ns);
      if (fNs) d.reason(filteredReason(fNs));
      if (fSvc || fNs) return;
      // An unknown namespace is only worth saying when one close to it exists: otherwise the
      // name was most likely never meant as <svc>.<ns> (example.com tried as example.com.svc.<domain>).
      const nsKnown = namespaceKnown(index, p.ns);
      if (nsKnown) d.reason({ code: 'no-such-service', message: `no Service ${p.svc} in namespace ${p.ns}` });
      else if ([...index.namespaceNames()].some((n) => editDistance(n, p.ns) === 1)) {
        d.reason({ code: 'no-such-namespace', message: `no namespace ${p.ns} (and no Service ${p.svc} in it)` });
      }
      for (const s of index.allServices()) {
        if (s.name === p.svc && s.namespace !== p.ns) {
          d.near({ name: svcName(s.name, s.namespace), why: 'other-namespace', message: `Service ${s.namespace}/${s.name} in another namespace: ask for ${s.name}.${s.namespace}` });
        }
      }
      for (const s of index.allServices()) {
        if (s.namespace === p.ns && editDistance(s.name, p.svc) === 1) {
          d.near({ name: svcName(s.name, s.namespace), why: 'typo', message: `Service ${s.namespace}/${s.name}: one letter away from ${p.svc}` });
        }
      }
      for (const s of index.allServices()) {
        if (s.namespace !== p.ns && editDistance(s.namespace, p.ns) === 1 && (s.name === p.svc || editDistance(s.name, p.svc) === 1)) {
          d.near({ name: svcName(s.name, s.namespace), why: 'typo', message: `Service ${s.namespace}/${s.name}: namespace ${s.namespace} is one letter away from ${p.ns}` });
        }
      }
      return;
    }
    case 'endpoint': {
      const svc = index.service(p.ns, p.svc);
      if (!svc || svc.type !== 'Headless') return;
      for (const s of servedSlices(index, svc)) {
        for (const ep of s.endpoints) {
          for (const ip of ep.addresses) {
            const label = endpointLabel(zone, ep, ip);
            if (label === p.host && !ep.ready && !svc.publishNotReadyAddresses) {
              d.reason({ code: 'endpoint-not-ready', message: `endpoint ${label} (${ip}) of Service ${svc.namespace}/${svc.name} is not ready: not-ready endpoints get no records`, object: objectView(s, `endpoints of ${svc.namespace}/${svc.name}`) });
            } else if (label !== p.host && editDistance(label, p.host) === 1 && (ep.ready || svc.publishNotReadyAddresses)) {
              d.near({ name: `${label}.${svcName(svc.name, svc.namespace)}`, why: 'typo', message: `endpoint ${label} of Service ${svc.namespace}/${svc.name}: one letter away from ${p.host}` });
            }
          }
        }
      }
      return;
    }
    case 'port': {
      const svc = index.service(p.ns, p.svc);
      if (!svc) return;
      const unnamed = svc.ports.filter((x) => x.name === '' && x.protocol.toLowerCase() === p.proto);
      if (unnamed.length > 0) {
        d.reason({
          code: 'unnamed-port',
          message: `Service ${svc.namespace}/${svc.name} has unnamed port${unnamed.length > 1 ? 's' : ''} ${unnamed.map((x) => `${x.port}/${x.protocol}`).join(', ')}: only named ports get SRV records (give the port a name in the Service)`,
          object: objectView(svc, serviceWhy(ctx, svc)),
        });
      } else {
        d.reason({ code: 'no-such-port', message: `Service ${svc.namespace}/${svc.name} has no port named ${p.port} with protocol ${p.proto.toUpperCase()}`, object: objectView(svc, serviceWhy(ctx, svc)) });
      }
      for (const x of svc.ports) {
        if (!x.name) continue;
        const n = `_${x.name}._${x.protocol.toLowerCase()}.${svcName(svc.name, svc.namespace)}`;
        d.near({ name: n, why: 'named-port', message: `named port ${x.name} (${x.port}/${x.protocol}) of Service ${svc.namespace}/${svc.name}` });
      }
      return;
    }
    case 'pod': {
      if (zone.pods === 'disabled') {
        d.reason({ code: 'pods-disabled', message: `pod records are disabled on this server (--pods disabled): ${p.label}.${p.ns}.pod.${domain} answers NXDOMAIN; start it with --pods insecure or verified` });
        return;
      }
      const ip = ipFromDashed(p.label);
      if (zone.pods !== 'verified' || ip === null) return;
      d.reason({ code: 'no-such-pod', message: `no pod with IP ${ip} in namespace ${p.ns} (--pods verified answers only IPs of existing pods)` });
      for (const pod of index.allPods()) {
        if (pod.namespace !== p.ns && pod.ips.includes(ip)) {
          d.near({ name: `${p.label}.${pod.namespace}.pod.${domain}.`, why: 'other-namespace', message: `pod ${pod.namespace}/${pod.name} has IP ${ip} in namespace ${pod.namespace}` });
        }
      }
      return;
    }
    default:
      return;
  }
}
