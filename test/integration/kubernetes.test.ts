import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { casesFor, FIXTURE_DIR } from '../helpers/spec-cases.js';
import { assertCase } from '../helpers/assert-case.js';
import { query } from '../helpers/dns-client.js';
import { FakeApiServer } from '../helpers/fake-apiserver.js';
import { runCli, startServe, type Served } from '../helpers/serve-process.js';

/**
 * `clusterdns serve --kubernetes` against the fake API server (test/helpers/fake-apiserver.ts):
 * the product's real client code path over HTTPS, with the faults a cluster's API has.
 */

const Z = 'cluster.local';
const svc = (name: string, ns = 'ns1') => `${name}.${ns}.svc.${Z}`;

/** Polls until check() passes (returns without throwing), or fails with its last error. */
async function eventually(what: string, check: () => Promise<void> | void, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      await check();
      return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms: ${(last as Error)?.message ?? last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function rcode(s: Served, name: string, type = 'A'): Promise<string> {
  return (await query(s.dnsPort, name, type)).rcode;
}

async function answer(s: Served, name: string, type = 'A'): Promise<string[]> {
  const r = await query(s.dnsPort, name, type);
  return r.rcode === 'NOERROR' ? r.answer : [r.rcode];
}

async function httpStatus(s: Served, path: string): Promise<number> {
  return (await fetch(`http://127.0.0.1:${s.httpPort}${path}`, { signal: AbortSignal.timeout(10_000) })).status;
}

async function metric(s: Served, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${s.httpPort}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const service = (name: string, ip: string, ns = 'ns1', labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: ns, labels },
  spec: { clusterIP: ip, clusterIPs: [ip], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
});

const ipOf = (i: number) => `10.97.${i >> 8}.${i & 255}`;

/** A fake API with the case table's cluster, and a server on it. */
async function cluster(args: string[] = [], options: { until?: 'serving' | 'listening'; apiDown?: boolean } = {}) {
  const api = await FakeApiServer.start();
  api.loadDirectory(FIXTURE_DIR);
  if (options.apiDown) await api.down();
  const served = await startServe(['--kubernetes', '--kubeconfig', api.writeKubeconfig(), '--ttl', '5', ...args], 30_000, process.env, undefined, options.until);
  return { api, served, stop: async () => (await served.stop(), await api.stop()) };
}

// ---------------------------------------------------------------------------------------------
// The specification through the API

const spec: Record<string, { api: FakeApiServer; served: Served; stop(): Promise<void> }> = {};

before(async () => {
  for (const pods of ['disabled', 'verified'] as const) spec[pods] = await cluster(['--pods', pods]);
});

after(async () => {
  for (const c of Object.values(spec)) await c.stop();
});

for (const pods of ['disabled', 'verified'] as const) {
  for (const transport of ['udp', 'tcp'] as const) {
    test(`specification cases through the Kubernetes API over ${transport.toUpperCase()}, --pods ${pods}`, async () => {
      assert.equal(await httpStatus(spec[pods].served, '/ready'), 200);
      for (const c of casesFor(pods)) assertCase(await query(spec[pods].served.dnsPort, c.qname, c.qtype, { transport }), c, `kubernetes/${transport}/${pods}`);
    });
  }
}

test('watch events: a Service added, changed and deleted in the API is answered accordingly', async () => {
  const { api, served } = spec.disabled;
  api.put(service('moving', '10.97.0.1'));
  await eventually('added', async () => assert.deepEqual(await answer(served, svc('moving')), [`${svc('moving')}. 5 IN A 10.97.0.1`]));
  api.put(service('moving', '10.97.0.2'));
  await eventually('changed', async () => assert.deepEqual(await answer(served, svc('moving')), [`${svc('moving')}. 5 IN A 10.97.0.2`]));
  api.remove('Service', 'ns1', 'moving');
  await eventually('deleted', async () => assert.equal(await rcode(served, svc('moving')), 'NXDOMAIN'));
});

test('--pods verified follows Pods: a new pod IP answers, a deleted one stops', async () => {
  const { api, served } = spec.verified;
  const name = `10-244-9-9.ns1.pod.${Z}`;
  assert.equal(await rcode(served, name), 'NXDOMAIN');
  api.put({ kind: 'Pod', metadata: { name: 'late', namespace: 'ns1' }, status: { podIP: '10.244.9.9', podIPs: [{ ip: '10.244.9.9' }] } });
  await eventually('pod added', async () => assert.deepEqual(await answer(served, name), [`${name}. 5 IN A 10.244.9.9`]));
  api.remove('Pod', 'ns1', 'late');
  await eventually('pod deleted', async () => assert.equal(await rcode(served, name), 'NXDOMAIN'));
});

// ---------------------------------------------------------------------------------------------
// Before the first list

test('cold start with the API down: SERVFAIL (never NXDOMAIN) and /ready 503 until the first list', async () => {
  const c = await cluster(['--startup-timeout', '3600'], { until: 'listening', apiDown: true });
  try {
    for (const name of [svc('svc1'), svc('no-such-service'), `dns-version.${Z}`]) assert.equal(await rcode(c.served, name), 'SERVFAIL', name);
    assert.equal(await httpStatus(c.served, '/ready'), 503);
    assert.equal(await httpStatus(c.served, '/health'), 200);
    await c.api.up();
    await eventually('synced', async () => assert.equal(await httpStatus(c.served, '/ready'), 200));
    assert.deepEqual(await answer(c.served, svc('svc1')), [`${svc('svc1')}. 5 IN A 10.96.1.1`]);
    assert.equal(await rcode(c.served, svc('no-such-service')), 'NXDOMAIN');
    assert.ok(c.served.logs.some((l) => l.event === 'synced'), 'a synced log line');
  } finally {
    await c.stop();
  }
});

test('--startup-timeout: after it, names already listed answer while missing ones stay SERVFAIL until synced', async () => {
  const api = await FakeApiServer.start();
  api.loadDirectory(FIXTURE_DIR);
  api.fail('/apis/discovery.k8s.io/v1/endpointslices', 503);
  const served = await startServe(['--kubernetes', '--kubeconfig', api.writeKubeconfig(), '--ttl', '5', '--startup-timeout', '0.5']);
  try {
    const warning = served.logs.find((l) => l.event === 'startup_timeout');
    assert.ok(warning, 'a startup-timeout warning');
    assert.equal(warning.level, 40);
    assert.match(String(warning.msg), /endpointslices/);
    assert.equal(await httpStatus(served, '/ready'), 503);
    await eventually('services listed', async () => assert.deepEqual(await answer(served, svc('svc1')), [`${svc('svc1')}. 5 IN A 10.96.1.1`]));
    assert.equal(await rcode(served, svc('no-such-service')), 'SERVFAIL');
    assert.ok((await metric(served, 'clusterdns_kubernetes_errors_total', { resource: 'endpointslices', reason: 'server_error' })) >= 1, 'server errors counted');
    api.heal();
    await eventually('synced', async () => assert.equal(await httpStatus(served, '/ready'), 200));
    assert.equal(await rcode(served, svc('no-such-service')), 'NXDOMAIN');
    assert.deepEqual(await answer(served, `hdls6.ns1.svc.${Z}`, 'AAAA'), [`hdls6.ns1.svc.${Z}. 5 IN AAAA fd00:244::5`]);
    assert.equal(await metric(served, 'clusterdns_kubernetes_synced'), 1);
  } finally {
    await served.stop();
    await api.stop();
  }
});

// ---------------------------------------------------------------------------------------------
// Losing the API

/** How long the API stays down under load: 4 s in npm test; `npm run test:k8s-outage` runs the issue's 60. */
const API_OUTAGE_S = Number(process.env.CLUSTERDNS_K8S_OUTAGE_S ?? 4);

test(`API down for ${API_OUTAGE_S} s under query load: every name keeps answering; back up, 50 created and 50 deleted meanwhile are applied`, async () => {
  const c = await cluster();
  try {
    for (let i = 0; i < 50; i++) c.api.put(service(`old-${i}`, ipOf(i)));
    await eventually('old Services', async () => assert.equal(await rcode(c.served, svc('old-49')), 'NOERROR'));
    await c.api.down();
    // Load: the fixture's names and the 50 Services, over and over while the API is away.
    const names = [svc('svc1'), svc('dual'), `kubernetes.default.svc.${Z}`, ...Array.from({ length: 50 }, (_, i) => svc(`old-${i}`))];
    const bad: string[] = [];
    let asked = 0;
    let changed = false;
    const until = Date.now() + API_OUTAGE_S * 1000;
    while (Date.now() < until) {
      const rcodes = await Promise.all(names.map((n) => answer(c.served, n)));
      asked += rcodes.length;
      rcodes.forEach((r, i) => !(r.length >= 1 && r.every((line) => line.includes(' IN A '))) && bad.push(`${names[i]} ${r.join(' ')}`));
      if (!changed) {
        // The changes are made in the API while it is unreachable: the server learns of them on its return.
        changed = true;
        for (let i = 0; i < 50; i++) {
          c.api.remove('Service', 'ns1', `old-${i}`);
          c.api.put(service(`new-${i}`, ipOf(100 + i)));
        }
      }
    }
    process.stdout.write(`# API down ${API_OUTAGE_S} s: ${asked} queries, ${bad.length} not answered with the name's address\n`);
    assert.deepEqual(bad.slice(0, 5), [], `${bad.length} of ${asked} answers while the API was down`);
    assert.ok(asked >= names.length * 2, `queries were asked: ${asked}`);
    await c.api.up();
    const back = Date.now();
    await eventually('caught up', async () => {
      const news = await Promise.all(Array.from({ length: 50 }, (_, i) => answer(c.served, svc(`new-${i}`))));
      const olds = await Promise.all(Array.from({ length: 50 }, (_, i) => rcode(c.served, svc(`old-${i}`))));
      news.forEach((a, i) => assert.deepEqual(a, [`${svc(`new-${i}`)}. 5 IN A ${ipOf(100 + i)}`]));
      olds.forEach((r, i) => assert.equal(r, 'NXDOMAIN', svc(`old-${i}`)));
    });
    const caughtUp = Date.now() - back;
    process.stdout.write(`# API back: all 100 changes answered correctly ${caughtUp} ms after it listened again\n`);
    // The issue's bound is 2 s; the slack is for a loaded test machine (the figure is printed above).
    assert.ok(caughtUp < 20_000, `caught up after ${caughtUp} ms`);
    assert.ok((await metric(c.served, 'clusterdns_kubernetes_errors_total', { reason: 'unreachable' })) >= 1, 'unreachable errors counted');
    assert.ok(c.served.logs.some((l) => l.event === 'recovered'), 'a recovered log line');
  } finally {
    await c.stop();
  }
});

test('410 Gone: the relist applies the differences at once; nothing that stayed ever vanishes, nothing removed stays', async () => {
  const c = await cluster();
  try {
    c.api.put(service('doomed', '10.97.1.1'));
    await eventually('doomed', async () => assert.equal(await rcode(c.served, svc('doomed')), 'NOERROR'));
    const stable = [svc('svc1'), svc('dual'), `hdls.ns1.svc.${Z}`];
    let stop = false;
    const bad: string[] = [];
    const load = (async () => {
      while (!stop) for (const n of stable) if ((await rcode(c.served, n)) !== 'NOERROR') bad.push(n);
    })();
    // The server loses its history while the client is away: resuming the watch gets 410.
    await c.api.down();
    c.api.remove('Service', 'ns1', 'doomed');
    c.api.put(service('born', '10.97.1.2'));
    c.api.compact();
    await c.api.up();
    await eventually('relisted', async () => {
      assert.deepEqual(await answer(c.served, svc('born')), [`${svc('born')}. 5 IN A 10.97.1.2`]);
      assert.equal(await rcode(c.served, svc('doomed')), 'NXDOMAIN');
    });
    // And an open watch told its resourceVersion expired (an ERROR event with a 410 Status).
    const before = await metric(c.served, 'clusterdns_kubernetes_relists_total', { reason: 'expired' });
    c.api.expireWatches();
    c.api.put(service('after-expiry', '10.97.1.3'));
    await eventually('after expiry', async () => assert.equal(await rcode(c.served, svc('after-expiry')), 'NOERROR'));
    stop = true;
    await load;
    assert.deepEqual(bad, [], 'stable names during the relists');
    assert.ok((await metric(c.served, 'clusterdns_kubernetes_relists_total', { resource: 'services', reason: 'expired' })) >= 1, 'services relisted as expired');
    assert.ok((await metric(c.served, 'clusterdns_kubernetes_relists_total', { reason: 'expired' })) > before, 'more expired relists');
    const relist = c.served.logs.find((l) => l.event === 'relist' && l.reason === 'expired' && l.resource === 'services' && (l.upserts as number) >= 1);
    assert.ok(relist, 'a relist log line with the changes');
    assert.equal(relist.deletes, 1);
  } finally {
    await c.stop();
  }
});

test('a stream cut in the middle of an event: the watch resumes and the event still arrives', async () => {
  const { api, served } = spec.disabled;
  const restarts = await metric(served, 'clusterdns_kubernetes_watch_restarts_total', { resource: 'services' });
  api.cutNextEvent();
  api.put(service('half-sent', '10.97.2.1'));
  await eventually('arrived', async () => assert.deepEqual(await answer(served, svc('half-sent')), [`${svc('half-sent')}. 5 IN A 10.97.2.1`]));
  assert.ok((await metric(served, 'clusterdns_kubernetes_watch_restarts_total', { resource: 'services' })) > restarts, 'the services watch restarted');
});

test('--resync repairs a change whose watch event was lost', async () => {
  const c = await cluster(['--resync', '1']);
  try {
    c.api.dropNextEvents(2);
    c.api.put(service('lost', '10.97.3.1'));
    c.api.remove('Service', 'default', 'kubernetes');
    await eventually('repaired', async () => {
      assert.deepEqual(await answer(c.served, svc('lost')), [`${svc('lost')}. 5 IN A 10.97.3.1`]);
      assert.equal(await rcode(c.served, `kubernetes.default.svc.${Z}`), 'NXDOMAIN');
    });
    const repair = c.served.logs.find((l) => l.event === 'relist' && l.reason === 'resync' && l.resource === 'services' && l.upserts === 1 && l.deletes === 1);
    assert.ok(repair, 'the resync relist found one missing and one stale Service');
    assert.ok((await metric(c.served, 'clusterdns_kubernetes_relists_total', { reason: 'resync' })) >= 1, 'resync relists counted');
  } finally {
    await c.stop();
  }
});

// ---------------------------------------------------------------------------------------------
// Filters, paging, credentials, flags

test('--namespaces: only the listed namespaces are served', async () => {
  const c = await cluster(['--namespaces', 'ns1,kube-system']);
  try {
    assert.equal(await rcode(c.served, svc('svc1')), 'NOERROR');
    assert.deepEqual(await answer(c.served, `kube-dns.kube-system.svc.${Z}`), [`kube-dns.kube-system.svc.${Z}. 5 IN A 10.96.0.10`]);
    assert.equal(await rcode(c.served, `kubernetes.default.svc.${Z}`), 'NXDOMAIN');
    assert.equal(await rcode(c.served, `default.svc.${Z}`), 'NXDOMAIN');
    c.api.put(service('web', '10.97.4.1', 'default'));
    c.api.put(service('web', '10.97.4.2', 'ns1'));
    await eventually('ns1 change', async () => assert.equal(await rcode(c.served, svc('web')), 'NOERROR'));
    assert.equal(await rcode(c.served, svc('web', 'default')), 'NXDOMAIN');
    assert.ok(c.api.requests.some((r) => r.path === '/api/v1/namespaces/ns1/services'), 'watched per namespace');
    assert.ok(!c.api.requests.some((r) => r.path === '/api/v1/services'), 'never all namespaces');
  } finally {
    await c.stop();
  }
});

test('--labels: only Services (and their slices) matching the selector', async () => {
  const c = await cluster(['--labels', 'expose in (yes,true),tier!=hidden']);
  try {
    c.api.put(service('shown', '10.97.5.1', 'ns1', { expose: 'yes' }));
    c.api.put(service('hidden', '10.97.5.2', 'ns1', { expose: 'yes', tier: 'hidden' }));
    c.api.put(service('plain', '10.97.5.3', 'ns1'));
    await eventually('shown', async () => assert.equal(await rcode(c.served, svc('shown')), 'NOERROR'));
    assert.equal(await rcode(c.served, svc('hidden')), 'NXDOMAIN');
    assert.equal(await rcode(c.served, svc('plain')), 'NXDOMAIN');
    assert.equal(await rcode(c.served, svc('svc1')), 'NXDOMAIN');
    // Relabelled out of the selector: gone.
    c.api.put(service('shown', '10.97.5.1', 'ns1', { expose: 'no' }));
    await eventually('unlabelled', async () => assert.equal(await rcode(c.served, svc('shown')), 'NXDOMAIN'));
  } finally {
    await c.stop();
  }
});

test('large lists are read in pages (limit/continue)', async () => {
  const api = await FakeApiServer.start();
  api.loadDirectory(FIXTURE_DIR);
  for (let i = 0; i < 1200; i++) api.put(service(`bulk-${i}`, `10.98.${i >> 8}.${i & 255}`));
  const served = await startServe(['--kubernetes', '--kubeconfig', api.writeKubeconfig(), '--ttl', '5'], 30_000);
  try {
    const pages = api.requests.filter((r) => r.path === '/api/v1/services' && r.query.watch === undefined);
    assert.ok(pages.length >= 3, `${pages.length} list requests for 1212 Services`);
    assert.ok(pages.every((p) => p.query.limit === '500'), 'pages of 500');
    assert.ok(pages.filter((p) => p.query.continue).length >= 2, 'continued pages');
    for (const i of [0, 499, 500, 1199]) assert.deepEqual(await answer(served, svc(`bulk-${i}`)), [`${svc(`bulk-${i}`)}. 5 IN A 10.98.${i >> 8}.${i & 255}`]);
  } finally {
    await served.stop();
    await api.stop();
  }
});

test('a wrong token: a clear error, logged at a bounded rate while retrying; not ready, cluster names SERVFAIL', async () => {
  const api = await FakeApiServer.start();
  api.loadDirectory(FIXTURE_DIR);
  const served = await startServe(['--kubernetes', '--kubeconfig', api.writeKubeconfig({ token: 'wrong', name: 'wrong' }), '--startup-timeout', '0.2'], 30_000);
  try {
    await eventually('retried', async () => assert.ok((await metric(served, 'clusterdns_kubernetes_errors_total', { reason: 'unauthorized' })) >= 12, 'at least 12 attempts'));
    const errors = served.logs.filter((l) => l.event === 'error');
    assert.ok(errors.length >= 1, 'an error line');
    assert.ok(errors.length <= 4, `${errors.length} error lines for the 4 watched collections`);
    assert.match(String(errors[0].msg), /rejected the credentials \(401 Unauthorized\).*token/);
    assert.match(String(errors[0].msg), new RegExp(api.url.replace(/[.]/g, '\\.')));
    assert.equal(await httpStatus(served, '/ready'), 503);
    assert.equal(await rcode(served, svc('svc1')), 'SERVFAIL');
  } finally {
    await served.stop();
    await api.stop();
  }
});

test('the config file takes the same settings: clusterdns lint checks them with their flag parsers', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-k8s-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const good = join(dir, 'good.yaml');
  writeFileSync(good, 'kubernetes: true\nnamespaces: [ns1, kube-system]\nlabels: app=web\nstartup-timeout: 2.5\nresync: 60\n');
  const ok = runCli(['lint', good]);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'kubernetes: true\nnamespaces: [ns1, Bad_NS]\nresync: soon\n');
  const r = runCli(['lint', bad]);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /bad\.yaml:2:\d+: namespaces: .*'Bad_NS' is not a namespace name/);
  assert.match(r.stdout, /bad\.yaml:3:\d+: resync: expected seconds/);
});

