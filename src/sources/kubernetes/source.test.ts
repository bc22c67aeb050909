import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { FakeApiServer } from '../../../test/helpers/fake-apiserver.js';
import { FIXTURE_DIR } from '../../../test/helpers/spec-cases.js';
import type { ClusterObject } from '../../records/objects.js';
import { objectKey } from '../../records/objects.js';
import type { ObjectSink } from '../source.js';
import { loadKubeConfig } from './config.js';
import { KubeconfigError } from './errors.js';
import { KubernetesSource } from './source.js';

/** A sink that keeps what it was given and every call, like ClusterState but observable. */
class RecordingSink implements ObjectSink {
  readonly held = new Map<string, ClusterObject>();
  readonly calls: { op: 'reset' | 'apply'; upserts: string[]; deletes: string[] }[] = [];
  failNext = false;

  reset(objects: readonly ClusterObject[]): void {
    if (this.failNext) return this.fail();
    this.held.clear();
    for (const o of objects) this.held.set(objectKey(o), o);
    this.calls.push({ op: 'reset', upserts: objects.map(objectKey), deletes: [] });
  }

  apply(upserts: readonly ClusterObject[], deletes: readonly string[]): void {
    if (this.failNext) return this.fail();
    for (const k of deletes) this.held.delete(k);
    for (const o of upserts) this.held.set(objectKey(o), o);
    this.calls.push({ op: 'apply', upserts: upserts.map(objectKey), deletes: [...deletes] });
  }

  private fail(): void {
    this.failNext = false;
    throw new Error('sink refused the batch');
  }
}

const quiet = pino({ level: 'silent' });

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const service = (name: string, ip: string, ns = 'ns1') => ({ kind: 'Service', metadata: { name, namespace: ns }, spec: { clusterIP: ip, ports: [{ name: 'http', port: 80 }] } });

async function setup(options: { pods?: boolean; resyncMs?: number } = {}) {
  const api = await FakeApiServer.start();
  api.loadDirectory(FIXTURE_DIR);
  const sink = new RecordingSink();
  const source = new KubernetesSource({ sink, logger: quiet, kubeconfig: api.writeKubeconfig(), pageSize: 4, backoff: { initialMs: 20, maxMs: 200 }, resyncMs: 0, ...options });
  await source.start();
  await source.synced();
  return { api, sink, source, stop: async () => (await source.stop(), await api.stop()) };
}

test('the first lists deliver slim objects only: no managedFields, labels or status kept beyond what DNS reads', async () => {
  const { sink, source, stop } = await setup({ pods: true });
  try {
    assert.equal(source.status().synced, true);
    assert.deepEqual(sink.calls.map((c) => c.op), ['reset'], 'the complete set in one reset()');
    const svc = sink.held.get('Service/ns1/svc1');
    assert.ok(svc && svc.kind === 'Service', 'svc1 delivered');
    assert.deepEqual(Object.keys(svc).sort(), ['clusterIPs', 'externalName', 'kind', 'name', 'namespace', 'origin', 'ports', 'publishNotReadyAddresses', 'type']);
    assert.deepEqual(svc.origin, { source: 'kubernetes', ref: '/api/v1/namespaces/ns1/services' });
    const pod = sink.held.get('Pod/ns1/pod-a');
    assert.ok(pod && pod.kind === 'Pod', 'pod-a delivered');
    assert.deepEqual(Object.keys(pod).sort(), ['hostNetwork', 'ips', 'kind', 'name', 'namespace', 'origin']);
    // The mirrored core/v1 Endpoints arrive as a slice of their Service.
    assert.ok([...sink.held.values()].some((o) => o.kind === 'EndpointSlice' && o.serviceName === 'legacy'), 'the mirrored slice');
    assert.equal(source.status().objects, sink.held.size);
  } finally {
    await stop();
  }
});

