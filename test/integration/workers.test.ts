import { test } from 'node:test';
import assert from 'node:assert/strict';
import { query } from '../helpers/dns-client.js';
import { startServe } from '../helpers/serve-process.js';
import { FIXTURE_DIR } from '../helpers/spec-cases.js';

/** `serve --workers N`: several processes on the same addresses, one HTTP port, restarts, clean stop. */

async function until(what: string, check: () => Promise<boolean>, deadlineMs = 10_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`${what}: not seen within ${deadlineMs} ms`);
}

test('--workers 2 answers over UDP and TCP, replaces a worker that dies, and stops cleanly', async (t) => {
  const s = await startServe(['--manifests', FIXTURE_DIR, '--workers', '2']);
  t.after(() => s.stop());
  const name = 'kubernetes.default.svc.cluster.local';
  const workerPids = () => s.logs.filter((l) => l.msg === 'worker serving').map((l) => l.pid as number);
  // Workers write their own lines; the primary's may come first.
  await until('both workers report serving', async () => workerPids().length === 2);
  for (let i = 0; i < 20; i++) {
    assert.equal((await query(s.dnsPort, name, 'A')).answer.length, 1);
    assert.equal((await query(s.dnsPort, name, 'A', { transport: 'tcp' })).answer.length, 1);
  }
  assert.equal((await fetch(`http://127.0.0.1:${s.httpPort}/ready`)).status, 200);

  process.kill(workerPids()[0], 'SIGKILL');
  await until('a third worker serves', async () => workerPids().length === 3);
  for (let i = 0; i < 20; i++) assert.equal((await query(s.dnsPort, name, 'A')).answer.length, 1);

  const exit = new Promise<number | null>((r) => s.proc.once('exit', (c) => r(c)));
  s.proc.kill('SIGTERM');
  assert.equal(await exit, 0);
  for (const pid of workerPids().slice(1)) {
    assert.throws(() => process.kill(pid, 0), /ESRCH/, `worker ${pid} has exited`);
  }
});

/** Sum of every series of a metric in Prometheus text (NaN when absent). */
function total(text: string, name: string): number {
  let sum = NaN;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    sum = (Number.isNaN(sum) ? 0 : sum) + Number(line.split(' ').pop());
  }
  return sum;
}

test('--workers 3: /metrics on the one HTTP port sums the counts of every worker', async (t) => {
  const s = await startServe(['--manifests', FIXTURE_DIR, '--workers', '3', '--log-queries']);
  t.after(() => s.stop());
  await until('all workers report serving', async () => s.logs.filter((l) => l.msg === 'worker serving').length === 3);
  // TCP connections are dealt to the workers in turn; UDP goes to whichever reads first.
  const tcp = 24;
  const udp = 30;
  for (let i = 0; i < tcp; i++) assert.equal((await query(s.dnsPort, 'kubernetes.default.svc.cluster.local', 'A', { transport: 'tcp' })).rcode, 'NOERROR');
  for (let i = 0; i < udp; i++) assert.equal((await query(s.dnsPort, `nope-${i}.default.svc.cluster.local`, 'A')).rcode, 'NXDOMAIN');
  const answeredBy = () => new Set(s.logs.filter((l) => l.component === 'query').map((l) => l.pid));
  await until('every query logged', async () => s.logs.filter((l) => l.component === 'query').length === tcp + udp);
  assert.ok(answeredBy().size >= 2, `queries were answered by several workers (pids ${[...answeredBy()].join(', ')})`);

  const res = await fetch(`http://127.0.0.1:${s.httpPort}/metrics`);
  assert.equal(res.status, 200);
  const m = await res.text();
  assert.equal(total(m, 'coredns_dns_requests_total'), tcp + udp, 'requests of all workers');
  assert.match(m, new RegExp(`^coredns_dns_requests_total\\{[^}]*proto="tcp"[^}]*\\} ${tcp}$`, 'm'));
  assert.match(m, new RegExp(`^coredns_dns_responses_total\\{[^}]*rcode="NXDOMAIN"[^}]*\\} ${udp}$`, 'm'));
  assert.match(m, new RegExp(`^coredns_dns_responses_total\\{[^}]*rcode="NOERROR"[^}]*\\} ${tcp}$`, 'm'));
  assert.equal(total(m, 'coredns_dns_request_duration_seconds_count'), tcp + udp);
  assert.equal(total(m, 'coredns_dns_request_size_bytes_count'), tcp + udp);
  // What each worker holds a copy of is shown once, not three times.
  assert.equal(total(m, 'coredns_build_info'), 1);
  assert.equal(total(m, 'clusterdns_workers'), 3);
  assert.equal(total(m, 'clusterdns_workers_scraped'), 3);
  const single = await startServe(['--manifests', FIXTURE_DIR]);
  t.after(() => single.stop());
  const one = await (await fetch(`http://127.0.0.1:${single.httpPort}/metrics`)).text();
  assert.equal(total(m, 'clusterdns_store_names'), total(one, 'clusterdns_store_names'));

  // A second scrape counts on from the first.
  for (let i = 0; i < 6; i++) await query(s.dnsPort, 'kubernetes.default.svc.cluster.local', 'A', { transport: 'tcp' });
  const again = await (await fetch(`http://127.0.0.1:${s.httpPort}/metrics`)).text();
  assert.equal(total(again, 'coredns_dns_requests_total'), tcp + udp + 6);
});
