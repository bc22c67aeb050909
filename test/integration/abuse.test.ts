import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildQuery, query, sendUdp } from '../helpers/dns-client.js';
import { runCli, startServe } from '../helpers/serve-process.js';
import { FIXTURE_DIR } from '../helpers/spec-cases.js';
import { startUpstream } from '../helpers/upstream.js';

/** The server must not become a tool against others: ANY, RD=0, client ranges, guessable IDs. */

test('ANY gets the minimal RFC 8482 answer, for cluster and outside names, never forwarded', async (t) => {
  const a = await startUpstream();
  t.after(() => a.close());
  const s = await startServe(['--manifests', FIXTURE_DIR, '--upstream', `127.0.0.1:${a.port}`]);
  t.after(() => s.stop());
  for (const name of ['hdls.ns1.svc.cluster.local', 'kubernetes.default.svc.cluster.local', 'example.com']) {
    const q = buildQuery(name, 'ANY');
    const raw = await sendUdp(s.dnsPort, q);
    const r = await query(s.dnsPort, name, 'ANY');
    assert.deepEqual(r.answer, [`${name}. 8482 IN HINFO {"cpu":"RFC8482","os":""}`]);
    assert.ok(raw.length / q.length <= 5, `amplification ${raw.length}/${q.length}`);
  }
  assert.equal(a.received.length, 0);
});

test('queries with RD=0 are answered for the cluster and never forwarded', async (t) => {
  const a = await startUpstream();
  t.after(() => a.close());
  const s = await startServe(['--manifests', FIXTURE_DIR, '--upstream', `127.0.0.1:${a.port}`]);
  t.after(() => s.stop());
  assert.equal((await query(s.dnsPort, 'example.com', 'A', { rd: false })).rcode, 'REFUSED');
  assert.equal((await query(s.dnsPort, 'kubernetes.default.svc.cluster.local', 'A', { rd: false })).answer.length, 1);
  assert.equal(a.received.length, 0);
});

test('--allow: clients outside the ranges are REFUSED and cause no upstream traffic', async (t) => {
  const a = await startUpstream();
  t.after(() => a.close());
  const s = await startServe(['--manifests', FIXTURE_DIR, '--upstream', `127.0.0.1:${a.port}`, '--allow', '127.0.0.2/32,fd00::/8']);
  t.after(() => s.stop());
  const cases: [string, string, string][] = [
    ['127.0.0.1', 'kubernetes.default.svc.cluster.local', 'REFUSED'],
    ['127.0.0.1', 'example.com', 'REFUSED'],
    ['127.0.0.2', 'kubernetes.default.svc.cluster.local', 'NOERROR'],
    ['127.0.0.2', 'example.com', 'NOERROR'],
  ];
  for (const [source, name, rcode] of cases) assert.equal((await query(s.dnsPort, name, 'A', { source })).rcode, rcode, `${source} ${name}`);
  assert.deepEqual(a.received, ['example.com'], 'only the allowed client reached the upstream');
  const bad = runCli(['serve', '--manifests', FIXTURE_DIR, '--allow', '10.0.0.0/33']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--allow.*CIDR/);
});

test('upstream queries use unpredictable IDs and source ports', async (t) => {
  const a = await startUpstream();
  t.after(() => a.close());
  const s = await startServe(['--manifests', FIXTURE_DIR, '--upstream', `127.0.0.1:${a.port}`]);
  t.after(() => s.stop());
  const n = 10_000;
  for (let i = 0; i < n; i += 200) {
    await Promise.all(Array.from({ length: 200 }, (_, j) => query(s.dnsPort, `n${i + j}.example.com`, 'A', { timeoutMs: 5000 })));
  }
  assert.equal(a.sources.length, n);
  const ids = new Set(a.sources.map((x) => x.id)).size;
  const ports = new Set(a.sources.map((x) => x.port)).size;
  assert.ok(ids >= 9150, `${ids} distinct IDs in ${n} queries`);
  assert.ok(ports >= 8000, `${ports} distinct source ports in ${n} queries`);
});
