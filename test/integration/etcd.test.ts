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
  const noEtcd = run('bridge', '--manifests', FIXTURE_DIR);
  assert.equal(noEtcd.status, 2);
  assert.match(noEtcd.stderr, /--etcd/);
});
