import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePrefix, RateLimiter, Verdict } from './rate-limit.js';

const hex = (k0: number, k1: number) => `${k0.toString(16)}/${k1.toString(16)}`;

describe('client prefixes: /24 for IPv4, /56 for IPv6', () => {
  const cases: { addr: string; key: string | null }[] = [
    { addr: '10.1.2.3', key: 'a0102/0' },
    { addr: '10.1.2.254', key: 'a0102/0' },
    { addr: '127.0.0.2', key: '7f0000/0' },
    { addr: '127.1.0.2', key: '7f0100/0' },
    { addr: '255.255.255.255', key: 'ffffff/0' },
    { addr: '0.0.0.0', key: '0/0' },
    { addr: '::ffff:10.1.2.3', key: 'a0102/0' },
    { addr: '2001:db8:aaaa:bb00::1', key: '20010db8/1aaaabb' },
    { addr: '2001:db8:aaaa:bbff:ffff:ffff:ffff:ffff', key: '20010db8/1aaaabb' },
    { addr: '2001:DB8:AAAA:BB12::', key: '20010db8/1aaaabb' },
    { addr: '2001:db8:aaaa:bc00::1', key: '20010db8/1aaaabc' },
    { addr: '2001:db8::1', key: '20010db8/1000000' },
    { addr: '::1', key: '0/1000000' },
    { addr: '::', key: '0/1000000' },
    { addr: 'fd00::', key: 'fd000000/1000000' },
    { addr: '1:2:3:4:5:6:7:8', key: '10002/1000300' },
    { addr: '1::5:6:7:8', key: '10000/1000000' },
    { addr: '1:2:3::8', key: '10002/1000300' },
    { addr: 'fe80::1%eth0', key: 'fe800000/1000000' },
    { addr: '', key: null },
    { addr: '10.1.2', key: null },
    { addr: '10.1.2.256', key: null },
    { addr: '10.1..3', key: null },
    { addr: 'a.b.c.d', key: null },
    { addr: '1:2:3:4:5:6:7:8:9', key: null },
    { addr: '12345::1', key: null },
    { addr: 'g::1', key: null },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.addr)} -> ${c.key ?? 'unparseable'}`, () => {
      const p = parsePrefix(c.addr);
      assert.equal(p.ok ? hex(p.k0, p.k1) : null, c.key);
    });
  }
});

/** Verdicts as a string: . pass, x drop, t truncated (slip). */
function run(rl: RateLimiter, steps: { addr: string; at: number; n: number }[]): string {
  let out = '';
  for (const s of steps) {
    for (let i = 0; i < s.n; i++) {
      const v = rl.check(s.addr, s.at);
      out += v === Verdict.Pass ? '.' : v === Verdict.Drop ? 'x' : 't';
    }
    out += ' ';
  }
  return out.trim();
}

describe('rate limiter', () => {
  const cases: { name: string; perSecond: number; slip: number; steps: { addr: string; at: number; n: number }[]; want: string }[] = [
    { name: 'within the limit all pass', perSecond: 5, slip: 2, steps: [{ addr: '10.0.0.1', at: 1, n: 5 }], want: '.....' },
    { name: 'past the limit every second one slips', perSecond: 3, slip: 2, steps: [{ addr: '10.0.0.1', at: 1, n: 8 }], want: '...xtxtx' },
    { name: 'slip 1: every limited reply is truncated', perSecond: 2, slip: 1, steps: [{ addr: '10.0.0.1', at: 1, n: 5 }], want: '..ttt' },
    { name: 'slip 0: limited replies are all dropped', perSecond: 2, slip: 0, steps: [{ addr: '10.0.0.1', at: 1, n: 5 }], want: '..xxx' },
    { name: 'slip 3', perSecond: 1, slip: 3, steps: [{ addr: '10.0.0.1', at: 1, n: 8 }], want: '.xxtxxtx' },
    {
      name: 'the same /24 shares one allowance',
      perSecond: 2,
      slip: 0,
      steps: [
        { addr: '10.0.0.1', at: 1, n: 2 },
        { addr: '10.0.0.200', at: 1, n: 1 },
      ],
      want: '.. x',
    },
    {
      name: 'another /24 has its own',
      perSecond: 2,
      slip: 0,
      steps: [
        { addr: '10.0.0.1', at: 1, n: 3 },
        { addr: '10.0.1.1', at: 1, n: 3 },
      ],
      want: '..x ..x',
    },
    {
      name: 'the same /56 shares one; another /56 has its own',
      perSecond: 1,
      slip: 0,
      steps: [
        { addr: 'fd00:0:0:1::1', at: 1, n: 1 },
        { addr: 'fd00:0:0:ff::2', at: 1, n: 1 },
        { addr: 'fd00:0:0:100::1', at: 1, n: 1 },
      ],
      want: '. x .',
    },
    {
      name: 'the allowance comes back at the rate, up to one second of it',
      perSecond: 10,
      slip: 0,
      steps: [
        { addr: '10.0.0.1', at: 1, n: 11 },
        { addr: '10.0.0.1', at: 101, n: 2 },
        { addr: '10.0.0.1', at: 10_000, n: 11 },
      ],
      want: '..........x .x ..........x',
    },
    { name: 'an address that does not parse is never limited', perSecond: 1, slip: 0, steps: [{ addr: 'garbage', at: 1, n: 3 }], want: '...' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const rl = new RateLimiter({ perSecond: c.perSecond, slip: c.slip });
      assert.equal(run(rl, c.steps), c.want);
      const limited = [...c.want].filter((x) => x !== '.' && x !== ' ').length;
      assert.equal(rl.counters.dropped + rl.counters.slipped, limited);
      assert.equal(rl.counters.slipped, [...c.want].filter((x) => x === 't').length);
    });
  }

  it('a full table reuses quiet slots at no loss, and counts pushing out active prefixes', () => {
    const rl = new RateLimiter({ perSecond: 1, slip: 0, slots: 8 });
    // 8 prefixes fill the 8 slots; each used its allowance.
    for (let i = 0; i < 8; i++) assert.equal(rl.check(`10.0.${i}.1`, 1), Verdict.Pass);
    assert.equal(rl.counters.evictions, 0);
    // A ninth within the same second pushes the one used longest ago out.
    assert.equal(rl.check('10.0.8.1', 2), Verdict.Pass);
    assert.equal(rl.counters.evictions, 1);
    // A second later every slot is quiet: new prefixes take them without an eviction.
    for (let i = 9; i < 17; i++) assert.equal(rl.check(`10.0.${i}.1`, 1500), Verdict.Pass);
    assert.equal(rl.counters.evictions, 1);
    // Prefixes still in the table stay limited.
    assert.equal(rl.check('10.0.16.9', 1500), Verdict.Drop);
  });

  it('refuses settings it cannot honour', () => {
    assert.throws(() => new RateLimiter({ perSecond: 0, slip: 2 }), RangeError);
    assert.throws(() => new RateLimiter({ perSecond: 1, slip: -1 }), RangeError);
    assert.throws(() => new RateLimiter({ perSecond: 1, slip: 2, slots: 100 }), RangeError);
  });
});
