import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rcode, Type } from '../dns/constants.js';
import { chain, protocolGuard, type Request } from '../dns/handler.js';
import { decodeQuery, encodeQuery, encodeReply, type Reply } from '../dns/wire.js';
import { headless } from '../../test/helpers/objects.js';
import { ClusterState } from '../sources/cluster-state.js';
import { clusterHandler } from './handler.js';
import { ZoneLookup } from './lookup.js';
import { RecordStore } from './store.js';

const zone = { domain: 'cluster.local', ttl: 5, pods: 'disabled', endpointPodNames: false } as const;

function request(name: string, type: number = Type.A): Request {
  const d = decodeQuery(encodeQuery({ id: 1, name, type }));
  if (d.kind !== 'query') throw new Error('bad query');
  return { query: d.query, transport: 'udp', remoteAddress: '127.0.0.1', remotePort: 1 };
}

/** The rcode of a handler's answer, whether a Reply or finished bytes. */
function rcodeOf(out: unknown): number {
  return Buffer.isBuffer(out) ? out[3] & 0x0f : (out as Reply).rcode;
}

test('before the first load, cluster names get SERVFAIL (not NXDOMAIN) and other names pass on', () => {
  const store = new RecordStore();
  let ready = false;
  const handle = chain([protocolGuard, clusterHandler(new ZoneLookup(store, { zone, fallthroughReverse: false }), store, () => ready)]);
  const cases: [string, boolean, number][] = [
    ['kubernetes.default.svc.cluster.local', false, Rcode.SERVFAIL],
    ['1.0.96.10.in-addr.arpa', false, Rcode.SERVFAIL],
    ['example.com', false, Rcode.REFUSED],
    ['kubernetes.default.svc.cluster.local', true, Rcode.NXDOMAIN],
  ];
  for (const [name, isReady, rcode] of cases) {
    ready = isReady;
    if (isReady) new ClusterState(store, zone, 't').reset([]);
    assert.equal(rcodeOf(handle(request(name))), rcode, `${name} ready=${isReady}`);
  }
});

test('after the startup wait, known names are answered and unknown ones stay SERVFAIL until ready', () => {
  const store = new RecordStore();
  let ready = false;
  let started = false;
  const handle = chain([protocolGuard, clusterHandler(new ZoneLookup(store, { zone, fallthroughReverse: false }), store, () => ready, { hits: 0, misses: 0 }, () => started)]);
  new ClusterState(store, zone, 't').reset(headless('default', 'web', [{ addresses: ['10.1.0.1'] }]));
  const cases: [string, boolean, boolean, number][] = [
    ['web.default.svc.cluster.local', false, false, Rcode.SERVFAIL],
    ['web.default.svc.cluster.local', true, false, Rcode.NOERROR],
    ['nope.default.svc.cluster.local', true, false, Rcode.SERVFAIL],
    ['example.com', true, false, Rcode.REFUSED],
    ['nope.default.svc.cluster.local', true, true, Rcode.NXDOMAIN],
  ];
  for (const [name, isStarted, isReady, rcode] of cases) {
    started = isStarted;
    ready = isReady;
    assert.equal(rcodeOf(handle(request(name))), rcode, `${name} started=${isStarted} ready=${isReady}`);
  }
});

test('the protocol guard answers BADVERS, REFUSED and NOTIMP before any zone', () => {
  const handle = chain([protocolGuard]);
  const mk = (edit: (b: Buffer) => void): Request => {
    const b = encodeQuery({ id: 1, name: 'a.cluster.local', type: Type.A, edns: { payload: 1232 } });
    edit(b);
    const d = decodeQuery(b);
    if (d.kind !== 'query') throw new Error('bad query');
    return { query: d.query, transport: 'udp', remoteAddress: '127.0.0.1', remotePort: 1 };
  };
  const qclassAt = 12 + 'a.cluster.local'.length + 2 + 2;
  const cases: [string, (b: Buffer) => void, number][] = [
    ['EDNS version 1', (b) => (b[b.length - 5] = 1), Rcode.BADVERS],
    ['class CH', (b) => b.writeUInt16BE(3, qclassAt), Rcode.REFUSED],
    ['class ANY', (b) => b.writeUInt16BE(255, qclassAt), Rcode.REFUSED],
    ['class 42', (b) => b.writeUInt16BE(42, qclassAt), Rcode.NOTIMP],
    ['AXFR', (b) => b.writeUInt16BE(252, qclassAt - 2), Rcode.REFUSED],
  ];
  for (const [what, edit, rcode] of cases) assert.equal((handle(mk(edit)) as Reply).rcode, rcode, what);
});

