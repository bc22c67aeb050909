import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { casesFor, FIXTURE_DIR } from '../helpers/spec-cases.js';
import { assertCase } from '../helpers/assert-case.js';
import { query } from '../helpers/dns-client.js';
import { dig, requireDig } from '../helpers/dig.js';
import { startServe, type Served } from '../helpers/serve-process.js';
import { EtcdServer } from '../helpers/etcd.js';
import { startBridgeProcess, until, type BridgeProcess } from '../helpers/bridge-process.js';

/**
 * The original addon's design on a real etcd: manifests -> `clusterdns bridge` -> etcd ->
 * `clusterdns serve --etcd`, and serve reading keys written by hand in the SkyDNS format.
 */

let etcd: EtcdServer;
let client: Etcd3;
let bridge: BridgeProcess;
const servers: Record<string, Served> = {};
const cleanup: (() => Promise<void> | void)[] = [];

before(async () => {
  requireDig();
  etcd = await EtcdServer.launch();
  client = new Etcd3({ hosts: etcd.endpoint });
  bridge = startBridgeProcess(['--manifests', FIXTURE_DIR, '--etcd', etcd.endpoint, '--ttl', '5', '--lease-ttl', '3']);
  await bridge.waitFor('etcd in sync');
  for (const pods of ['disabled', 'insecure'] as const) {
    servers[pods] = await startServe(['--etcd', etcd.endpoint, '--ttl', '5', '--pods', pods]);
  }
});

after(async () => {
  for (const c of cleanup.reverse()) await c();
  await Promise.all(Object.values(servers).map((s) => s.stop()));
  await bridge?.stop();
  client?.close();
  await etcd?.close();
});

for (const pods of ['disabled', 'insecure'] as const) {
  for (const transport of ['udp', 'tcp'] as const) {
    test(`specification cases through bridge -> etcd -> serve --etcd over ${transport.toUpperCase()}, --pods ${pods}`, async () => {
      for (const c of casesFor(pods)) assertCase(await query(servers[pods].dnsPort, c.qname, c.qtype, { transport }), c, `etcd/${transport}/${pods}`);
    });
  }
}

test('specification cases through etcd with dig', () => {
  for (const c of casesFor('disabled')) assertCase(dig(servers.disabled.dnsPort, c.qname, c.qtype), c, 'etcd/dig');
});

test('the bridge writes the SkyDNS layout: the domain reversed under the prefix, JSON values', async () => {
  const keys = await client.getAll().prefix('/skydns/').strings();
  const svc1 = Object.entries(keys).filter(([k]) => k.startsWith('/skydns/local/cluster/svc/ns1/svc1/'));
  assert.ok(svc1.length > 0, 'keys for ns1/svc1');
  for (const [k, v] of svc1) {
    const o = JSON.parse(v) as Record<string, unknown>;
    assert.equal(o.ttl, 5, k);
    assert.ok(typeof o.host === 'string', k);
  }
  assert.deepEqual(JSON.parse(keys['/skydns/arpa/in-addr/10/96/1/1']), { host: 'svc1.ns1.svc.cluster.local', ttl: 5 });
});

