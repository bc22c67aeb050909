import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rcode, Type } from '../dns/constants.js';
import { chain, protocolGuard, type Request } from '../dns/handler.js';
import { decodeQuery, encodeQuery, type Reply } from '../dns/wire.js';
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

test('before the first load, cluster names get SERVFAIL (not NXDOMAIN) and other names pass on', () => {
  const store = new RecordStore();
  let ready = false;
  const handle = chain([protocolGuard, clusterHandler(new ZoneLookup(store, { zone, fallthroughReverse: false }), () => ready)]);
  const cases: [string, boolean, number][] = [
    ['kubernetes.default.svc.cluster.local', false, Rcode.SERVFAIL],
    ['1.0.96.10.in-addr.arpa', false, Rcode.SERVFAIL],
    ['example.com', false, Rcode.REFUSED],
    ['kubernetes.default.svc.cluster.local', true, Rcode.NXDOMAIN],
  ];
  for (const [name, isReady, rcode] of cases) {
    ready = isReady;
    if (isReady) new ClusterState(store, zone, 't').reset([]);
    assert.equal((handle(request(name)) as Reply).rcode, rcode, `${name} ready=${isReady}`);
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
