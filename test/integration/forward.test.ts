import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { query } from '../helpers/dns-client.js';
import { digAsync } from '../helpers/dig.js';
import { runCli, startServe } from '../helpers/serve-process.js';
import { FIXTURE_DIR } from '../helpers/spec-cases.js';
import { startUpstream } from '../helpers/upstream.js';
import { startDnsmasq } from '../helpers/dnsmasq.js';

/** Names outside the cluster go to upstream resolvers on loopback, started by each test. */

const up = (port: number) => `127.0.0.1:${port}`;

test('outside names are forwarded over UDP and TCP, the question case kept, cluster names never', async (t) => {
  const a = await startUpstream();
  t.after(() => a.close());
  const s = await startServe(['--manifests', FIXTURE_DIR, '--upstream', up(a.port)]);
  t.after(() => s.stop());
  const r = await query(s.dnsPort, 'WWW.Example.COM', 'A');
  assert.equal(r.rcode, 'NOERROR');
  assert.match(r.answer[0], /^WWW\.Example\.COM\. 60 IN A 192\.0\.2\.\d+$/);
  assert.equal(r.packet.questions?.[0].name, 'WWW.Example.COM');
  assert.equal(a.received.at(-1), 'WWW.Example.COM', 'the upstream sees the case as asked (0x20)');
  const tcp = await query(s.dnsPort, 'www.example.org', 'A', { transport: 'tcp' });
  assert.equal(tcp.answer.length, 1);
  const noEdns = await query(s.dnsPort, 'www.example.net', 'A', { edns: null });
  assert.equal(noEdns.packet.additionals?.length ?? 0, 0, 'no OPT back to a client that sent none');
  const d = await digAsync(s.dnsPort, 'example.com', 'A');
  assert.ok(d.flags.includes('ra'), `dig flags: ${d.flags.join(' ')}`);
  assert.equal(d.answer.length, 1);
  // Cluster names and reverse names of the cluster stay here; an unknown reverse name goes upstream.
  const before = a.received.length;
  assert.equal((await query(s.dnsPort, 'kubernetes.default.svc.cluster.local', 'A')).answer.length, 1);
  assert.equal((await query(s.dnsPort, 'nope.default.svc.cluster.local', 'A')).rcode, 'NXDOMAIN');
  assert.equal((await query(s.dnsPort, '1.0.96.10.in-addr.arpa', 'PTR')).answer.length, 1);
  assert.equal(a.received.length, before);
  await query(s.dnsPort, '9.9.9.9.in-addr.arpa', 'PTR');
  assert.equal(a.received.at(-1), '9.9.9.9.in-addr.arpa');
});

test('replies with a wrong ID, a wrong question or from another port are dropped, never believed', async (t) => {
  const a = await startUpstream();
  t.after(() => a.close());
  const s = await startServe(['--manifests', FIXTURE_DIR, '--upstream', up(a.port), '--upstream-timeout', '300']);
  t.after(() => s.stop());
  for (const mode of ['wrong-id', 'wrong-question', 'other-port'] as const) {
    a.mode = mode;
    const r = await query(s.dnsPort, `${mode}.example.com`, 'A', { timeoutMs: 3000 });
    assert.equal(r.rcode, 'SERVFAIL', `${mode}: timed out upstream, SERVFAIL (not silence, not the forged answer)`);
    assert.equal(r.answer.length, 0, mode);
  }
  a.mode = 'answer';
  // The upstream is probed back to health; then a real answer comes through.
  const end = Date.now() + 10_000;
  let r;
  do r = await query(s.dnsPort, 'after.example.com', 'A', { timeoutMs: 3000 });
  while (r.rcode !== 'NOERROR' && Date.now() < end);
  assert.equal(r.answer.length, 1);
});

test('a truncated UDP reply is asked again over TCP', async (t) => {
  const a = await startUpstream('truncate');
  t.after(() => a.close());
  const s = await startServe(['--manifests', FIXTURE_DIR, '--upstream', up(a.port)]);
  t.after(() => s.stop());
  const r = await query(s.dnsPort, 'big.example.com', 'A');
  assert.equal(r.tc, false);
  assert.equal(r.answer.length, 1);
  assert.deepEqual(a.received, ['big.example.com', 'big.example.com'], 'once over UDP, once over TCP');
});

