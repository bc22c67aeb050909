import { Type } from '../dns/constants.js';
import { addressBytes, ipv4Number, reverseName, type RR, type SrvRecord } from '../dns/rr.js';
import type { OwnerSet } from '../zone/store.js';
import type { EndpointSliceObject, NamespaceObject, PodObject, ServiceObject } from './objects.js';

/**
 * The Kubernetes DNS-Based Service Discovery specification (1.1.0), as pure functions from
 * slim objects to records. Where the specification leaves a choice, the forms are CoreDNS's.
 */

export type PodMode = 'disabled' | 'insecure' | 'verified';

export interface ClusterZone {
  /** Lowercase, no trailing dot: "cluster.local". */
  readonly domain: string;
  /** TTL of every cluster record. */
  readonly ttl: number;
  readonly pods: PodMode;
  /** Name an endpoint without hostname by its pod's name instead of its dashed IP. */
  readonly endpointPodNames: boolean;
}

export const SCHEMA_VERSION = '1.1.0';
export const SCHEMA_VERSION_TTL = 28800;

export function serviceName(zone: ClusterZone, ns: string, name: string): string {
  return flatName([name, ns, 'svc', zone.domain]);
}

/**
 * Joins labels into one flat string. A template literal makes a rope (a V8 cons string) that
 * costs 32 bytes more than its text for as long as it is held; a store of a few hundred
 * thousand names holds each name once, as the one string every record at that name shares.
 */
export function flatName(labels: readonly string[]): string {
  return labels.join('.');
}

/** "10.0.0.1" -> "10-0-0-1"; IPv6 colons become dashes ("fd00::1" -> "fd00--1"). */
export function dashedIP(ip: string): string {
  return ip.includes(':') ? ip.replaceAll(':', '-') : ip.replaceAll('.', '-');
}

function addressRecord(name: string, ttl: number, ip: string): RR {
  if (!ip.includes(':')) return { type: Type.A, name, ttl, address: ipv4Number(ip) };
  return { type: Type.AAAA, name, ttl, address: addressBytes(ip) };
}

function srvName(port: { name: string; protocol: string }, base: string): string {
  return flatName([`_${port.name}`, `_${port.protocol.toLowerCase()}`, base]);
}

/** SRV records under construction: one list per owner name, weighed once all are known. */
class SrvSets {
  private readonly sets = new Map<string, { port: number; target: string }[]>();
  private readonly seen = new Set<string>();
  /** Owner names of named ports, built once per Service rather than once per endpoint. */
  private readonly names = new Map<string, string>();

  constructor(private readonly base: string) {}

  add(port: { name: string; port: number; protocol: string }, target: string): void {
    this.push(this.base, port.port, target);
    if (!port.name) return;
    const key = `${port.name}/${port.protocol}`;
    let name = this.names.get(key);
    if (name === undefined) this.names.set(key, (name = srvName(port, this.base)));
    this.push(name, port.port, target);
  }

