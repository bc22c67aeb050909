import { test } from 'node:test';
import assert from 'node:assert/strict';
import { query } from '../helpers/dns-client.js';
import { startServe } from '../helpers/serve-process.js';
import { FIXTURE_DIR } from '../helpers/spec-cases.js';

/** --log-queries: CoreDNS's line format, sampled so logging cannot become the bottleneck. */

test('--log-queries writes one line per query in CoreDNS format, and samples beyond its rate', async (t) => {
  const s = await startServe(['--manifests', FIXTURE_DIR, '--log-queries', '5']);
  t.after(() => s.stop());
  await query(s.dnsPort, 'Kubernetes.default.svc.cluster.local', 'A');
  await query(s.dnsPort, 'nope.default.svc.cluster.local', 'AAAA', { transport: 'tcp' });
  const until = async (check: () => boolean) => {
    const end = Date.now() + 5000;
    while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  };
  const lines = () => s.logs.filter((l) => l.component === 'query' && !('skipped' in l)).map((l) => String(l.msg));
  await until(() => lines().length >= 2);
  assert.match(lines()[0], /^127\.0\.0\.1:\d+ - \d+ "A IN Kubernetes\.default\.svc\.cluster\.local\. udp \d+ false 1232" NOERROR qr,aa,rd \d+ \d+\.\d{6}s$/);
  assert.match(lines()[1], /^127\.0\.0\.1:\d+ - \d+ "AAAA IN nope\.default\.svc\.cluster\.local\. tcp \d+ false 1232" NXDOMAIN qr,aa,rd \d+ \d+\.\d{6}s$/);
  // 50 more in well under a second: at most 5 lines a second, the rest counted.
  await Promise.all(Array.from({ length: 50 }, () => query(s.dnsPort, 'kubernetes.default.svc.cluster.local', 'A')));
  await new Promise((r) => setTimeout(r, 1100));
  await query(s.dnsPort, 'kubernetes.default.svc.cluster.local', 'A');
  await until(() => s.logs.some((l) => 'skipped' in l));
  const skipped = s.logs.filter((l) => 'skipped' in l).reduce((n, l) => n + Number(l.skipped), 0);
  assert.ok(lines().length <= 5 * 3, `${lines().length} lines logged`);
  assert.ok(skipped >= 30, `${skipped} counted as not logged`);
});
