import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterZone } from '../records/kubernetes.js';
import type { ServiceObject } from '../records/objects.js';
import { RecordStore } from '../zone/store.js';
import { ChangeLog, NAMED_PER_BATCH } from './change-log.js';
import { ClusterState } from './cluster-state.js';

const svc = (name: string): ServiceObject => ({
  kind: 'Service',
  namespace: 'default',
  name,
  type: 'ClusterIP',
  clusterIPs: ['10.96.0.1'],
  externalName: '',
  ports: [],
  publishNotReadyAddresses: false,
  origin: { source: 'manifests', ref: `${name}.yaml#1` },
});

test('change log: newest first, bounded, at most a few objects named per batch', () => {
  let now = 1000;
  const log = new ChangeLog(3, () => now);
  for (let i = 0; i < 5; i++) {
    now += 1;
    log.record('manifests', 'apply', [svc(`s${i}`)], []);
  }
  const r = log.recent();
  assert.deepEqual(r.map((e) => e.objects[0].key), ['Service/default/s4', 'Service/default/s3', 'Service/default/s2']);
  assert.deepEqual(r.map((e) => e.at), [1005, 1004, 1003]);
  assert.equal(log.total, 5);
  log.record('manifests', 'apply', Array.from({ length: 20 }, (_, i) => svc(`m${i}`)), ['Service/default/gone']);
  const big = log.recent()[0];
  assert.equal(big.upserts, 20);
  assert.equal(big.deletes, 1);
  assert.equal(big.objects.length, NAMED_PER_BATCH);
  assert.deepEqual(big.objects[0], { key: 'Service/default/m0', op: 'upsert', origin: { source: 'manifests', ref: 'm0.yaml#1' } });
});

test('cluster state records each batch it applies', () => {
  const zone: ClusterZone = { domain: 'cluster.local', ttl: 5, pods: 'disabled', endpointPodNames: false };
  const state = new ClusterState(new RecordStore(), zone, 'manifests');
  state.reset([svc('a'), svc('b')]);
  state.apply([svc('c')], ['Service/default/a']);
  const [last, first] = state.changes.recent();
  assert.equal(first.op, 'reset');
  assert.equal(first.upserts, 2);
  assert.equal(last.op, 'apply');
  assert.deepEqual(last.objects.map((o) => `${o.op} ${o.key}`), ['upsert Service/default/c', 'delete Service/default/a']);
});