test('a dead upstream is skipped, and sequential order falls through to the next', async (t) => {
  const dead = await startUpstream('silent');
  const live = await startUpstream();
  t.after(() => Promise.all([dead.close(), live.close()]));
  const s = await startServe(['--manifests', FIXTURE_DIR, '--upstream', `${up(dead.port)},${up(live.port)}`, '--policy', 'sequential', '--upstream-timeout', '200']);
  t.after(() => s.stop());
  for (let i = 0; i < 10; i++) assert.equal((await query(s.dnsPort, `n${i}.example.com`, 'A', { timeoutMs: 3000 })).answer.length, 1);
  // Only the first question (and health probes of the root) reached the dead upstream.
  assert.equal(dead.received.filter((n) => n.endsWith('example.com')).length, 1);
  assert.equal(live.received.filter((n) => n.endsWith('example.com')).length, 10);
});

test('every upstream dead: SERVFAIL, never silence', async (t) => {
  const dead = await startUpstream('silent');
  t.after(() => dead.close());
  const s = await startServe(['--manifests', FIXTURE_DIR, '--upstream', up(dead.port), '--upstream-timeout', '200']);
  t.after(() => s.stop());
  assert.equal((await query(s.dnsPort, 'x.example.com', 'A', { timeoutMs: 3000 })).rcode, 'SERVFAIL');
  assert.equal((await query(s.dnsPort, 'y.example.com', 'A', { timeoutMs: 3000, transport: 'tcp' })).rcode, 'SERVFAIL');
});

test('identical concurrent questions go upstream once; past --max-concurrent, SERVFAIL at once', async (t) => {
  const a = await startUpstream();
  a.delayMs = 400;
  t.after(() => a.close());
  const s = await startServe(['--manifests', FIXTURE_DIR, '--upstream', up(a.port), '--max-concurrent', '2']);
  t.after(() => s.stop());
  const same = await Promise.all(Array.from({ length: 10 }, () => query(s.dnsPort, 'same.example.com', 'A')));
  assert.ok(same.every((r) => r.answer.length === 1));
  assert.equal(a.received.filter((n) => n === 'same.example.com').length, 1);
  const distinct = await Promise.all(Array.from({ length: 6 }, (_, i) => query(s.dnsPort, `d${i}.example.com`, 'A')));
  assert.equal(distinct.filter((r) => r.rcode === 'NOERROR').length, 2);
  assert.equal(distinct.filter((r) => r.rcode === 'SERVFAIL').length, 4);
});

test('stub domains go to their own upstreams', async (t) => {
  const main = await startUpstream();
  const corp = await startUpstream('nxdomain');
  t.after(() => Promise.all([main.close(), corp.close()]));
  const s = await startServe(['--manifests', FIXTURE_DIR, '--upstream', up(main.port), '--stub-domain', `corp.example=${up(corp.port)}`]);
  t.after(() => s.stop());
  assert.equal((await query(s.dnsPort, 'host.corp.example', 'A')).rcode, 'NXDOMAIN');
  assert.equal((await query(s.dnsPort, 'corp.example', 'A')).rcode, 'NXDOMAIN');
  assert.equal((await query(s.dnsPort, 'host.example.com', 'A')).rcode, 'NOERROR');
  assert.deepEqual(corp.received, ['host.corp.example', 'corp.example']);
  assert.deepEqual(main.received, ['host.example.com']);
});

