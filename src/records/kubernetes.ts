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
  return `${name}.${ns}.svc.${zone.domain}`;
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
  return `_${port.name}._${port.protocol.toLowerCase()}.${base}`;
}

/**
 * Records of one Service and its endpoints. Slices converted from core/v1 Endpoints are
 * used only when the Service has no EndpointSlice of its own (a cluster mirrors one into the other).
 */
export function serviceRecords(zone: ClusterZone, svc: ServiceObject, slices: readonly EndpointSliceObject[]): OwnerSet {
  const base = serviceName(zone, svc.namespace, svc.name);
  const ttl = zone.ttl;
  const records: RR[] = [];
  const srv: SrvRecord[] = [];
  switch (svc.type) {
    case 'ExternalName':
      records.push({ type: Type.CNAME, name: base, ttl, target: svc.externalName });
      break;
    case 'ClusterIP':
      for (const ip of svc.clusterIPs) {
        records.push(addressRecord(base, ttl, ip));
        records.push({ type: Type.PTR, name: reverseName(ip), ttl, target: base });
      }
      for (const port of svc.ports) {
        const rr = { type: Type.SRV, ttl, priority: 0, weight: 100, port: port.port, target: base } as const;
        srv.push({ ...rr, name: base });
        if (port.name) srv.push({ ...rr, name: srvName(port, base) });
      }
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
            const host = `${label}.${base}`;
            if (seen.has(`${host} ${ip}`)) continue;
            seen.add(`${host} ${ip}`);
            records.push(addressRecord(base, ttl, ip));
            records.push(addressRecord(host, ttl, ip));
            if (ep.hostname) records.push({ type: Type.PTR, name: reverseName(ip), ttl, target: host });
            for (const port of slice.ports) {
              const rr = { type: Type.SRV, ttl, priority: 0, weight: 100, port: port.port, target: host } as const;
              srv.push({ ...rr, name: base });
              if (port.name) srv.push({ ...rr, name: srvName(port, base) });
            }
          }
        }
      }
      break;
    }
  }
  records.push(...weighSrv(srv));
  return { records, names: [] };
}

/** SRV weight: each record of an RRset gets an equal share of 100 (CoreDNS's floor(100/N)). */
function weighSrv(srv: readonly SrvRecord[]): SrvRecord[] {
  const counts = new Map<string, number>();
  for (const r of srv) counts.set(r.name, (counts.get(r.name) ?? 0) + 1);
  return srv.map((r) => ({ ...r, weight: Math.floor(100 / (counts.get(r.name) ?? 1)) }));
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
  const records = pod.ips.map((ip) => addressRecord(`${dashedIP(ip)}.${pod.namespace}.pod.${zone.domain}`, zone.ttl, ip));
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
