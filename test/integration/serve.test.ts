import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { casesFor, FIXTURE_DIR, specCases } from '../helpers/spec-cases.js';
import { assertCase } from '../helpers/assert-case.js';
import { query, sendUdp, parseReply, buildQuery } from '../helpers/dns-client.js';
import { dig, requireDig } from '../helpers/dig.js';
import { startServe, type Served } from '../helpers/serve-process.js';

/** `clusterdns serve` as users run it: the built command line, real sockets, our client and dig. */

const servers: Record<string, Served> = {};

before(async () => {
  requireDig();
  for (const pods of ['disabled', 'insecure', 'verified'] as const) {
    servers[pods] = await startServe(['--manifests', FIXTURE_DIR, '--ttl', '5', '--upstream', 'none', '--pods', pods]);
  }
});

after(async () => {
  await Promise.all(Object.values(servers).map((s) => s.stop()));
});

for (const pods of ['disabled', 'insecure', 'verified'] as const) {
  for (const transport of ['udp', 'tcp'] as const) {
    test(`specification cases over ${transport.toUpperCase()}, --pods ${pods}`, async () => {
      for (const c of casesFor(pods)) assertCase(await query(servers[pods].dnsPort, c.qname, c.qtype, { transport }), c, `${transport}/${pods}`);
    });
  }
}

test('specification cases with dig over UDP and TCP', () => {
  for (const c of casesFor('disabled')) {
    assertCase(dig(servers.disabled.dnsPort, c.qname, c.qtype), c, 'dig');
  }
  for (const c of specCases.filter((x) => x.qtype === 'SRV' || x.rcode === 'NXDOMAIN').filter((x) => !x.pods)) {
    assertCase(dig(servers.disabled.dnsPort, c.qname, c.qtype, ['+tcp']), c, 'dig +tcp');
  }
});

test('names outside the domain are REFUSED with --upstream none', async () => {
  for (const name of ['example.com', 'kubernetes.default.svc.cluster.local.example.com', 'local']) {
    const r = await query(servers.disabled.dnsPort, name, 'A');
    assert.equal(r.rcode, 'REFUSED', name);
    assert.equal(r.aa, false);
    assert.equal(dig(servers.disabled.dnsPort, name, 'A').rcode, 'REFUSED');
  }
});

test('matching ignores case and the reply echoes the question as asked', async () => {
  const r = await query(servers.disabled.dnsPort, 'KuberNetes.Default.SVC.cluster.LOCAL', 'A');
  assert.equal(r.rcode, 'NOERROR');
  assert.equal(r.packet.questions?.[0].name, 'KuberNetes.Default.SVC.cluster.LOCAL');
  assert.deepEqual(r.answer, ['KuberNetes.Default.SVC.cluster.LOCAL. 5 IN A 10.96.0.1']);
});

test('EDNS: the OPT record is echoed only when sent', async () => {
  const withOpt = await query(servers.disabled.dnsPort, 'kubernetes.default.svc.cluster.local', 'A', { edns: 4096 });
  const opt = withOpt.packet.additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
  assert.equal(opt?.udpPayloadSize, 1232);
  const without = await query(servers.disabled.dnsPort, 'kubernetes.default.svc.cluster.local', 'A', { edns: null });
  assert.equal(without.packet.additionals?.length ?? 0, 0);
});

test('health and readiness on the HTTP port', async () => {
  const base = `http://127.0.0.1:${servers.disabled.httpPort}`;
  for (const path of ['/health', '/healthz', '/ready', '/readyz']) {
    const res = await fetch(base + path);
    assert.equal(res.status, 200, path);
  }
  assert.equal((await fetch(`${base}/nope`)).status, 404);
});

test('a headless Service with 200 endpoints: TC over UDP, whole over TCP', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-big-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const endpoints = Array.from({ length: 200 }, (_, i) => `  - { addresses: [10.1.${i >> 8}.${i & 255}], hostname: web-${i} }`).join('\n');
  writeFileSync(
    join(dir, 'big.yaml'),
    `apiVersion: v1\nkind: Service\nmetadata: { name: big, namespace: default }\nspec: { clusterIP: None, ports: [{ name: http, port: 80 }] }\n---\n` +
      `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: { name: big-1, namespace: default, labels: { kubernetes.io/service-name: big } }\n` +
      `addressType: IPv4\nports: [{ name: http, port: 80 }]\nendpoints:\n${endpoints}\n`,
  );
  const s = await startServe(['--manifests', dir, '--ttl', '5']);
  t.after(() => s.stop());
  const name = 'big.default.svc.cluster.local';
  const plain = await query(s.dnsPort, name, 'A', { edns: null });
  assert.ok(plain.tc, 'TC without EDNS');
  assert.ok(plain.raw.length <= 512, `UDP reply of ${plain.raw.length} bytes`);
  assert.ok(plain.answer.length >= 25, `compressed: ${plain.answer.length} records in 512 bytes`);
  const edns = await query(s.dnsPort, name, 'A', { edns: 4096 });
  assert.ok(edns.tc && edns.raw.length <= 1232, `EDNS reply of ${edns.raw.length} bytes`);
  const tcp = await query(s.dnsPort, name, 'A', { transport: 'tcp' });
  assert.equal(tcp.tc, false);
  assert.equal(tcp.answer.length, 200);
  const srv = await query(s.dnsPort, `_http._tcp.${name}`, 'SRV', { transport: 'tcp' });
  assert.equal(srv.answer.length, 200);
  // dig sees the truncation, and retries over TCP on its own.
  const d = dig(s.dnsPort, name, 'A', ['+ignore', '+notcp']);
  assert.ok(d.tc, `dig +ignore shows tc: ${d.flags.join(' ')}`);
  assert.equal(dig(s.dnsPort, name, 'A').answer.length, 200);
});

test('malformed packets get FORMERR or silence, and the server keeps answering', async () => {
  const port = servers.disabled.dnsPort;
  const good = buildQuery('kubernetes.default.svc.cluster.local', 'A', null);
  const loop = Buffer.from(good);
  // Point the question name at itself.
  loop[12] = 0xc0;
  loop[13] = 12;
  const qd2 = Buffer.from(good);
  qd2.writeUInt16BE(2, 4);
  const qd0 = Buffer.from(good);
  qd0.writeUInt16BE(0, 4);
  const longLabel = Buffer.concat([good.subarray(0, 12), Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0, 0, 1, 0, 1])]);
  for (const [what, msg] of [
    ['pointer loop', loop],
    ['QDCOUNT 2', qd2],
    ['QDCOUNT 0', qd0],
    ['64-byte label', longLabel],
  ] as const) {
    const r = parseReply(await sendUdp(port, msg));
    assert.equal(r.rcode, 'FORMERR', what);
  }
  await assert.rejects(sendUdp(port, good.subarray(0, 7), 300), /no UDP reply/, 'a truncated header gets no reply');
  assert.equal((await query(port, 'kubernetes.default.svc.cluster.local', 'A')).rcode, 'NOERROR');
});