test('a relist is one batch of exactly the differences; unchanged objects are not delivered again', async () => {
  const { api, sink, source, stop } = await setup();
  try {
    api.put(service('keep', '10.97.0.1'));
    api.put(service('change', '10.97.0.2'));
    api.put(service('drop', '10.97.0.3'));
    await until('watched', () => sink.held.has('Service/ns1/drop'));
    await api.down();
    api.put(service('change', '10.97.0.22'));
    api.remove('Service', 'ns1', 'drop');
    api.put(service('new', '10.97.0.4'));
    api.compact();
    const before = sink.calls.length;
    await api.up();
    await until('relisted', () => sink.held.has('Service/ns1/new'));
    const relist = sink.calls.slice(before).filter((c) => c.upserts.length + c.deletes.length > 0);
    assert.deepEqual(relist, [{ op: 'apply', upserts: ['Service/ns1/change', 'Service/ns1/new'], deletes: ['Service/ns1/drop'] }]);
    const changed = sink.held.get('Service/ns1/change');
    assert.ok(changed?.kind === 'Service' && changed.clusterIPs[0] === '10.97.0.22', 'the changed Service');
    assert.ok(source.counters.relists.get('services', 'expired') >= 1, 'relists counted');
    assert.ok(source.counters.watchRestarts.get('services', 'expired') >= 1, 'restarts counted');
  } finally {
    await stop();
  }
});

test('a refused batch is delivered again in full with reset()', async () => {
  const { api, sink, source, stop } = await setup();
  try {
    const before = sink.calls.length;
    sink.failNext = true;
    api.put(service('first', '10.97.1.1'));
    await until('failure noted', () => source.status().lastError.includes('sink refused'));
    api.put(service('second', '10.97.1.2'));
    await until('redelivered', () => sink.calls.slice(before).some((c) => c.op === 'reset'));
    assert.ok(sink.held.has('Service/ns1/first') && sink.held.has('Service/ns1/second') && sink.held.has('Service/default/kubernetes'), 'everything redelivered');
    assert.equal(source.status().lastError, '');
  } finally {
    await stop();
  }
});

test('an EndpointSlice change with a trigger time feeds coredns_kubernetes_dns_programming_duration_seconds', async () => {
  const { api, sink, source, stop } = await setup();
  try {
    const at = new Date(Date.now() - 2000).toISOString().replace(/\.\d+Z$/, 'Z');
    api.put({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'hdls-c', namespace: 'ns1', labels: { 'kubernetes.io/service-name': 'hdls' }, annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': at } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.0.9'] }],
    });
    await until('slice', () => sink.held.has('EndpointSlice/ns1/hdls-c'));
    const headless = source.counters.programming.slice(21, 42).reduce((a, b) => a + b, 0);
    assert.equal(headless, 1, 'one observation for a headless Service');
    assert.ok(source.counters.programmingSum[1] >= 1 && source.counters.programmingSum[1] < 60, 'about two seconds observed');
  } finally {
    await stop();
  }
});

test('resync: a change whose event was lost is found by the next relist', async () => {
  const { api, sink, stop } = await setup({ resyncMs: 300 });
  try {
    api.dropNextEvents(1);
    api.put(service('lost', '10.97.2.1'));
    api.put(service('seen', '10.97.2.2'));
    await until('seen', () => sink.held.has('Service/ns1/seen'));
    await until('repaired', () => sink.held.has('Service/ns1/lost'));
  } finally {
    await stop();
  }
});

test('stop() does not wait for a list the server never answers', async () => {
  const api = await FakeApiServer.start();
  api.stall('/api/v1/services');
  const source = new KubernetesSource({ sink: new RecordingSink(), logger: quiet, kubeconfig: api.writeKubeconfig(), startupTimeoutMs: 50, listTimeoutMs: 3_600_000 });
  try {
    await source.start();
    assert.equal(source.status().synced, false);
    const outcome = await Promise.race([source.stop().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still waiting'), 20_000).unref())]);
    assert.equal(outcome, 'stopped');
  } finally {
    await api.stop();
  }
});

test('kubeconfig choices: a clear KubeconfigError for each unusable one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-kubeconfig-'));
  const noCluster = join(dir, 'no-cluster');
  writeFileSync(noCluster, 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n');
  const cases: { choice: Parameters<typeof loadKubeConfig>[0]; message: RegExp }[] = [
    { choice: { path: join(dir, 'missing'), env: {} }, message: /--kubeconfig: '.*missing' does not exist/ },
    { choice: { env: { KUBECONFIG: join(dir, 'missing') } }, message: /^KUBECONFIG: '.*missing' does not exist/ },
    { choice: { path: noCluster, env: {} }, message: /no current context with a cluster/ },
    { choice: { env: {} }, message: /no Kubernetes API configured: pass --kubeconfig PATH or set KUBECONFIG, or run in a pod/ },
  ];
  for (const c of cases) {
    assert.throws(
      () => loadKubeConfig(c.choice),
      (e: unknown) => e instanceof KubeconfigError && e.code === 'CLUSTERDNS_ERR_KUBECONFIG' && c.message.test(e.message),
      String(c.message),
    );
  }
});
