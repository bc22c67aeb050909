/**
 * The Kubernetes DNS-Based Service Discovery specification (1.1.0) as a table of cases over
 * the cluster in test/fixtures/cluster, served with --ttl 5. The same table runs against the
 * pure lookup, the running server over UDP and TCP with our client, and dig.
 * Records compare as sets of zone-file lines; SOA serials show as SERIAL.
 */
import { fileURLToPath } from 'node:url';
import type { PodMode } from '../../src/records/kubernetes.js';

export const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/cluster', import.meta.url));
export const TTL = 5;

export interface Case {
  readonly name: string;
  readonly qname: string;
  readonly qtype: string;
  readonly rcode: 'NOERROR' | 'NXDOMAIN' | 'REFUSED' | 'SERVFAIL';
  readonly answer: readonly string[];
  /** Authority section; the zone's SOA for NXDOMAIN and NODATA. */
  readonly ns?: readonly string[];
  readonly extra?: readonly string[];
  /** Pod mode the case needs; cases without one hold in every mode. */
  readonly pods?: PodMode;
}

const Z = 'cluster.local';
export const SOA = `${Z}. 5 IN SOA ns.dns.${Z}. hostmaster.${Z}. SERIAL 7200 1800 86400 5`;
export const SOA_V4 = 'in-addr.arpa. 5 IN SOA ns.dns.in-addr.arpa. hostmaster.in-addr.arpa. SERIAL 7200 1800 86400 5';
const ns1 = (s: string) => `${s}.ns1.svc.${Z}`;
const nxdomain = (name: string, qname: string, qtype = 'A', extra: Partial<Case> = {}): Case => ({
  name,
  qname,
  qtype,
  rcode: 'NXDOMAIN',
  answer: [],
  ns: [SOA],
  ...extra,
});
const nodata = (name: string, qname: string, qtype = 'A'): Case => ({ name, qname, qtype, rcode: 'NOERROR', answer: [], ns: [SOA] });

