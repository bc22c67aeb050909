import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '../dns/constants.js';
import { rrText, type RR } from '../dns/rr.js';
import type { Reply } from '../dns/wire.js';
import { apexRecords, namespaceRecords, podRecords, serviceRecords, type ClusterZone, type PodMode } from '../records/kubernetes.js';
import type { ClusterObject, EndpointSliceObject, PodObject, ServiceObject } from '../records/objects.js';
import { objectKey } from '../records/objects.js';
import { ClusterState } from '../sources/cluster-state.js';
import { ZoneLookup } from './lookup.js';
import { parentOf, RecordStore, type Change } from './store.js';
import { mulberry32 as rng } from '../../test/helpers/random.mjs';

/**
 * ClusterRecords computes Service and Pod records when a name is asked. These tests hold it to
 * the plain way: every record built by the pure builders and stored as itself. Both answer every
 * name either one knows, its parents, near misses and reverse names, before and after changes.
 */

/** A small cluster with the awkward cases: shared addresses, dual stack, duplicate ports, unready endpoints, hostNetwork Pods. */
function cluster(seed: number): ClusterObject[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const out: ClusterObject[] = [];
  const nss = ['default', 'shop', 'kube-system', 'empty'];
  for (const ns of nss.slice(0, 3)) out.push({ kind: 'Namespace', name: ns });
  // Addresses from small pools, so Services and Pods share some.
  const v4 = () => `10.${pick([0, 96])}.${Math.floor(r() * 3)}.${1 + Math.floor(r() * 6)}`;
  const v6 = () => `fd00::${(1 + Math.floor(r() * 6)).toString(16)}`;
  const ip = () => (r() < 0.2 ? v6() : v4());
  for (let i = 0; i < 30; i++) {
    const ns = pick(nss);
    const name = `s${i}`;
    const kind = r();
    const ports = [
      { name: pick(['http', 'dns', '']), port: pick([53, 80, 443]), protocol: pick(['TCP', 'UDP'] as const) },
      { name: pick(['http', 'dns', 'grpc']), port: pick([53, 80, 9090]), protocol: pick(['TCP', 'UDP'] as const) },
    ].slice(0, 1 + Math.floor(r() * 2));
    if (kind < 0.4) {
      const clusterIPs = r() < 0.2 ? [v4(), v6()] : [ip()];
      out.push({ kind: 'Service', namespace: ns, name, type: 'ClusterIP', clusterIPs, externalName: '', ports, publishNotReadyAddresses: false });
    } else if (kind < 0.5) {
      const externalName = pick(['api.example.com', `s0.default.svc.cluster.local`, 'nowhere.shop.svc.cluster.local']);
      out.push({ kind: 'Service', namespace: ns, name, type: 'ExternalName', clusterIPs: [], externalName, ports: [], publishNotReadyAddresses: false });
    } else {
      out.push({ kind: 'Service', namespace: ns, name, type: 'Headless', clusterIPs: [], externalName: '', ports, publishNotReadyAddresses: r() < 0.2 });
      const slices = 1 + Math.floor(r() * 2);
      for (let k = 0; k < slices; k++) {
        const endpoints = [];
        for (let e = 0; e < Math.floor(r() * 5); e++) {
          endpoints.push({ addresses: [ip()], ready: r() < 0.8, hostname: r() < 0.5 ? pick(['a', 'b', 'web-0', 'web-1']) : '', podName: r() < 0.5 ? `p${e}` : '' });
        }
        const slice: EndpointSliceObject = { kind: 'EndpointSlice', namespace: ns, name: `${name}-${k}`, serviceName: name, endpoints, ports, fromEndpoints: r() < 0.2 };
        out.push(slice);
      }
    }
  }
  for (let p = 0; p < 25; p++) {
    const ips = r() < 0.2 ? [v4(), v6()] : [ip()];
    out.push({ kind: 'Pod', namespace: pick(nss), name: `pod${p}`, ips, hostNetwork: r() < 0.2 });
  }
  return out;
}

/** The reference: every record from the builders, held as itself. */
function materialized(zone: ClusterZone, objects: readonly ClusterObject[]): RecordStore {
  const store = new RecordStore();
  const slices = new Map<string, EndpointSliceObject[]>();
  for (const o of objects) if (o.kind === 'EndpointSlice') slices.set(`${o.namespace}/${o.serviceName}`, [...(slices.get(`${o.namespace}/${o.serviceName}`) ?? []), o]);
  const changes: Change[] = [];
  let kubeDNS: ServiceObject | undefined;
  for (const o of objects) {
    if (o.kind === 'Namespace') changes.push({ owner: objectKey(o), set: namespaceRecords(zone, o) });
    if (o.kind === 'Service') {
      changes.push({ owner: objectKey(o), set: serviceRecords(zone, o, slices.get(`${o.namespace}/${o.name}`) ?? []) });
      if (o.namespace === 'kube-system' && o.name === 'kube-dns') kubeDNS = o;
    }
    if (o.kind === 'Pod') changes.push({ owner: objectKey(o), set: podRecords(zone, o) });
  }
  changes.push({ owner: 'apex', set: apexRecords(zone, kubeDNS?.clusterIPs ?? []) });
  store.apply(changes);
  return store;
}

