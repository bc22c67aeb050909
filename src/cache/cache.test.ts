import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { cacheable, ForwardCache } from './cache.js';

const A = (ttl: number): dnsPacket.Answer => ({ type: 'A', name: 'a.example', ttl, data: '192.0.2.1' });
const SOA = (ttl: number, minimum: number): dnsPacket.Answer => ({
  type: 'SOA',
  name: 'example',
  ttl,
  data: { mname: 'ns.example', rname: 'h.example', serial: 1, refresh: 1, retry: 1, expire: 1, minimum },
});

function msg(rcode: number, answers: dnsPacket.Answer[], authorities: dnsPacket.Answer[] = [], flags = 0): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: 1,
    flags: dnsPacket.RECURSION_AVAILABLE | flags | rcode,
    questions: [{ type: 'A', name: 'a.example' }],
    answers,
    authorities,
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as dnsPacket.Answer],
  } as dnsPacket.Packet);
}

test('what is cached, and for how long', () => {
  const cases: [string, Buffer, number | null][] = [
    ['positive: the smallest answer TTL', msg(0, [A(300), A(60)]), 60],
    ['NXDOMAIN: min(SOA TTL, SOA MINIMUM) (RFC 2308)', msg(3, [], [SOA(3600, 120)]), 120],
    ['NODATA with SOA', msg(0, [], [SOA(30, 900)]), 30],
    ['NXDOMAIN without SOA: not cached', msg(3, []), null],
    ['NODATA without SOA: not cached', msg(0, []), null],
    ['SERVFAIL: not cached', msg(2, []), null],
    ['REFUSED: not cached', msg(5, []), null],
    ['truncated: not cached', msg(0, [A(60)], [], dnsPacket.TRUNCATED_RESPONSE), null],
    ['garbage: not cached', Buffer.from([0, 1, 0x80, 0, 0, 1, 0, 1, 0, 0, 0, 0, 9]), null],
  ];
  for (const [what, m, ttl] of cases) assert.equal(cacheable(m)?.ttl ?? null, ttl, what);
});

test('TTLs count down in served copies; expired entries stay only within the stale window', () => {
  let now = 1_000_000;
  const cache = new ForwardCache({ maxEntries: 10, minTtl: 0, maxTtl: 3600, staleSeconds: 100, now: () => now });
  assert.ok(cache.store('k', msg(0, [A(60)])));
  now += 25_000;
  let e = cache.lookup('k')!;
  assert.ok(cache.fresh(e));
  assert.equal(dnsPacket.decode(cache.render(e)).answers![0].ttl, 35);
  now += 40_000;
  e = cache.lookup('k')!;
  assert.equal(cache.fresh(e), false, 'expired');
  assert.equal(dnsPacket.decode(cache.render(e)).answers![0].ttl, 30, 'stale entries are served with TTL 30');
  now += 100_000;
  assert.equal(cache.lookup('k'), undefined, 'past the stale window');
});

test('minimum and maximum TTL bound how long an entry is kept', () => {
  const cache = new ForwardCache({ maxEntries: 10, minTtl: 10, maxTtl: 100, staleSeconds: 0 });
  cache.store('short', msg(0, [A(2)]));
  cache.store('long', msg(0, [A(86400)]));
  assert.equal(cache.lookup('short')!.ttl, 10);
  assert.equal(cache.lookup('long')!.ttl, 100);
  const off = new ForwardCache({ maxEntries: 0, minTtl: 0, maxTtl: 100, staleSeconds: 0 });
  assert.equal(off.store('k', msg(0, [A(60)])), false, 'size 0 turns the cache off');
});

test('least recently used entries go first', () => {
  const cache = new ForwardCache({ maxEntries: 2, minTtl: 0, maxTtl: 3600, staleSeconds: 0 });
  cache.store('a', msg(0, [A(60)]));
  cache.store('b', msg(0, [A(60)]));
  cache.lookup('a');
  cache.store('c', msg(0, [A(60)]));
  assert.ok(cache.lookup('a'));
  assert.equal(cache.lookup('b'), undefined);
  assert.ok(cache.lookup('c'));
  assert.equal(cache.counters.evictions, 1);
  assert.equal(cache.size, 2);
});