test('forwarding to itself is refused with a clear error: explicit, or from resolv.conf', () => {
  const explicit = runCli(['serve', '--manifests', FIXTURE_DIR, '--listen', '127.0.0.1:15999', '--http', 'none', '--upstream', '127.0.0.1:15999']);
  assert.equal(explicit.status, 2);
  assert.match(explicit.stderr, /--upstream: 127\.0\.0\.1:15999 is this server itself.*loop/);
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-resolv-'));
  writeFileSync(join(dir, 'resolv.conf'), 'search default.svc.cluster.local\nnameserver 127.0.0.1\noptions ndots:5\n');
  const fromFile = runCli(['serve', '--manifests', FIXTURE_DIR, '--listen', '0.0.0.0:53', '--http', 'none', '--resolv-conf', join(dir, 'resolv.conf')]);
  assert.equal(fromFile.status, 2);
  assert.match(fromFile.stderr, /127\.0\.0\.1:53 is this server itself/);
  const missing = runCli(['serve', '--manifests', FIXTURE_DIR, '--listen', '127.0.0.1:0', '--http', 'none', '--resolv-conf', join(dir, 'nope')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read .*nope/);
});

test('forwarded replies are cached: positive and negative, per question; expired ones serve stale when upstreams fail', async (t) => {
  const a = await startUpstream();
  t.after(() => a.close());
  const s = await startServe(['--manifests', FIXTURE_DIR, '--upstream', up(a.port), '--upstream-timeout', '200', '--serve-stale', '3600']);
  t.after(() => s.stop());
  const first = await query(s.dnsPort, 'cached.example.com', 'A');
  for (let i = 0; i < 5; i++) {
    const again = await query(s.dnsPort, i % 2 ? 'CACHED.example.com' : 'cached.example.com', 'A');
    assert.equal(again.answer[0].split(' ').pop(), first.answer[0].split(' ').pop(), 'the same answer, from the cache');
    assert.equal(again.packet.questions?.[0].name, i % 2 ? 'CACHED.example.com' : 'cached.example.com');
  }
  assert.equal(a.received.filter((n) => n.toLowerCase() === 'cached.example.com').length, 1);
  // Another type is another question.
  await query(s.dnsPort, 'cached.example.com', 'AAAA');
  assert.equal(a.received.filter((n) => n.toLowerCase() === 'cached.example.com').length, 2);

  a.mode = 'nxdomain';
  assert.equal((await query(s.dnsPort, 'gone.example.com', 'A')).rcode, 'NXDOMAIN');
  assert.equal((await query(s.dnsPort, 'gone.example.com', 'A')).rcode, 'NXDOMAIN');
  assert.equal(a.received.filter((n) => n === 'gone.example.com').length, 1, 'NXDOMAIN cached by its SOA');

  // A reply that expires at once, then every upstream dead: the expired reply is served, TTL 30.
  a.mode = 'answer';
  a.ttl = 1;
  await query(s.dnsPort, 'short.example.com', 'A');
  await new Promise((r) => setTimeout(r, 1100));
  a.mode = 'silent';
  const stale = await query(s.dnsPort, 'short.example.com', 'A', { timeoutMs: 3000 });
  assert.equal(stale.rcode, 'NOERROR');
  assert.match(stale.answer[0], / 30 IN A 192\.0\.2\.\d+$/);
  assert.equal((await query(s.dnsPort, 'never.example.com', 'A', { timeoutMs: 3000 })).rcode, 'SERVFAIL', 'nothing stale to serve');
});

test('--autopath walks the asking pod search path on the server: one query instead of four', async (t) => {
  const a = await startUpstream();
  t.after(() => a.close());
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-autopath-'));
  for (const f of ['cluster.yaml', 'pods.yaml']) writeFileSync(join(dir, f), readFileSync(join(FIXTURE_DIR, f)));
  // The test's own address is a pod in ns1.
  writeFileSync(join(dir, 'me.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: { name: me, namespace: ns1 }\nstatus: { podIP: 127.0.0.1 }\n');
  const s = await startServe(['--manifests', dir, '--upstream', up(a.port), '--pods', 'verified', '--autopath']);
  t.after(() => s.stop());
  const Z = 'cluster.local';
  const cases: { name: string; qname: string; answer: RegExp[]; rcode?: string }[] = [
    { name: 'a name that exists is answered as usual', qname: `svc1.ns1.svc.${Z}`, answer: [/^svc1\.ns1\.svc\.cluster\.local\. 30 IN A 10\.96\.1\.1$/] },
    {
      name: 'a Service of another namespace, found at svc.<domain>',
      qname: `kubernetes.default.ns1.svc.${Z}`,
      answer: [/^kubernetes\.default\.ns1\.svc\.cluster\.local\. 30 IN CNAME kubernetes\.default\.svc\.cluster\.local\.$/, /^kubernetes\.default\.svc\.cluster\.local\. 30 IN A 10\.96\.0\.1$/],
    },
    {
      name: 'an outside name, found upstream',
      qname: `www.example.com.ns1.svc.${Z}`,
      answer: [/^www\.example\.com\.ns1\.svc\.cluster\.local\. 30 IN CNAME www\.example\.com\.$/, /^www\.example\.com\. 60 IN A 192\.0\.2\.\d+$/],
    },
  ];
  for (const c of cases) {
    const r = await query(s.dnsPort, c.qname, 'A');
    assert.equal(r.rcode, 'NOERROR', c.name);
    assert.equal(r.answer.length, c.answer.length, `${c.name}: ${r.answer.join(' | ')}`);
    c.answer.forEach((re, i) => assert.match(r.answer[i], re, c.name));
  }
  assert.deepEqual(a.received, ['www.example.com'], 'the search list was walked here, not by the pod');
  // From an address that is no pod, nothing is rewritten.
  const other = await query(s.dnsPort, `kubernetes.default.ns1.svc.${Z}`, 'A', { source: '127.0.0.2' });
  assert.equal(other.rcode, 'NXDOMAIN');
  // A name found nowhere stays NXDOMAIN.
  a.mode = 'nxdomain';
  assert.equal((await query(s.dnsPort, `nothere.ns1.svc.${Z}`, 'A')).rcode, 'NXDOMAIN');
  const bad = runCli(['serve', '--manifests', dir, '--listen', '127.0.0.1:0', '--http', 'none', '--upstream', 'none', '--autopath']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--autopath needs --pods verified/);
});

test('forwarding to dnsmasq, an independent resolver', async (t) => {
  const d = await startDnsmasq({ 'real.example': '192.0.2.77', 'other.test': '198.51.100.9' }, 'real.example');
  t.after(() => d.stop());
  const s = await startServe(['--manifests', FIXTURE_DIR, '--upstream', up(d.port)]);
  t.after(() => s.stop());
  assert.deepEqual((await query(s.dnsPort, 'Real.Example', 'A')).answer, ['Real.Example. 0 IN A 192.0.2.77']);
  assert.deepEqual((await query(s.dnsPort, 'www.other.test', 'A', { transport: 'tcp' })).answer.map((a) => a.split(' ').pop()), ['198.51.100.9']);
  assert.equal((await query(s.dnsPort, 'kubernetes.default.svc.cluster.local', 'A')).answer.length, 1);
});

test('two servers forwarding to each other notice the loop, switch forwarding off, and keep serving the cluster', async (t) => {
  const { default: dgram } = await import('node:dgram');
  const free = async () => {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const p = s.address().port;
    s.close();
    return p;
  };
  // Each server must know the other's port before it starts, so the ports are picked ahead; a
  // port free for UDP may be held over TCP by another test's connection meanwhile: pick again.
  type Served = Awaited<ReturnType<typeof startServe>>;
  let a: Served | null = null;
  let b: Served | null = null;
  let pa = 0;
  let pb = 0;
  for (let attempt = 1; b === null; attempt++) {
    [pa, pb] = [await free(), await free()];
    const both = (port: number, upstream: number) => ['--manifests', FIXTURE_DIR, '--listen', `127.0.0.1:${port}`, '--upstream', `127.0.0.1:${upstream}`, '--upstream-timeout', '300'];
    try {
      a = await startServe(both(pa, pb));
      b = await startServe(both(pb, pa));
    } catch (e) {
      await a?.stop();
      a = null;
      if (attempt >= 5 || !/EADDRINUSE/.test(String(e))) throw e;
    }
  }
  t.after(() => a!.stop());
  t.after(() => b!.stop());
  const looped = (s: Served | null) => s!.logs.some((l) => String(l.msg).startsWith('forwarding loop'));
  const end = Date.now() + 10_000;
  while (!(looped(a) || looped(b)) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  assert.ok(looped(a) || looped(b), 'the loop was logged');
  const s = looped(a) ? a! : b!;
  const port = s === a ? pa : pb;
  assert.equal((await query(port, 'example.com', 'A', { timeoutMs: 3000 })).rcode, 'REFUSED', 'forwarding is off');
  assert.equal((await query(port, 'kubernetes.default.svc.cluster.local', 'A')).answer.length, 1, 'the cluster is still served');
  assert.equal(s.proc.exitCode, null, 'no crash');
});
