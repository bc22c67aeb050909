import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { query } from '../helpers/dns-client.js';
import { CLI, ROOT, startServe } from '../helpers/serve-process.js';

/**
 * `clusterdns explain` against a running server on the example cluster: the command asks the
 * server's HTTP port, and the server explains with its own lookup, so what explain says is
 * what the DNS port answers.
 */

function explainCli(args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(CLI, ['explain', ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c) => (stdout += c));
    p.stderr.on('data', (c) => (stderr += c));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

interface Case {
  readonly what: string;
  readonly args: readonly string[];
  readonly outcome: string;
  /** The DNS port's rcode for the first name tried, which explain's first line must agree with. */
  readonly first: [string, string];
  readonly text: readonly RegExp[];
}

const CASES: readonly Case[] = [
  {
    what: 'ok',
    args: ['kubernetes'],
    outcome: 'answered',
    first: ['kubernetes.default.svc.cluster.local', 'NOERROR'],
    text: [/1\. kubernetes\.default\.svc\.cluster\.local\.\s+NOERROR/, /10\.96\.0\.1/, /Service default\/kubernetes \[manifests: examples\/cluster\/default\.yaml#1\]/, /why: ClusterIP 10\.96\.0\.1/],
  },
  {
    what: 'typo',
    args: ['kubernets'],
    outcome: 'nxdomain',
    first: ['kubernets.default.svc.cluster.local', 'NXDOMAIN'],
    text: [/no Service kubernets in namespace default/, /kubernetes\.default\.svc\.cluster\.local\.\s+Service default\/kubernetes: one letter away/],
  },
  {
    what: 'other namespace',
    args: ['web', '--namespace', 'default'],
    outcome: 'nxdomain',
    first: ['web.default.svc.cluster.local', 'NXDOMAIN'],
    text: [/2\. web\.svc\.cluster\.local\./, /3\. web\.cluster\.local\./, /4\. web\.\s+REFUSED/, /web\.shop\.svc\.cluster\.local\.\s+Service shop\/web in another namespace: ask for web\.shop/],
  },
  {
    what: 'headless without ready endpoints',
    args: ['cache', '--namespace', 'shop'],
    outcome: 'nxdomain',
    first: ['cache.shop.svc.cluster.local', 'NXDOMAIN'],
    text: [/Service shop\/cache is headless and has no ready endpoints \(EndpointSlice cache-9fj3d: 1 not ready\)/],
  },
  {
    what: 'outside name',
    args: ['example.com'],
    outcome: 'nxdomain',
    first: ['example.com.default.svc.cluster.local', 'NXDOMAIN'],
    text: [/4\. example\.com\.\s+REFUSED/, /outside the cluster domain cluster\.local and this server has no upstream \(--upstream none\)/],
  },
];

test('clusterdns explain against a running server: five cases, as text and as JSON', { timeout: 120_000 }, async (t) => {
  const s = await startServe(['--manifests', 'examples/cluster', '--ttl', '5']);
  t.after(() => s.stop());
  const server = ['--server', `127.0.0.1:${s.httpPort}`];
  for (const c of CASES) {
    const r = await explainCli([...c.args, ...server]);
    assert.equal(r.status, 0, `${c.what}: ${r.stderr}`);
    for (const re of c.text) assert.match(r.stdout, re, `${c.what}:\n${r.stdout}`);
    const j = await explainCli([...c.args, ...server, '--json']);
    assert.equal(j.status, 0, j.stderr);
    const v = JSON.parse(j.stdout) as { outcome: string; tries: { name: string; rcode: string }[] };
    assert.equal(v.outcome, c.outcome, c.what);
    assert.equal(v.tries[0].name, `${c.first[0]}.`);
    assert.equal(v.tries[0].rcode, c.first[1]);
    // The DNS port agrees with what explain says.
    assert.equal((await query(s.dnsPort, c.first[0], 'A')).rcode, c.first[1], `${c.what}: DNS answer for ${c.first[0]}`);
  }
});

test('explain: a bad question and an unreachable server are one clear line and exit 1', { timeout: 60_000 }, async (t) => {
  const s = await startServe(['--manifests', 'examples/cluster', '--ttl', '5']);
  t.after(() => s.stop());
  const bad = await explainCli(['web', '--type', 'BOGUS', '--server', `127.0.0.1:${s.httpPort}`]);
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr, "clusterdns explain: type: unknown record type 'BOGUS' (A, AAAA, SRV, PTR, TXT, CNAME, ...)\n");
  const res = await fetch(`http://127.0.0.1:${s.httpPort}/explain?name=a..b`);
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), { error: "name: 'a..b' has an invalid label '' (letters, digits, '-' and '_', 1-63 characters)", code: 'CLUSTERDNS_ERR_EXPLAIN_INPUT', param: 'name' });
  await s.stop();
  const down = await explainCli(['web', '--server', `127.0.0.1:${s.httpPort}`]);
  assert.equal(down.status, 1);
  assert.match(down.stderr, /^clusterdns explain: cannot reach the server at http:\/\/127\.0\.0\.1:\d+ \(.*ECONNREFUSED.*\): is clusterdns serve running there\?/);
  const usage = await explainCli(['web', '--server', 'nope']);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /--server <host:port>' argument 'nope' is invalid/);
});

test('/api/status: zones, sources, services, rcodes, sampled top names and last changes', { timeout: 60_000 }, async (t) => {
  const s = await startServe(['--manifests', 'examples/cluster', '--ttl', '5']);
  t.after(() => s.stop());
  for (let i = 0; i < 200; i++) await query(s.dnsPort, i % 2 ? 'web.shop.svc.cluster.local' : 'nope.shop.svc.cluster.local', 'A');
  const st = (await (await fetch(`http://127.0.0.1:${s.httpPort}/api/status`)).json()) as Record<string, any>;
  assert.equal(st.ready, true);
  assert.equal(st.domain, 'cluster.local');
  assert.deepEqual(st.zones.map((z: { zone: string }) => z.zone), ['cluster.local.', 'in-addr.arpa.', 'ip6.arpa.', '.']);
  assert.deepEqual(st.sources.map((x: { name: string; synced: boolean }) => [x.name, x.synced]), [['manifests', true]]);
  assert.equal(st.servicesTotal, 6);
  assert.deepEqual(st.services.map((x: { namespace: string; name: string }) => `${x.namespace}/${x.name}`), ['default/kubernetes', 'kube-system/kube-dns', 'shop/cache', 'shop/db', 'shop/payments', 'shop/web']);
  assert.deepEqual(st.queries.rcodes, { NOERROR: 100, NXDOMAIN: 100 });
  assert.equal(st.queries.answerCache.hits + st.queries.answerCache.misses, 200);
  assert.ok(st.queries.answerCache.hits >= 190, `answer cache hits ${st.queries.answerCache.hits}`);
  assert.deepEqual(st.topNames.map((x: { name: string }) => x.name).sort(), ['nope.shop.svc.cluster.local', 'web.shop.svc.cluster.local']);
  assert.deepEqual(st.topNxdomain.map((x: { name: string }) => x.name), ['nope.shop.svc.cluster.local']);
  assert.equal(st.changes[0].op, 'reset');
  assert.equal(st.changes[0].upserts, 15);
  const page = await fetch(`http://127.0.0.1:${s.httpPort}/`);
  assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  const html = await page.text();
  assert.match(html, /<title>clusterdns status<\/title>/);
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'no external URL');
});