export const specCases: readonly Case[] = [
  // 2.1 / 2.3: schema version.
  { name: 'dns-version TXT', qname: `dns-version.${Z}`, qtype: 'TXT', rcode: 'NOERROR', answer: [`dns-version.${Z}. 28800 IN TXT "1.1.0"`] },
  // Zone apex.
  { name: 'apex SOA', qname: Z, qtype: 'SOA', rcode: 'NOERROR', answer: [SOA] },
  {
    name: 'apex NS with glue from kube-dns',
    qname: Z,
    qtype: 'NS',
    rcode: 'NOERROR',
    answer: [`${Z}. 5 IN NS ns.dns.${Z}.`],
    extra: [`ns.dns.${Z}. 5 IN A 10.96.0.10`],
  },
  nodata('apex A is NODATA', Z, 'A'),
  // 2.4.1: ClusterIP Services.
  { name: 'ClusterIP A', qname: `kubernetes.default.svc.${Z}`, qtype: 'A', rcode: 'NOERROR', answer: [`kubernetes.default.svc.${Z}. 5 IN A 10.96.0.1`] },
  { name: 'NodePort A', qname: ns1('svc1'), qtype: 'A', rcode: 'NOERROR', answer: [`${ns1('svc1')}. 5 IN A 10.96.1.1`] },
  nodata('IPv4-only Service AAAA is NODATA', ns1('svc1'), 'AAAA'),
  nodata('Service TXT is NODATA', ns1('svc1'), 'TXT'),
  { name: 'dual-stack A', qname: ns1('dual'), qtype: 'A', rcode: 'NOERROR', answer: [`${ns1('dual')}. 5 IN A 10.96.1.2`] },
  { name: 'dual-stack AAAA', qname: ns1('dual'), qtype: 'AAAA', rcode: 'NOERROR', answer: [`${ns1('dual')}. 5 IN AAAA fd00::2`] },
  { name: 'IPv6-only AAAA', qname: ns1('v6only'), qtype: 'AAAA', rcode: 'NOERROR', answer: [`${ns1('v6only')}. 5 IN AAAA fd00::3`] },
  nodata('IPv6-only A is NODATA', ns1('v6only'), 'A'),
  // 2.4.2: SRV for named ports.
  {
    name: 'SRV named TCP port',
    qname: `_http._tcp.${ns1('svc1')}`,
    qtype: 'SRV',
    rcode: 'NOERROR',
    answer: [`_http._tcp.${ns1('svc1')}. 5 IN SRV 0 100 80 ${ns1('svc1')}.`],
    extra: [`${ns1('svc1')}. 5 IN A 10.96.1.1`],
  },
  {
    name: 'SRV named UDP port',
    qname: `_dns._udp.${ns1('svc1')}`,
    qtype: 'SRV',
    rcode: 'NOERROR',
    answer: [`_dns._udp.${ns1('svc1')}. 5 IN SRV 0 100 53 ${ns1('svc1')}.`],
    extra: [`${ns1('svc1')}. 5 IN A 10.96.1.1`],
  },
  nxdomain('SRV with the wrong protocol', `_http._udp.${ns1('svc1')}`, 'SRV'),
  nxdomain('SRV for a port name that does not exist', `_grpc._tcp.${ns1('svc1')}`, 'SRV'),
  nodata('protocol label alone is an empty non-terminal', `_tcp.${ns1('svc1')}`, 'SRV'),
  {
    name: 'SRV at the Service name lists every port',
    qname: ns1('svc1'),
    qtype: 'SRV',
    rcode: 'NOERROR',
    answer: [
      `${ns1('svc1')}. 5 IN SRV 0 33 80 ${ns1('svc1')}.`,
      `${ns1('svc1')}. 5 IN SRV 0 33 53 ${ns1('svc1')}.`,
      `${ns1('svc1')}. 5 IN SRV 0 33 8080 ${ns1('svc1')}.`,
    ],
    extra: [`${ns1('svc1')}. 5 IN A 10.96.1.1`],
  },
  // 2.4.3: PTR for cluster IPs.
  { name: 'PTR IPv4 cluster IP', qname: '1.1.96.10.in-addr.arpa', qtype: 'PTR', rcode: 'NOERROR', answer: [`1.1.96.10.in-addr.arpa. 5 IN PTR ${ns1('svc1')}.`] },
  {
    name: 'PTR IPv6 cluster IP',
    qname: '2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa',
    qtype: 'PTR',
    rcode: 'NOERROR',
    answer: [`2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa. 5 IN PTR ${ns1('dual')}.`],
  },
  nxdomain('PTR for an address the cluster does not know', '9.9.9.9.in-addr.arpa', 'PTR', { ns: [SOA_V4] }),
  { name: 'reverse empty non-terminal', qname: '96.10.in-addr.arpa', qtype: 'PTR', rcode: 'NOERROR', answer: [], ns: [SOA_V4] },
  // 2.4.4 / 2.5: headless Services.
  {
    name: 'headless A lists ready endpoints of every slice',
    qname: ns1('hdls'),
    qtype: 'A',
    rcode: 'NOERROR',
    answer: [`${ns1('hdls')}. 5 IN A 10.244.0.1`, `${ns1('hdls')}. 5 IN A 10.244.0.2`, `${ns1('hdls')}. 5 IN A 10.244.0.4`],
  },
  { name: 'headless endpoint hostname', qname: `pod-a.${ns1('hdls')}`, qtype: 'A', rcode: 'NOERROR', answer: [`pod-a.${ns1('hdls')}. 5 IN A 10.244.0.1`] },
  { name: 'headless endpoint by dashed IP', qname: `10-244-0-2.${ns1('hdls')}`, qtype: 'A', rcode: 'NOERROR', answer: [`10-244-0-2.${ns1('hdls')}. 5 IN A 10.244.0.2`] },
  nxdomain('headless endpoint that is not ready', `pod-c.${ns1('hdls')}`),
  {
    name: 'headless SRV per endpoint with glue',
    qname: `_http._tcp.${ns1('hdls')}`,
    qtype: 'SRV',
    rcode: 'NOERROR',
    answer: [
      `_http._tcp.${ns1('hdls')}. 5 IN SRV 0 33 80 pod-a.${ns1('hdls')}.`,
      `_http._tcp.${ns1('hdls')}. 5 IN SRV 0 33 80 10-244-0-2.${ns1('hdls')}.`,
      `_http._tcp.${ns1('hdls')}. 5 IN SRV 0 33 80 pod-d.${ns1('hdls')}.`,
    ],
    extra: [`pod-a.${ns1('hdls')}. 5 IN A 10.244.0.1`, `10-244-0-2.${ns1('hdls')}. 5 IN A 10.244.0.2`, `pod-d.${ns1('hdls')}. 5 IN A 10.244.0.4`],
  },
  { name: 'PTR for a headless endpoint with hostname', qname: '1.0.244.10.in-addr.arpa', qtype: 'PTR', rcode: 'NOERROR', answer: [`1.0.244.10.in-addr.arpa. 5 IN PTR pod-a.${ns1('hdls')}.`] },
  nxdomain('no PTR for an endpoint without hostname', '2.0.244.10.in-addr.arpa', 'PTR', { ns: [SOA_V4] }),
  { name: 'headless IPv6 AAAA', qname: ns1('hdls6'), qtype: 'AAAA', rcode: 'NOERROR', answer: [`${ns1('hdls6')}. 5 IN AAAA fd00:244::5`] },
  { name: 'headless IPv6 dashed name', qname: `fd00-244--5.${ns1('hdls6')}`, qtype: 'AAAA', rcode: 'NOERROR', answer: [`fd00-244--5.${ns1('hdls6')}. 5 IN AAAA fd00:244::5`] },
  { name: 'publishNotReadyAddresses serves unready endpoints', qname: ns1('notready'), qtype: 'A', rcode: 'NOERROR', answer: [`${ns1('notready')}. 5 IN A 10.244.1.1`] },
  nxdomain('headless without ready endpoints is NXDOMAIN', ns1('noready')),
  { name: 'core/v1 Endpoints: ready addresses only', qname: ns1('legacy'), qtype: 'A', rcode: 'NOERROR', answer: [`${ns1('legacy')}. 5 IN A 10.244.2.1`] },
  {
    name: 'core/v1 Endpoints: SRV',
    qname: `_web._tcp.${ns1('legacy')}`,
    qtype: 'SRV',
    rcode: 'NOERROR',
    answer: [`_web._tcp.${ns1('legacy')}. 5 IN SRV 0 100 8080 leg-0.${ns1('legacy')}.`],
    extra: [`leg-0.${ns1('legacy')}. 5 IN A 10.244.2.1`],
  },
  // 2.4.5 / 2.6: ExternalName.
  { name: 'ExternalName CNAME', qname: ns1('ext'), qtype: 'A', rcode: 'NOERROR', answer: [`${ns1('ext')}. 5 IN CNAME ext.example.com.`] },
  { name: 'ExternalName CNAME query', qname: ns1('ext'), qtype: 'CNAME', rcode: 'NOERROR', answer: [`${ns1('ext')}. 5 IN CNAME ext.example.com.`] },
  {
    name: 'ExternalName inside the domain is followed',
    qname: ns1('inext'),
    qtype: 'A',
    rcode: 'NOERROR',
    answer: [`${ns1('inext')}. 5 IN CNAME ${ns1('svc1')}.`, `${ns1('svc1')}. 5 IN A 10.96.1.1`],
  },
  // Names that exist without records, and names that do not exist.
  nodata('existing namespace is an empty non-terminal', `ns1.svc.${Z}`),
  nodata('namespace with no Services still exists', `empty-ns.svc.${Z}`),
  nodata('svc subdomain exists', `svc.${Z}`),
  nxdomain('namespace that does not exist', `nope.svc.${Z}`),
  nxdomain('Service that does not exist', ns1('nope')),
  nxdomain('too many labels under a Service', `a.b.${ns1('svc1')}`),
  nxdomain('name in the domain outside svc and pod', `foo.${Z}`),
  // 2.4.x pods: disabled by default.
  nxdomain('pod names with --pods disabled', `10-244-0-1.ns1.pod.${Z}`, 'A', { pods: 'disabled' }),
  // --pods insecure: any well-formed name.
  { name: 'insecure pod A', pods: 'insecure', qname: `10-244-0-1.ns1.pod.${Z}`, qtype: 'A', rcode: 'NOERROR', answer: [`10-244-0-1.ns1.pod.${Z}. 5 IN A 10.244.0.1`] },
  { name: 'insecure pod any namespace', pods: 'insecure', qname: `1-2-3-4.other.pod.${Z}`, qtype: 'A', rcode: 'NOERROR', answer: [`1-2-3-4.other.pod.${Z}. 5 IN A 1.2.3.4`] },
  { name: 'insecure IPv6 pod', pods: 'insecure', qname: `fd00-244--9.ns1.pod.${Z}`, qtype: 'AAAA', rcode: 'NOERROR', answer: [`fd00-244--9.ns1.pod.${Z}. 5 IN AAAA fd00:244::9`] },
  nxdomain('insecure pod with a malformed name', `1-2-3-999.ns1.pod.${Z}`, 'A', { pods: 'insecure' }),
  // --pods verified: only IPs of existing pods in that namespace.
  { name: 'verified pod A', pods: 'verified', qname: `10-244-0-1.ns1.pod.${Z}`, qtype: 'A', rcode: 'NOERROR', answer: [`10-244-0-1.ns1.pod.${Z}. 5 IN A 10.244.0.1`] },
  { name: 'verified IPv6 pod', pods: 'verified', qname: `fd00-244--9.ns1.pod.${Z}`, qtype: 'AAAA', rcode: 'NOERROR', answer: [`fd00-244--9.ns1.pod.${Z}. 5 IN AAAA fd00:244::9`] },
  nxdomain('verified: no such pod', `1-2-3-4.ns1.pod.${Z}`, 'A', { pods: 'verified' }),
  nxdomain('verified: pod in another namespace', `10-244-0-1.default.pod.${Z}`, 'A', { pods: 'verified' }),
];

/** The cases that hold in a given pod mode. */
export function casesFor(pods: PodMode): Case[] {
  return specCases.filter((c) => c.pods === undefined || c.pods === pods);
}