/** Hand-written keys, in the format SkyDNS documents, under a domain of their own. */
test('serves SkyDNS keys written by hand: SRV priority and weight, TXT, CNAME, groups, wildcards, bad values', async () => {
  const put = (k: string, v: unknown) => client.put(`/skydns/local/example/${k}`).value(typeof v === 'string' ? v : JSON.stringify(v));
  await put('east/production/rails/1', { host: '10.0.1.125', port: 8080, priority: 10, weight: 120 });
  await put('east/production/rails/2', { host: '10.0.1.126', port: 8080, priority: 10, weight: 100 });
  await put('east/production/rails/3', { host: '10.0.1.127', port: 8080, priority: 10, weight: 130 });
  await put('east/production/rails/4', { host: 'backup.example.com', port: 8081, priority: 20 });
  await put('east/production/txt', { text: 'hello from etcd', ttl: 60 });
  await put('east/alias', { host: 'rails.production.east.example.local' });
  await put('east/strip/x1/a', { host: '10.0.2.1', port: 80, targetstrip: 1 });
  await put('groups/db/1', { host: '10.0.3.1', group: 'g1' });
  await put('groups/db/2', { host: '10.0.3.2', group: 'g2' });
  await put('lb/*', { host: '10.0.4.1', ttl: 7 });
  await put('bad/one', '{"host": 42}');
  await put('bad/two', 'not json');
  const s = await startServe(['--etcd', etcd.endpoint, '--domain', 'example.local', '--ttl', '30']);
  cleanup.push(() => s.stop());
  const srv = await query(s.dnsPort, 'rails.production.east.example.local', 'SRV');
  // SkyDNS's weights: percentages within a priority, rounded down (README: 120/100/130 -> 34/28/37).
  assert.deepEqual(new Set(srv.answer), new Set([
    'rails.production.east.example.local. 30 IN SRV 10 34 8080 1.rails.production.east.example.local.',
    'rails.production.east.example.local. 30 IN SRV 10 28 8080 2.rails.production.east.example.local.',
    'rails.production.east.example.local. 30 IN SRV 10 37 8080 3.rails.production.east.example.local.',
    'rails.production.east.example.local. 30 IN SRV 20 100 8081 backup.example.com.',
  ]));
  assert.ok(srv.extra.includes('1.rails.production.east.example.local. 30 IN A 10.0.1.125'), srv.extra.join('\n'));
  const a = await query(s.dnsPort, 'rails.production.east.example.local', 'A');
  assert.equal(a.answer.length, 3);
  assert.deepEqual((await query(s.dnsPort, '2.rails.production.east.example.local', 'A')).answer, ['2.rails.production.east.example.local. 30 IN A 10.0.1.126']);
  assert.deepEqual((await query(s.dnsPort, 'txt.production.east.example.local', 'TXT')).answer, ['txt.production.east.example.local. 60 IN TXT "hello from etcd"']);
  const cname = await query(s.dnsPort, 'alias.east.example.local', 'A');
  assert.equal(cname.answer[0], 'alias.east.example.local. 30 IN CNAME rails.production.east.example.local.');
  assert.equal(cname.answer.length, 4, cname.answer.join('\n'));
  assert.deepEqual((await query(s.dnsPort, 'x1.strip.east.example.local', 'SRV')).answer, ['x1.strip.east.example.local. 30 IN SRV 0 100 80 x1.strip.east.example.local.']);
  // Groups: the shortest keys disagree on the group, so both are served.
  assert.equal((await query(s.dnsPort, 'db.groups.example.local', 'A')).answer.length, 2);
  // A wildcard key answers for any name below it that does not exist.
  assert.deepEqual((await query(s.dnsPort, 'anything.lb.example.local', 'A')).answer, ['anything.lb.example.local. 7 IN A 10.0.4.1']);
  assert.equal((await query(s.dnsPort, 'nope.example.local', 'A')).rcode, 'NXDOMAIN');
  // Bad values are logged with their key; nothing else is affected.
  await until('bad value logs', () => s.logs.filter((l) => String(l.msg).startsWith('etcd key /skydns/local/example/bad/')).length === 2);
  assert.equal((await query(s.dnsPort, 'one.bad.example.local', 'A')).rcode, 'NXDOMAIN');
  // Changes arrive through the watch; a bad value for a good key keeps the last good one.
  await put('east/production/rails/2', 'garbage');
  await put('east/production/rails/5', { host: '10.0.1.200' });
  await until('watched put', async () => (await query(s.dnsPort, '5.rails.production.east.example.local', 'A')).answer.length === 1);
  assert.deepEqual((await query(s.dnsPort, '2.rails.production.east.example.local', 'A')).answer, ['2.rails.production.east.example.local. 30 IN A 10.0.1.126']);
  await client.delete().key('/skydns/local/example/east/production/rails/5');
  await until('watched delete', async () => (await query(s.dnsPort, '5.rails.production.east.example.local', 'A')).rcode === 'NXDOMAIN');
  const metrics = await (await fetch(`http://127.0.0.1:${s.httpPort}/metrics`)).text();
  assert.match(metrics, /clusterdns_etcd_bad_values_total 3/);
  assert.match(metrics, /clusterdns_etcd_connected 1/);
});

