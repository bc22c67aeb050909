import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from './backoff.js';

test('backoff doubles up to its cap, jittered within the upper half, and resets', () => {
  const cases: { random: number; waits: number[] }[] = [
    { random: 0, waits: [50, 100, 200, 400, 500, 500] },
    { random: 1, waits: [100, 200, 400, 800, 1000, 1000] },
    { random: 0.5, waits: [75, 150, 300, 600, 750, 750] },
  ];
  for (const c of cases) {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => c.random });
    assert.deepEqual(Array.from({ length: c.waits.length }, () => b.next()), c.waits, `random ${c.random}`);
    assert.equal(b.attempts, c.waits.length);
    b.reset();
    assert.equal(b.next(), c.waits[0]);
  }
  assert.throws(() => new Backoff({ initialMs: 0, maxMs: 10 }), RangeError);
  assert.throws(() => new Backoff({ initialMs: 10, maxMs: 5 }), RangeError);
});
