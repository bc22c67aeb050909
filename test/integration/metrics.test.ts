import { test } from 'node:test';
import assert from 'node:assert/strict';
import { query } from '../helpers/dns-client.js';
import { startServe } from '../helpers/serve-process.js';
import { FIXTURE_DIR } from '../helpers/spec-cases.js';
import { startUpstream } from '../helpers/upstream.js';

/** /metrics speaks CoreDNS's metric names, so existing dashboards and alerts work. */

function value(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return NaN;
}

test('/metrics counts requests, responses, durations, sizes, cache and forwarding under CoreDNS names', async (t) => {
  const a = await startUpstream();
  t.after(() => a.close());
  const s = await startServe(['--manifests', FIXTURE_DIR, '--upstream', `127.0.0.1:${a.port}`]);
  t.after(() => s.stop());
  const server = `dns://127.0.0.1:${s.dnsPort}`;
  for (let i = 0; i < 3; i++) await query(s.dnsPort, 'kubernetes.default.svc.cluster.local', 'A');
  await query(s.dnsPort, 'kubernetes.default.svc.cluster.local', 'SRV', { transport: 'tcp' });
  await query(s.dnsPort, 'nope.default.svc.cluster.local', 'A');
  await query(s.dnsPort, '1.0.96.10.in-addr.arpa', 'PTR');
  for (let i = 0; i < 2; i++) await query(s.dnsPort, 'www.example.com', 'A');

  // Let the start-up loop probe (also a forwarded question) land before counting.
  await new Promise((r) => setTimeout(r, 200));
  const res = await fetch(`http://127.0.0.1:${s.httpPort}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  const m = await res.text();
  const cluster = { server, zone: 'cluster.local.' };
  const cases: [string, Record<string, string>, number][] = [
    ['coredns_dns_requests_total', { ...cluster, proto: 'udp', family: '1', type: 'A' }, 4],
    ['coredns_dns_requests_total', { ...cluster, proto: 'tcp', type: 'SRV' }, 1],
    ['coredns_dns_requests_total', { server, zone: 'in-addr.arpa.', type: 'PTR' }, 1],
    ['coredns_dns_requests_total', { server, zone: '.', type: 'A' }, 2],
    ['coredns_dns_responses_total', { ...cluster, rcode: 'NXDOMAIN' }, 1],
    ['coredns_dns_responses_total', { ...cluster, rcode: 'NOERROR' }, 4],
    ['coredns_dns_request_duration_seconds_count', { ...cluster, type: 'A' }, 4],
    ['coredns_dns_request_duration_seconds_bucket', { ...cluster, type: 'A', le: '+Inf' }, 4],
    ['coredns_dns_response_size_bytes_count', { server, zone: '.', proto: 'udp' }, 2],
    ['coredns_cache_hits_total', {}, 1],
    ['coredns_cache_misses_total', {}, 1],
    ['coredns_cache_entries', {}, 1],
    // One outside question, plus the loop probes sent at start.
    ['coredns_forward_requests_total', { to: `127.0.0.1:${a.port}` }, 1 + a.probes.length],
    ['coredns_forward_responses_total', { to: `127.0.0.1:${a.port}`, rcode: 'NOERROR' }, 1],
    ['coredns_forward_responses_total', { to: `127.0.0.1:${a.port}`, rcode: 'NXDOMAIN' }, a.probes.length],
    ['coredns_panics_total', {}, 0],
    ['coredns_build_info', {}, 1],
  ];
  for (const [name, labels, want] of cases) assert.equal(value(m, name, labels), want, `${name} ${JSON.stringify(labels)}`);
  assert.ok(value(m, 'clusterdns_store_names', {}) > 10);
  assert.match(m, /^process_resident_memory_bytes \d+/m);
});