/** Every name the reference holds, their parents, and names one label off. */
function namesToAsk(store: RecordStore, zone: ClusterZone): string[] {
  const names = new Set<string>();
  const held = [...(store as unknown as { nodes: Map<string, unknown> }).nodes.keys()];
  for (const n of held) {
    for (let p: string | null = n; p !== null && p !== ''; p = parentOf(p)) names.add(p);
    names.add(`x.${n}`);
    names.add(n.replace(/^[^.]*/, 'zz'));
  }
  for (const extra of [`s1.nowhere.svc.${zone.domain}`, `empty.svc.${zone.domain}`, `10-0-0-1.default.pod.${zone.domain}`, `10-00-0-1.default.pod.${zone.domain}`, '9.9.9.10.in-addr.arpa', '01.0.0.10.in-addr.arpa']) names.add(extra);
  return [...names].sort();
}

/**
 * A reply as comparable text: the SOA serial depends on when each store changed, so it is left
 * out; records are compared as sets, since the stored way repeats a Pod's A record for each of
 * two Pods at one IP (hostNetwork) where the computed one gives it once (RFC 2181 5).
 */
function shape(reply: Reply | null): string {
  if (reply === null) return 'null';
  const text = (rrs: readonly RR[]) => [...new Set(rrs.map((rr) => (rr.type === Type.SOA ? `SOA ${rr.name}` : rrText(rr))))].sort();
  return JSON.stringify({ rcode: reply.rcode, answer: text(reply.answer), authority: text(reply.authority), additional: text(reply.additional) });
}

const TYPES = [Type.A, Type.AAAA, Type.SRV, Type.PTR, Type.CNAME, Type.ANY, Type.TXT];

/**
 * Asks both stores every name the reference knows now and every name asked before (in `seen`):
 * a name whose owner went away must go with it, parents included.
 */
function compare(zone: ClusterZone, objects: readonly ClusterObject[], state: ClusterState, store: RecordStore, label: string, seen: Set<string>): number {
  const ref = materialized(zone, objects);
  const want = new ZoneLookup(ref, { zone, fallthroughReverse: false });
  const got = new ZoneLookup(store, { zone, fallthroughReverse: false });
  let asked = 0;
  for (const name of namesToAsk(ref, zone)) seen.add(name);
  for (const name of seen) {
    for (const t of TYPES) {
      assert.equal(shape(got.lookup(name, t)), shape(want.lookup(name, t)), `${label}: ${name} type ${t}`);
      asked++;
    }
    assert.equal(store.exists(name), ref.exists(name), `${label}: ${name} exists`);
  }
  assert.ok(state.objectCount > 0);
  return asked;
}

for (const pods of ['disabled', 'insecure', 'verified'] as PodMode[]) {
  test(`computed records answer as stored records would, --pods ${pods}`, () => {
    const zone: ClusterZone = { domain: 'cluster.local', ttl: 5, pods, endpointPodNames: pods === 'verified' };
    for (let seed = 1; seed <= 12; seed++) {
      let objects = cluster(seed);
      const store = new RecordStore();
      const state = new ClusterState(store, zone, 'm');
      state.reset(objects);
      const seen = new Set<string>();
      const asked = compare(zone, objects, state, store, `seed ${seed} after reset`, seen);
      assert.ok(asked > 500, `seed ${seed}: ${asked} questions`);

      // Changes one by one, as a watch delivers them: deletes, updates and new objects.
      const r = rng(seed * 7919);
      const fresh = cluster(seed + 1000);
      for (let step = 0; step < 6; step++) {
        const victim = objects[Math.floor(r() * objects.length)];
        const incoming = fresh[Math.floor(r() * fresh.length)];
        objects = objects.filter((o) => objectKey(o) !== objectKey(victim) && objectKey(o) !== objectKey(incoming));
        objects.push(incoming);
        state.apply([incoming], [objectKey(victim)].filter((k) => k !== objectKey(incoming)));
        compare(zone, objects, state, store, `seed ${seed} step ${step}`, seen);
      }
    }
  });
}

test('a Pod that leaves takes its name with it, and a Pod that shares an IP keeps the name', () => {
  const zone: ClusterZone = { domain: 'cluster.local', ttl: 5, pods: 'verified', endpointPodNames: false };
  const store = new RecordStore();
  const state = new ClusterState(store, zone, 'm');
  const pod = (name: string, hostNetwork: boolean): PodObject => ({ kind: 'Pod', namespace: 'default', name, ips: ['10.0.0.9'], hostNetwork });
  state.reset([pod('a', true), pod('b', true)]);
  const lookup = new ZoneLookup(store, { zone, fallthroughReverse: false });
  const name = '10-0-0-9.default.pod.cluster.local';
  assert.equal(lookup.lookup(name, Type.A)!.answer.length, 1);
  state.apply([], ['Pod/default/a']);
  assert.equal(lookup.lookup(name, Type.A)!.answer.length, 1);
  state.apply([], ['Pod/default/b']);
  assert.equal(lookup.lookup(name, Type.A)!.rcode, 3);
  assert.equal(store.exists('default.pod.cluster.local'), false);
});