test('flags: one source only, valid selectors and namespaces, a usable kubeconfig', () => {
  const cases: { args: string[]; status: number; stderr: RegExp }[] = [
    { args: ['--kubernetes', '--manifests', FIXTURE_DIR], status: 2, stderr: /choose one source/ },
    { args: [], status: 2, stderr: /a source is required: --manifests DIR, --kubernetes/ },
    { args: ['--kubernetes', '--labels', 'a in b'], status: 2, stderr: /--labels.*label selector/ },
    { args: ['--kubernetes', '--namespaces', 'Bad_NS'], status: 2, stderr: /not a namespace name/ },
    { args: ['--manifests', FIXTURE_DIR, '--namespaces', 'a'], status: 2, stderr: /--namespaces needs --kubernetes/ },
    { args: ['--kubernetes', '--startup-timeout', 'soon'], status: 2, stderr: /--startup-timeout/ },
    { args: ['--kubernetes', '--kubeconfig', '/nonexistent/kubeconfig'], status: 1, stderr: /--kubeconfig: '\/nonexistent\/kubeconfig' does not exist/ },
  ];
  for (const c of cases) {
    const r = runCli(['serve', '--listen', '127.0.0.1:0', '--http', 'none', '--upstream', 'none', ...c.args]);
    assert.equal(r.status, c.status, `${c.args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, c.stderr, c.args.join(' '));
  }
});