test('bridge and serve --etcd flags: clear errors for what cannot work', async () => {
  const { spawnSync } = await import('node:child_process');
  const { CLI } = await import('../helpers/serve-process.js');
  const run = (...args: string[]) => spawnSync(CLI, args, { encoding: 'utf8', timeout: 20_000 });
  const k = run('bridge', '--kubernetes', '--etcd', etcd.endpoint);
  assert.equal(k.status, 2);
  assert.match(k.stderr, /--kubernetes: the Kubernetes API source is not available in this build/);
  const both = run('serve', '--manifests', FIXTURE_DIR, '--etcd', etcd.endpoint);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /--manifests and --etcd: choose one source/);
  const badUrl = run('serve', '--etcd', '127.0.0.1:2379');
  assert.equal(badUrl.status, 2);
  assert.match(badUrl.stderr, /--etcd.*not a URL|--etcd.*expected http/);
  const verified = run('serve', '--etcd', etcd.endpoint, '--pods', 'verified');
  assert.equal(verified.status, 2);
  assert.match(verified.stderr, /--pods verified checks pod IPs against Pod objects/);
  const noEtcd = run('bridge', '--manifests', FIXTURE_DIR);
  assert.equal(noEtcd.status, 2);
  assert.match(noEtcd.stderr, /--etcd/);
});

test('the same answers from etcd as from the manifests directly (another --etcd-prefix; a headless Service with two ports)', async (t) => {
  const { cpSync, mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-parity-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(FIXTURE_DIR, dir, { recursive: true });
  writeFileSync(
    join(dir, 'multi.yaml'),
    'apiVersion: v1\nkind: Namespace\nmetadata: { name: multi }\n---\n' +
      'apiVersion: v1\nkind: Service\nmetadata: { name: web, namespace: multi }\nspec: { clusterIP: None, ports: [{ name: http, port: 80 }, { name: metrics, port: 9090 }] }\n---\n' +
      'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: { name: web-1, namespace: multi, labels: { kubernetes.io/service-name: web } }\naddressType: IPv4\n' +
      'ports: [{ name: http, port: 80 }, { name: metrics, port: 9090 }]\nendpoints:\n  - { addresses: [10.245.0.1], hostname: w0 }\n  - { addresses: [10.245.0.2] }\n',
  );
  const b = startBridgeProcess(['--manifests', dir, '--etcd', etcd.endpoint, '--ttl', '5', '--etcd-prefix', '/other/dns']);
  t.after(() => b.stop());
  await b.waitFor('etcd in sync');
  const viaEtcd = await startServe(['--etcd', etcd.endpoint, '--etcd-prefix', '/other/dns', '--ttl', '5']);
  t.after(() => viaEtcd.stop());
  const direct = await startServe(['--manifests', dir, '--ttl', '5']);
  t.after(() => direct.stop());
  const services = ['kubernetes.default', 'kube-dns.kube-system', 'svc1.ns1', 'dual.ns1', 'v6only.ns1', 'hdls.ns1', 'hdls6.ns1', 'notready.ns1', 'noready.ns1', 'ext.ns1', 'inext.ns1', 'legacy.ns1', 'web.multi'];
  const names = services.flatMap((s) => [`${s}.svc.cluster.local`, `_http._tcp.${s}.svc.cluster.local`, `_metrics._tcp.${s}.svc.cluster.local`]);
  names.push('w0.web.multi.svc.cluster.local', '10-245-0-2.web.multi.svc.cluster.local', 'pod-a.hdls.ns1.svc.cluster.local', 'multi.svc.cluster.local', '1.0.245.10.in-addr.arpa', '10.0.96.10.in-addr.arpa');
  // Compared as sets with SRV weights left out: the direct mode repeats an SRV record for a port
  // number served over both UDP and TCP (kube-dns's 53), where etcd holds it once (weight 100, not 50 twice).
  const set = (xs: string[]) => [...new Set(xs.map((x) => x.replace(/ IN SRV (\d+) \d+ /, ' IN SRV $1 W ')))].sort();
  const norm = (r: { rcode: string; answer: string[]; extra: string[] }) => ({ rcode: r.rcode, answer: set(r.answer), extra: set(r.extra) });
  let compared = 0;
  for (const name of names) {
    for (const type of ['A', 'AAAA', 'SRV', 'TXT', 'CNAME', 'PTR']) {
      const [e, d] = await Promise.all([query(viaEtcd.dnsPort, name, type, { transport: 'tcp' }), query(direct.dnsPort, name, type, { transport: 'tcp' })]);
      assert.deepEqual(norm(e), norm(d), `${name} ${type}`);
      compared++;
    }
  }
  assert.equal((await query(viaEtcd.dnsPort, 'web.multi.svc.cluster.local', 'SRV')).answer.length, 4, 'two endpoints x two ports');
  assert.ok(compared > 200);
});