  /** An RRset holds no record twice (RFC 2181 5): one port number served over UDP and TCP is one SRV record at the Service name. */
  private push(name: string, port: number, target: string): void {
    const key = `${name} ${port} ${target}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const list = this.sets.get(name);
    if (list) list.push({ port, target });
    else this.sets.set(name, [{ port, target }]);
  }

  /** Each record of an RRset gets an equal share of 100 (CoreDNS's floor(100/N)). */
  emit(records: RR[], ttl: number): void {
    for (const [name, list] of this.sets) {
      const weight = Math.floor(100 / list.length);
      for (const { port, target } of list) {
        const rr: SrvRecord = { type: Type.SRV, name, ttl, priority: 0, weight, port, target };
        records.push(rr);
      }
    }
  }
}

/**
 * Records of one Service and its endpoints. Slices converted from core/v1 Endpoints are
 * used only when the Service has no EndpointSlice of its own (a cluster mirrors one into the other).
 */
export function serviceRecords(zone: ClusterZone, svc: ServiceObject, slices: readonly EndpointSliceObject[]): OwnerSet {
  const base = serviceName(zone, svc.namespace, svc.name);
  const ttl = zone.ttl;
  const records: RR[] = [];
  const srv = new SrvSets(base);
  switch (svc.type) {
    case 'ExternalName':
      records.push({ type: Type.CNAME, name: base, ttl, target: svc.externalName });
      break;
    case 'ClusterIP':
      for (const ip of svc.clusterIPs) {
        records.push(addressRecord(base, ttl, ip));
        records.push({ type: Type.PTR, name: reverseName(ip), ttl, target: base });
      }
      for (const port of svc.ports) srv.add(port, base);
      break;
    case 'Headless': {
      const own = slices.some((s) => !s.fromEndpoints);
      const seen = new Set<string>();
      for (const slice of slices) {
        if (own && slice.fromEndpoints) continue;
        for (const ep of slice.endpoints) {
          if (!ep.ready && !svc.publishNotReadyAddresses) continue;
          for (const ip of ep.addresses) {
            const label = ep.hostname || (zone.endpointPodNames && ep.podName) || dashedIP(ip);
            const host = flatName([label, base]);
            if (seen.has(`${host} ${ip}`)) continue;
            seen.add(`${host} ${ip}`);
            records.push(addressRecord(base, ttl, ip));
            records.push(addressRecord(host, ttl, ip));
            if (ep.hostname) records.push({ type: Type.PTR, name: reverseName(ip), ttl, target: host });
            for (const port of slice.ports) srv.add(port, host);
          }
        }
      }
      break;
    }
  }
  srv.emit(records, ttl);
  return { records, names: [] };
}

/** A namespace makes `<ns>.svc.<domain>` (and its pod subdomain, when pods are verified) exist. */
export function namespaceRecords(zone: ClusterZone, ns: NamespaceObject): OwnerSet {
  const names = [`${ns.name}.svc.${zone.domain}`];
  if (zone.pods === 'verified') names.push(`${ns.name}.pod.${zone.domain}`);
  return { records: [], names };
}

/** `a-b-c-d.<ns>.pod.<domain>` for each pod IP; only served as stored records with --pods verified. */
export function podRecords(zone: ClusterZone, pod: PodObject): OwnerSet {
  if (zone.pods !== 'verified') return { records: [], names: [] };
  const records = pod.ips.map((ip) => addressRecord(flatName([dashedIP(ip), pod.namespace, 'pod', zone.domain]), zone.ttl, ip));
  return { records, names: [] };
}

/**
 * The zone apex and fixed names: SOA is built per answer (its serial moves), NS names the
 * server `ns.dns.<domain>`, whose addresses are the kube-dns Service's cluster IPs when known.
 */
export function apexRecords(zone: ClusterZone, nameserverIPs: readonly string[]): OwnerSet {
  const ns = `ns.dns.${zone.domain}`;
  const records: RR[] = [
    { type: Type.NS, name: zone.domain, ttl: zone.ttl, target: ns },
    { type: Type.TXT, name: `dns-version.${zone.domain}`, ttl: SCHEMA_VERSION_TTL, texts: [SCHEMA_VERSION] },
    ...nameserverIPs.map((ip) => addressRecord(ns, zone.ttl, ip)),
  ];
  const names = [zone.domain, ns, `svc.${zone.domain}`];
  if (zone.pods !== 'disabled') names.push(`pod.${zone.domain}`);
  return { records, names };
}

/** Parses the first label of a pod name back into an IP ("10-0-0-1", "fd00--1"); null if it is not one. */
export function ipFromDashed(label: string): string | null {
  if (/^\d{1,3}(-\d{1,3}){3}$/.test(label)) {
    const parts = label.split('-').map(Number);
    return parts.every((n) => n <= 255) ? parts.join('.') : null;
  }
  if (/^[0-9a-f-]+$/.test(label) && label.includes('-')) {
    const text = label.replaceAll('-', ':');
    try {
      addressBytes(text);
      return text;
    } catch {
      return null;
    }
  }
  return null;
}