test('answers from the encoded-answer cache equal fresh ones, with the ID and case of each query', () => {
  const store = new RecordStore();
  const state = new ClusterState(store, zone, 't');
  const svc = (ip: string) => ({ kind: 'Service', namespace: 'a', name: 's', type: 'ClusterIP', clusterIPs: [ip], externalName: '', ports: [], publishNotReadyAddresses: false }) as const;
  state.reset([svc('10.0.0.1')]);
  const lookup = new ZoneLookup(store, { zone, fallthroughReverse: false });
  const handle = chain([clusterHandler(lookup, store, () => true)]);
  const ask = (name: string, id: number) => {
    const d = decodeQuery(encodeQuery({ id, name, type: Type.A, edns: { payload: 1232 } }));
    if (d.kind !== 'query') throw new Error('bad query');
    const out = handle({ query: d.query, transport: 'udp', remoteAddress: '127.0.0.1', remotePort: 1 });
    assert.ok(Buffer.isBuffer(out));
    return { wire: out, fresh: encodeReply(d.query, lookup.lookup(d.query.lname, d.query.qtype)!, 1232) };
  };
  const cases: [string, number][] = [
    ['s.a.svc.cluster.local', 1],
    ['s.a.svc.cluster.local', 2],
    ['S.A.SVC.Cluster.Local', 3],
    ['nope.a.svc.cluster.local', 4],
    ['nope.a.svc.cluster.local', 5],
  ];
  for (const [name, id] of cases) {
    const { wire, fresh } = ask(name, id);
    assert.deepEqual(wire, fresh, `${name} id ${id}`);
    assert.equal(wire.readUInt16BE(0), id);
  }
  // A change to the data is seen at once: the cache belongs to one generation.
  state.reset([svc('10.0.0.2')]);
  const { wire } = ask('s.a.svc.cluster.local', 6);
  assert.deepEqual([...wire.subarray(wire.length - 15, wire.length - 11)], [10, 0, 0, 2]);
});

test('cached multi-record answers still rotate', () => {
  const store = new RecordStore();
  const state = new ClusterState(store, zone, 't');
  state.reset(headless('a', 'h', [1, 2, 3].map((i) => ({ addresses: [`10.0.0.${i}`] }))));
  const handle = chain([clusterHandler(new ZoneLookup(store, { zone, fallthroughReverse: false }), store, () => true)]);
  const firsts = new Set<number>();
  for (let i = 0; i < 9; i++) {
    const out = handle(request('h.a.svc.cluster.local')) as Buffer;
    // The first answer's address: after the header, the question (23 + 4 bytes) and the
    // answer's owner pointer, type, class, TTL and length (12 bytes).
    firsts.add(out[12 + 23 + 4 + 12 + 3]);
  }
  assert.deepEqual([...firsts].sort(), [1, 2, 3]);
});

test('a truncated answer is cached for its size limit only, once; a larger limit gets the whole answer, in rotation', () => {
  const store = new RecordStore();
  const counters = { hits: 0, misses: 0 };
  const handle = chain([protocolGuard, clusterHandler(new ZoneLookup(store, { zone, fallthroughReverse: false }), store, () => true, counters)]);
  const endpoints = Array.from({ length: 40 }, (_, i) => ({ addresses: [`10.1.0.${i + 1}`] }));
  new ClusterState(store, zone, 't').reset(headless('default', 'big', endpoints));
  const ask = (payload?: number, id = 7): Buffer => {
    const d = decodeQuery(encodeQuery({ id, name: 'BIG.default.svc.cluster.local', type: Type.A, ...(payload ? { edns: { payload } } : {}) }));
    if (d.kind !== 'query') throw new Error('bad query');
    return handle({ query: d.query, transport: 'udp', remoteAddress: '127.0.0.1', remotePort: 1 }) as Buffer;
  };
  const answers = (b: Buffer) => b.readUInt16BE(6);
  const first = ask();
  assert.ok(first[2] & 0x02, 'TC without EDNS');
  assert.ok(first.length <= 512);
  assert.deepEqual(counters, { hits: 0, misses: 1 });
  const again = ask(undefined, 8);
  assert.equal(again.readUInt16BE(0), 8, 'its own ID');
  assert.deepEqual(again.subarray(2), first.subarray(2), 'the same cut answer: kept once, not rotated');
  assert.deepEqual(counters, { hits: 1, misses: 1 });
  const firsts = new Set<string>();
  for (let k = 0; k < 16; k++) {
    const whole = ask(4096);
    assert.equal(whole[2] & 0x02, 0, 'no TC with room for 40 records');
    assert.equal(answers(whole), 40);
    firsts.add(whole.subarray(12 + 'BIG.default.svc.cluster.local'.length + 2 + 4).toString('hex').slice(0, 40));
  }
  assert.ok(firsts.size > 1, `whole answers rotate (${firsts.size} orders seen)`);
  assert.equal(counters.misses, 2, 'one more lookup for the larger limit, then hits');
  assert.ok(ask()[2] & 0x02, 'the cut one is still served to a client without EDNS');
});
