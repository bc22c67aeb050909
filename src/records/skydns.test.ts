import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatSkyDnsValue, keyToName, nameRecords, nameToKey, parseSkyDnsValue, SkyDnsValueError, type KeyedService } from './skydns.js';
import { Type } from '../dns/constants.js';
import type { RR } from '../dns/rr.js';

const P = '/skydns';

test('key <-> name: the domain reversed under the prefix', () => {
  const cases: [string, string | null][] = [
    ['/skydns/local/cluster/svc/ns1/web/x1', 'x1.web.ns1.svc.cluster.local'],
    ['/skydns/local/skydns/', 'skydns.local'],
    ['/skydns/arpa/in-addr/10/0/0/127', '127.0.0.10.in-addr.arpa'],
    ['/skydns/local/Cluster/SVC', 'svc.cluster.local'],
    ['/skydns/local/example/lb/*', '*.lb.example.local'],
    ['/skydns/local//x', null],
    ['/other/local/x', null],
    ['/skydns/local/bad label', null],
    [`/skydns/local/${'a'.repeat(64)}`, null],
  ];
  for (const [key, name] of cases) assert.equal(keyToName(P, key), name, key);
  assert.equal(nameToKey(P, 'x1.web.ns1.svc.cluster.local'), '/skydns/local/cluster/svc/ns1/web/x1');
  assert.equal(nameToKey('/skydns/', 'a.b'), '/skydns/b/a');
});

test('key <-> name round trip (property)', () => {
  const label = fc.stringMatching(/^[a-z0-9_-]{1,20}$/);
  fc.assert(
    fc.property(fc.array(label, { minLength: 1, maxLength: 8 }), (labels) => {
      const name = labels.join('.');
      assert.equal(keyToName(P, nameToKey(P, name)), name);
    }),
  );
});

test('values: SkyDNS fields, zero values left out, typed errors naming the key', () => {
  const v = parseSkyDnsValue('/k', '{"host":"10.0.0.1","port":8080,"priority":10,"weight":20,"ttl":"60","text":"t","targetstrip":1,"group":"g"}');
  assert.deepEqual(v, { host: '10.0.0.1', port: 8080, priority: 10, weight: 20, ttl: 60, text: 't', targetstrip: 1, group: 'g' });
  assert.equal(formatSkyDnsValue({ host: 'a.b', port: 0, ttl: 5 }), '{"host":"a.b","ttl":5}');
  const bad: [string, RegExp][] = [
    ['not json', /not JSON/],
    ['[1]', /JSON object/],
    ['{"host":42}', /"host" must be a string/],
    ['{"port":70000}', /"port" must be an integer 0-65535/],
    ['{"ttl":-1}', /"ttl"/],
    ['{"weight":1.5}', /"weight"/],
    ['{"host":"not a name!"}', /neither an IP address nor a domain name/],
  ];
  for (const [raw, re] of bad) {
    const e = parseSkyDnsValue('/skydns/local/x', raw);
    assert.ok(e instanceof SkyDnsValueError, raw);
    assert.equal(e.code, 'CLUSTERDNS_ERR_SKYDNS_VALUE');
    assert.match(e.message, /^etcd key \/skydns\/local\/x: /);
    assert.match(e.message, re, raw);
  }
});

test('the value parser never throws, whatever the bytes (property)', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.json(), fc.uint8Array().map((b) => Buffer.from(b).toString('latin1'))), (raw) => {
      const v = parseSkyDnsValue('/k', raw);
      assert.ok(v instanceof SkyDnsValueError || typeof v.host === 'string');
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.record({ host: fc.oneof(fc.ipV4(), fc.domain()), port: fc.integer({ min: 0, max: 65535 }), ttl: fc.integer({ min: 0, max: 3600 }) }), (s) => {
      const v = parseSkyDnsValue('/k', formatSkyDnsValue(s));
      assert.ok(!(v instanceof SkyDnsValueError));
      assert.equal(v.host, s.host);
      assert.equal(v.port, s.port);
      assert.equal(v.ttl, s.ttl);
    }),
  );
});

function keyed(name: string, json: object, key = nameToKey(P, name)): KeyedService {
  const service = parseSkyDnsValue(key, JSON.stringify(json));
  if (service instanceof SkyDnsValueError) throw service;
  return { key, name, service };
}

