import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from './backoff.js';

test('backoff doubles up to its cap, jittered between half and all of it, and resets', () => {
  const cases: { random: number; want: number[] }[] = [
    { random: 0, want: [50, 100, 200, 400, 500, 500] },
    { random: 1, want: [100, 200, 400, 800, 1000, 1000] },
    { random: 0.5, want: [75, 150, 300, 600, 750, 750] },
  ];
  for (const c of cases) {
    const b = new Backoff(100, 1000, () => c.random);
    assert.deepEqual(c.want.map(() => b.next()), c.want, `random ${c.random}`);
    b.reset();
    assert.equal(b.next(), c.want[0]);
  }
});
