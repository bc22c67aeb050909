import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { batches, diffKeys } from './reconcile.js';
import { isOwnedKey, wantedKeys } from './layout.js';
import type { ClusterObject } from '../records/objects.js';

test('diff: puts for new and changed keys first, then deletes; nothing for equal keys', () => {
  const ops = diffKeys(new Map([['a', '1'], ['b', '2'], ['c', '3']]), new Map([['a', '1'], ['b', 'old'], ['d', '4']]));
  assert.deepEqual(ops, [
    { type: 'put', key: 'b', value: '2' },
    { type: 'put', key: 'c', value: '3' },
    { type: 'delete', key: 'd' },
  ]);
});

test('applying the diff gives exactly the wanted keys (property)', () => {
  const kv = fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), fc.string({ maxLength: 3 }));
  fc.assert(
    fc.property(kv, kv, fc.integer({ min: 1, max: 7 }), (w, a, max) => {
      const wanted = new Map(Object.entries(w));
      const actual = new Map(Object.entries(a));
      const ops = diffKeys(wanted, actual);
      const seenDelete = ops.findIndex((o) => o.type === 'delete');
      if (seenDelete >= 0) assert.ok(ops.slice(seenDelete).every((o) => o.type === 'delete'), 'puts before deletes');
      for (const batch of batches(ops, max)) {
        assert.ok(batch.length <= max);
        for (const op of batch) op.type === 'put' ? actual.set(op.key, op.value!) : actual.delete(op.key);
      }
      assert.deepEqual(new Map([...actual].sort()), new Map([...wanted].sort()));
    }),
  );
});

test('layout: keys and values for each kind of Service, and which keys the bridge owns', () => {
  const objects: ClusterObject[] = [
    { kind: 'Namespace', name: 'ns1' },
    { kind: 'Service', namespace: 'ns1', name: 'web', type: 'ClusterIP', clusterIPs: ['10.96.0.5'], externalName: '', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], publishNotReadyAddresses: false },
    { kind: 'Service', namespace: 'ns1', name: 'ext', type: 'ExternalName', clusterIPs: [], externalName: 'example.com', ports: [], publishNotReadyAddresses: false },
    { kind: 'Service', namespace: 'ns1', name: 'db', type: 'Headless', clusterIPs: [], externalName: '', ports: [], publishNotReadyAddresses: false },
    {
      kind: 'EndpointSlice', namespace: 'ns1', name: 'db-1', serviceName: 'db', fromEndpoints: false,
      ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      endpoints: [
        { addresses: ['10.244.0.1'], ready: true, hostname: 'db-0', podName: 'db-0' },
        { addresses: ['10.244.0.2'], ready: false, hostname: 'db-1', podName: 'db-1' },
      ],
    },
  ];
  const opts = { prefix: '/skydns', domain: 'cluster.local', ttl: 30 };
  const keys = Object.fromEntries(wantedKeys(objects, opts));
  const svc = '/skydns/local/cluster/svc/ns1';
  const pick = (prefix: string) => Object.entries(keys).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), JSON.parse(v)]);
  assert.deepEqual(keys[svc], '{"ttl":30}');
  assert.deepEqual(pick(`${svc}/web/`).map(([k, v]) => [k.replace(/[0-9a-f]{8}/, 'ID'), v]).sort(), [
    ['ID', { host: '10.96.0.5', port: 80, targetstrip: 1, ttl: 30 }],
    ['_tcp/_http/ID', { host: 'web.ns1.svc.cluster.local', port: 80, ttl: 30 }],
  ]);
  assert.deepEqual(pick(`${svc}/ext/`).map(([, v]) => v), [{ host: 'example.com', ttl: 30 }]);
  assert.deepEqual(pick(`${svc}/db/`).map(([k, v]) => [k.replace(/^[0-9a-f]{8}$/, 'ID'), v]).sort(), [
    ['ID', { host: 'db-0.db.ns1.svc.cluster.local', port: 5432, ttl: 30 }],
    ['_tcp/_pg/db-0', { host: 'db-0.db.ns1.svc.cluster.local', port: 5432, ttl: 30 }],
    ['db-0', { host: '10.244.0.1', ttl: 30 }],
  ]);
  assert.deepEqual(JSON.parse(keys['/skydns/arpa/in-addr/10/96/0/5']), { host: 'web.ns1.svc.cluster.local', ttl: 30 });
  assert.deepEqual(JSON.parse(keys['/skydns/arpa/in-addr/10/244/0/1']), { host: 'db-0.db.ns1.svc.cluster.local', ttl: 30 });
  for (const [k, v] of Object.entries(keys)) assert.ok(isOwnedKey(k, v, opts), k);
  assert.equal(isOwnedKey('/skydns/arpa/in-addr/10/0/0/1', '{"host":"reverse.example.com"}', opts), false);
  assert.equal(isOwnedKey('/skydns/local/cluster/other', '{}', opts), false);
});