function lines(rrs: readonly RR[]): string[] {
  return rrs
    .map((r) => {
      switch (r.type) {
        case Type.A:
          return `${r.name} ${r.ttl} A ${typeof r.address === 'number' ? [r.address >>> 24, (r.address >> 16) & 255, (r.address >> 8) & 255, r.address & 255].join('.') : [...r.address].join('.')}`;
        case Type.AAAA:
          return `${r.name} ${r.ttl} AAAA ${Buffer.from(r.address as Uint8Array).toString('hex')}`;
        case Type.SRV:
          return `${r.name} ${r.ttl} SRV ${r.priority} ${r.weight} ${r.port} ${r.target}`;
        case Type.CNAME:
        case Type.PTR:
          return `${r.name} ${r.ttl} ${r.type === Type.CNAME ? 'CNAME' : 'PTR'} ${r.target}`;
        case Type.TXT:
          return `${r.name} ${r.ttl} TXT ${r.texts.map((t) => JSON.stringify(t)).join(' ')}`;
        default:
          return `${r.name} ${r.type}`;
      }
    })
    .sort();
}

const R = 'rails.east.skydns.local';
const cases: { name: string; at: string; keys: KeyedService[]; want: string[] }[] = [
  {
    name: 'IP hosts: A at the name, SRV targets the key name with SkyDNS weights per priority',
    at: R,
    keys: [keyed(`a.${R}`, { host: '10.0.0.1', port: 80, weight: 120 }), keyed(`b.${R}`, { host: '10.0.0.2', port: 80, weight: 100 }), keyed(`c.${R}`, { host: '10.0.0.3', port: 80, weight: 130 }), keyed(`d.${R}`, { host: '10.0.0.4', port: 81, priority: 5 })],
    want: [`${R} 30 A 10.0.0.1`, `${R} 30 A 10.0.0.2`, `${R} 30 A 10.0.0.3`, `${R} 30 A 10.0.0.4`, `${R} 30 SRV 0 34 80 a.${R}`, `${R} 30 SRV 0 28 80 b.${R}`, `${R} 30 SRV 0 37 80 c.${R}`, `${R} 30 SRV 5 100 81 d.${R}`].sort(),
  },
  {
    name: 'targetstrip takes labels off the SRV target; duplicates count once',
    at: R,
    keys: [keyed(`x1.${R}`, { host: '10.0.0.1', port: 80, targetstrip: 1 }), keyed(`x2.${R}`, { host: '10.0.0.1', port: 80, targetstrip: 1 })],
    want: [`${R} 30 A 10.0.0.1`, `${R} 30 SRV 0 100 80 ${R}`],
  },
  { name: 'a name host without port is a CNAME', at: R, keys: [keyed(`a.${R}`, { host: 'Other.Example.com.', ttl: 9 })], want: [`${R} 9 CNAME other.example.com`] },
  { name: 'a name host with a port is an SRV target', at: R, keys: [keyed(`a.${R}`, { host: 'other.example.com', port: 443 })], want: [`${R} 30 SRV 0 100 443 other.example.com`] },
  { name: 'two CNAME candidates cannot share a name: neither is served', at: R, keys: [keyed(`a.${R}`, { host: 'x.example.com' }), keyed(`b.${R}`, { host: 'y.example.com' })], want: [] },
  { name: 'a CNAME does not share its name with addresses', at: R, keys: [keyed(`a.${R}`, { host: 'x.example.com' }), keyed(`b.${R}`, { host: '10.0.0.9' })], want: [`${R} 30 A 10.0.0.9`] },
  { name: 'text is TXT, split in 255-byte strings', at: R, keys: [keyed(R, { text: 'x'.repeat(300) })], want: [`${R} 30 TXT "${'x'.repeat(255)}" "${'x'.repeat(45)}"`] },
  { name: 'IPv6 host is AAAA', at: R, keys: [keyed(R, { host: 'fd00::1' })], want: [`${R} 30 AAAA fd000000000000000000000000000001`] },
  { name: 'reverse names: host is the PTR target', at: '127.0.0.10.in-addr.arpa', keys: [keyed('127.0.0.10.in-addr.arpa', { host: 'reverse.skydns.local.' })], want: ['127.0.0.10.in-addr.arpa 30 PTR reverse.skydns.local'] },
  {
    name: 'groups: the shortest keys agree on g1, so g2 is left out',
    at: R,
    keys: [keyed(R, { host: '10.0.0.1', group: 'g1' }), keyed(`b.${R}`, { host: '10.0.0.2', group: 'g2' }), keyed(`c.${R}`, { host: '10.0.0.3' })],
    want: [`${R} 30 A 10.0.0.1`, `${R} 30 A 10.0.0.3`],
  },
];

for (const c of cases) {
  test(`name records: ${c.name}`, () => {
    const set = nameRecords(c.at, c.keys, 30);
    assert.deepEqual(lines(set.records), c.want);
    assert.deepEqual(set.names, [c.at]);
  });
}
