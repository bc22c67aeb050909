import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rcode } from '../dns/constants.js';
import { DnsStats } from './dns-stats.js';
import { TopNames } from './top-names.js';

test('top names: most frequent first, ties by name', () => {
  const t = new TopNames(100);
  for (const [name, n] of [['a', 3], ['b', 5], ['c', 3], ['d', 1]] as const) for (let i = 0; i < n; i++) t.add(name);
  assert.deepEqual(t.top(3), [
    { name: 'b', count: 5 },
    { name: 'a', count: 3 },
    { name: 'c', count: 3 },
  ]);
});

test('top names: memory stays bounded and frequent names survive a flood of one-off names', () => {
  const t = new TopNames(64);
  for (let i = 0; i < 50; i++) t.add('popular');
  for (let i = 0; i < 10_000; i++) t.add(`random-${i}`);
  assert.ok(t.size <= 64, `size ${t.size}`);
  assert.deepEqual(t.top(1), [{ name: 'popular', count: 50 }]);
});

test('sampled names: every name of a periodic load is seen, in proportion, and NXDOMAIN names apart', () => {
  const stats = new DnsStats(['dns://127.0.0.1:53'], ['cluster.local.', '.'], 8);
  const names = ['a.svc', 'b.svc', 'c.svc', 'd.svc'];
  // A period (4) that divides the sampling rate (8): a fixed countdown would only ever see one name.
  for (let i = 0; i < 40_000; i++) stats.noteName(names[i % 4], i % 4 === 3 ? Rcode.NXDOMAIN : Rcode.NOERROR);
  const top = stats.topNames.top(10);
  assert.deepEqual(top.map((x) => x.name).sort(), names);
  for (const x of top) assert.ok(x.count > 600 && x.count < 1900, `${x.name}: ${x.count} samples of 10000 queries at 1 in 8`);
  const nx = stats.topNxdomain.top(10);
  assert.deepEqual(nx.map((x) => x.name), ['d.svc']);
  assert.ok(nx[0].count > 600 && nx[0].count < 1900, `${nx[0].count}`);
});
