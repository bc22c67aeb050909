import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '../dns/constants.js';
import { DnsStats, DURATION_SLOTS } from '../metrics/dns-stats.js';
import { quantileMs, rcodeCounts, StatusHistory } from './status.js';

test('status history: one point a sample, rate and latency of that interval only, bounded', () => {
  const stats = new DnsStats(['dns://127.0.0.1:53'], ['cluster.local.', '.']);
  let now = 10_000;
  const h = new StatusHistory(stats, 3, () => now);
  const queries = (n: number, seconds: number, rcode = 0) => {
    for (let i = 0; i < n; i++) stats.record(0, 0, false, false, Type.A, rcode, seconds, 40, 80);
  };
  queries(200, 0.0001);
  now += 2000;
  const p1 = h.sample();
  assert.equal(p1.qps, 100);
  assert.ok(Math.abs(p1.avgMs - 0.1) < 1e-9);
  assert.equal(p1.p99Ms, 0.25);
  queries(99, 0.0001);
  queries(1, 0.003);
  now += 1000;
  const p2 = h.sample();
  assert.equal(p2.qps, 100);
  assert.equal(p2.p99Ms, 0.25, '99 of 100 within the first bucket');
  queries(50, 0.003, 3);
  now += 1000;
  assert.equal(h.sample().p99Ms, 4);
  now += 1000;
  assert.deepEqual(h.sample(), { t: now, qps: 0, avgMs: 0, p99Ms: 0 });
  assert.equal(h.series().length, 3);
  assert.deepEqual(rcodeCounts(stats), { NOERROR: 300, NXDOMAIN: 50 });
});

test('quantile: upper bound of the bucket that holds the rank', () => {
  const b = new Float64Array(DURATION_SLOTS);
  assert.equal(quantileMs(b, 0.99), 0);
  b[0] = 98;
  b[3] = 2;
  assert.equal(quantileMs(b, 0.5), 0.25);
  assert.equal(quantileMs(b, 0.99), 2);
});
