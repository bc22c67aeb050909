import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Rcode, Type } from '../dns/constants.js';
import { decodeQuery, encodeQuery, encodeReply } from '../dns/wire.js';
import type { ClusterZone, PodMode } from '../records/kubernetes.js';
import { headless } from '../../test/helpers/objects.js';
import { ClusterState } from '../sources/cluster-state.js';
import { parseManifests } from '../sources/manifests/parse.js';
import { ZoneLookup } from './lookup.js';
import { RecordStore } from './store.js';
import { casesFor, FIXTURE_DIR, TTL } from '../../test/helpers/spec-cases.js';
import { assertCase } from '../../test/helpers/assert-case.js';
import { parseReply } from '../../test/helpers/dns-client.js';
import { parseType } from '../dns/constants.js';
import type { ClusterObject } from '../records/objects.js';

function fixtureObjects(): ClusterObject[] {
  const out: ClusterObject[] = [];
  for (const f of readdirSync(FIXTURE_DIR).sort()) {
    const r = parseManifests(readFileSync(join(FIXTURE_DIR, f), 'utf8'), f);
    assert.deepEqual(r.errors, [], `fixture ${f} parses`);
    out.push(...r.objects);
  }
  return out;
}

function build(pods: PodMode) {
  const zone: ClusterZone = { domain: 'cluster.local', ttl: TTL, pods, endpointPodNames: false };
  const store = new RecordStore();
  const state = new ClusterState(store, zone, 'test');
  state.reset(fixtureObjects());
  return { store, state, lookup: new ZoneLookup(store, { zone, fallthroughReverse: false }) };
}

/** Runs the lookup and sends its reply through the encoder and an independent decoder. */
function ask(lookup: ZoneLookup, qname: string, qtype: string, rotation = 0) {
  const t = parseType(qtype)!;
  const d = decodeQuery(encodeQuery({ id: 1, name: qname, type: t, edns: { payload: 1232 } }));
  assert.equal(d.kind, 'query');
  const q = d.kind === 'query' ? d.query : null!;
  const reply = lookup.lookup(q.lname, q.qtype, rotation) ?? { rcode: Rcode.REFUSED, aa: false, answer: [], authority: [], additional: [] };
  return parseReply(encodeReply(q, reply, 65535));
}

for (const pods of ['disabled', 'insecure', 'verified'] as const) {
  test(`specification cases, pure lookup, --pods ${pods}`, () => {
    const { lookup } = build(pods);
    for (const c of casesFor(pods)) assertCase(ask(lookup, c.qname, c.qtype), c, `lookup/${pods}`);
  });
}

test('names outside the served zones are not answered by the zone', () => {
  const { lookup } = build('disabled');
  assert.equal(lookup.lookup('example.com', Type.A), null);
  assert.equal(lookup.lookup('cluster.local.example.com', Type.A), null);
  assert.equal(lookup.lookup('notcluster.local', Type.A), null);
});

test('unknown reverse names fall through when forwarding is configured', () => {
  const zone: ClusterZone = { domain: 'cluster.local', ttl: TTL, pods: 'disabled', endpointPodNames: false };
  const store = new RecordStore();
  new ClusterState(store, zone, 'test').reset(fixtureObjects());
  const lookup = new ZoneLookup(store, { zone, fallthroughReverse: true });
  assert.equal(lookup.lookup('9.9.9.9.in-addr.arpa', Type.PTR), null);
  assert.notEqual(lookup.lookup('1.1.96.10.in-addr.arpa', Type.PTR), null);
});

test('multiple A records rotate between answers', () => {
  const { lookup } = build('disabled');
  const firsts = new Set<string>();
  for (let i = 0; i < 3; i++) firsts.add(ask(lookup, 'hdls.ns1.svc.cluster.local', 'A', i).answer[0]);
  assert.equal(firsts.size, 3);
});

test('--endpoint-pod-names names endpoints without hostname by their pod', () => {
  const zone: ClusterZone = { domain: 'cluster.local', ttl: TTL, pods: 'disabled', endpointPodNames: true };
  const store = new RecordStore();
  const state = new ClusterState(store, zone, 'test');
  state.reset(headless('a', 'h', [{ addresses: ['10.1.0.1'], podName: 'web-7f9c' }]));
  const lookup = new ZoneLookup(store, { zone, fallthroughReverse: false });
  assert.deepEqual(ask(lookup, 'web-7f9c.h.a.svc.cluster.local', 'A').answer, ['web-7f9c.h.a.svc.cluster.local. 5 IN A 10.1.0.1']);
});

test('a batch replaces exactly what its owner had; deletes remove names and empty parents', () => {
  const { store, state, lookup } = build('disabled');
  const gen = store.generation;
  state.apply([], ['Service/ns1/svc1']);
  assert.equal(store.generation, gen + 1);
  assert.equal(ask(lookup, 'svc1.ns1.svc.cluster.local', 'A').rcode, 'NXDOMAIN');
  assert.equal(ask(lookup, '_tcp.svc1.ns1.svc.cluster.local', 'SRV').rcode, 'NXDOMAIN');
  assert.equal(ask(lookup, '1.1.96.10.in-addr.arpa', 'PTR').rcode, 'NXDOMAIN');
  // The namespace still exists (its Namespace object and other Services).
  assert.equal(ask(lookup, 'ns1.svc.cluster.local', 'A').rcode, 'NOERROR');
  // Moving an endpoint slice to another Service rebuilds both.
  state.apply(
    [
      {
        kind: 'EndpointSlice',
        namespace: 'ns1',
        name: 'hdls-b',
        serviceName: 'notready',
        fromEndpoints: false,
        ports: [],
        endpoints: [{ addresses: ['10.244.0.4'], ready: true, hostname: 'pod-d', podName: '' }],
      },
    ],
    [],
  );
  assert.equal(ask(lookup, 'pod-d.hdls.ns1.svc.cluster.local', 'A').rcode, 'NXDOMAIN');
  assert.equal(ask(lookup, 'pod-d.notready.ns1.svc.cluster.local', 'A').answer.length, 1);
});

test('a reset with the same objects changes nothing; the SOA serial moves only with changes', () => {
  const { store, state, lookup } = build('disabled');
  const gen = store.generation;
  state.reset(fixtureObjects());
  assert.equal(store.generation, gen);
  const before = lookup.soa('cluster.local').serial;
  state.apply([], ['Service/ns1/dual']);
  assert.ok(lookup.soa('cluster.local').serial > before);
});
