import { createHash } from 'node:crypto';
import { reverseName } from '../dns/rr.js';
import { dashedIP } from '../records/kubernetes.js';
import type { ClusterObject, EndpointSliceObject, ServiceObject } from '../records/objects.js';
import { formatSkyDnsValue, nameToKey, type SkyDnsService } from '../records/skydns.js';

/**
 * The keys the bridge wants in etcd for a set of Kubernetes objects, in the SkyDNS layout
 * (pure: objects in, key -> JSON value out). With B = `<svc>.<ns>.svc.<domain>`:
 * - ClusterIP: `B/<id>` per cluster IP and port `{host: IP, port, targetstrip: 1}` (A/AAAA at
 *   B, and SRV at B whose target is B itself), or `{host: IP}` without ports; `B/_<proto>/_<port>/<id>`
 *   `{host: B, port}` per named port; a reverse key per cluster IP `{host: B}`.
 * - Headless: `B/<label>` per ready endpoint `{host: IP}` (label: hostname, else the dashed IP),
 *   `B/<id>` `{host: <label>.B, port}` per endpoint and port (SRV at B), `B/_<proto>/_<port>/<label>`
 *   `{host: <label>.B, port}` per named port, and a reverse key per endpoint with a hostname.
 * - ExternalName: `B/<id>` `{host: <external name>}` (a CNAME).
 * - A namespace: `svc/<ns>` `{}` (the name exists, with no records).
 * - kube-system/kube-dns: `dns/ns/kube-dns` `{host: IP}`, the address of ns.dns.<domain>.
 * Every value carries the TTL. Ids are short hashes of what the key holds, so a key's value
 * changes only when its record does.
 */

export interface LayoutOptions {
  readonly prefix: string;
  /** Lowercase, no trailing dot. */
  readonly domain: string;
  readonly ttl: number;
}

export function wantedKeys(objects: readonly ClusterObject[], opts: LayoutOptions): Map<string, string> {
  const out = new Map<string, string>();
  const put = (name: string, v: Partial<SkyDnsService>) => out.set(nameToKey(opts.prefix, name), formatSkyDnsValue({ ...v, ttl: opts.ttl }));
  const services: ServiceObject[] = [];
  const slices = new Map<string, EndpointSliceObject[]>();
  for (const o of objects) {
    if (o.kind === 'Namespace') put(`${o.name}.svc.${opts.domain}`, {});
    else if (o.kind === 'Service') services.push(o);
    else if (o.kind === 'EndpointSlice') {
      const k = `${o.namespace}/${o.serviceName}`;
      const list = slices.get(k);
      if (list) list.push(o);
      else slices.set(k, [o]);
    }
  }
  for (const svc of services) {
    const base = `${svc.name}.${svc.namespace}.svc.${opts.domain}`;
    switch (svc.type) {
      case 'ExternalName':
        put(`${id(svc.externalName)}.${base}`, { host: svc.externalName });
        break;
      case 'ClusterIP':
        for (const ip of svc.clusterIPs) {
          if (svc.ports.length === 0) put(`${id(ip)}.${base}`, { host: ip });
          for (const p of svc.ports) put(`${id(`${ip} ${p.port} ${p.protocol}`)}.${base}`, { host: ip, port: p.port, targetstrip: 1 });
          put(reverseName(ip), { host: base });
        }
        for (const p of svc.ports) {
          if (p.name) put(`${id(`${p.port}`)}._${p.name}._${p.protocol.toLowerCase()}.${base}`, { host: base, port: p.port });
        }
        if (svc.namespace === 'kube-system' && svc.name === 'kube-dns') {
          svc.clusterIPs.forEach((ip, i) => put(`kube-dns${i === 0 ? '' : `-${i}`}.ns.dns.${opts.domain}`, { host: ip }));
        }
        break;
      case 'Headless':
        headless(svc, base, slices.get(`${svc.namespace}/${svc.name}`) ?? [], put);
        break;
    }
  }
  return out;
}

function headless(svc: ServiceObject, base: string, slices: readonly EndpointSliceObject[], put: (name: string, v: Partial<SkyDnsService>) => void): void {
  // As the records of the specification: a Service's own slices win over ones mirrored from core/v1 Endpoints.
  const own = slices.some((s) => !s.fromEndpoints);
  const seen = new Set<string>();
  for (const slice of slices) {
    if (own && slice.fromEndpoints) continue;
    const ports = [...slice.ports].sort((a, b) => a.name.localeCompare(b.name) || a.port - b.port);
    for (const ep of slice.endpoints) {
      if (!ep.ready && !svc.publishNotReadyAddresses) continue;
      for (const ip of ep.addresses) {
        const label = ep.hostname || dashedIP(ip);
        const host = `${label}.${base}`;
        if (seen.has(`${host} ${ip}`)) continue;
        // A second address under one label (a dual-stack endpoint) goes one level below it.
        const name = seen.has(host) ? `${id(ip)}.${host}` : host;
        seen.add(host);
        seen.add(`${host} ${ip}`);
        put(name, { host: ip });
        if (ep.hostname) put(reverseName(ip), { host });
        for (const p of ports) {
          // SRV at the Service name: one per endpoint and port, pointing at the endpoint's name.
          put(`${id(`${label} ${p.port} ${p.protocol}`)}.${base}`, { host, port: p.port });
          if (p.name) put(`${label}._${p.name}._${p.protocol.toLowerCase()}.${base}`, { host, port: p.port });
        }
      }
    }
  }
}

/** A short label from what a key holds: stable across runs and bridges. */
function id(s: string): string {
  return createHash('sha1').update(s).digest('hex').slice(0, 8);
}

/**
 * True for keys this bridge manages (and may delete): everything under `svc.<domain>`, the
 * nameserver keys, and reverse keys pointing into `svc.<domain>`. Other keys under the prefix
 * belong to whoever wrote them.
 */
export function isOwnedKey(key: string, value: string, opts: LayoutOptions): boolean {
  const svcRoot = nameToKey(opts.prefix, `svc.${opts.domain}`) + '/';
  if (key.startsWith(svcRoot)) return true;
  if (key.startsWith(nameToKey(opts.prefix, `ns.dns.${opts.domain}`) + '/kube-dns')) return true;
  if (key.startsWith(nameToKey(opts.prefix, 'arpa') + '/')) {
    try {
      const host = (JSON.parse(value) as { host?: unknown }).host;
      return typeof host === 'string' && host.toLowerCase().replace(/\.$/, '').endsWith(`.svc.${opts.domain}`);
    } catch {
      return false;
    }
  }
  return false;
}
