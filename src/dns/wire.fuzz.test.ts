import assert from 'node:assert/strict';
import { test } from 'node:test';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { Rcode, Type } from './constants.js';
import type { RR } from './rr.js';
import { decodeQuery, encodeQuery, encodeReply, readName, WireError } from './wire.js';

/*
 * Property-based fuzz targets for the codec (fast-check): arbitrary and mutated bytes never make
 * the decoder throw or loop, and what the encoder writes reads back the same, here and in
 * dns-packet (an independent decoder). Seeds are fixed so a failure replays; fast-check prints
 * the shrunk counterexample.
 */

const RUNS = 3000;
const SEED = 20261126;

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/);
/** Valid names: 1-6 labels, mixed case, under 255 bytes in wire form. */
const name = fc
  .array(label, { minLength: 1, maxLength: 6 })
  .chain((ls) => fc.array(fc.boolean(), { minLength: ls.join('.').length, maxLength: ls.join('.').length }).map((up) => [...ls.join('.')].map((c, i) => (up[i] ? c.toUpperCase() : c)).join('')));
const qtype = fc.constantFrom(Type.A, Type.AAAA, Type.SRV, Type.PTR, Type.TXT, Type.CNAME, Type.NS, Type.SOA, 65, 999);
const edns = fc.option(fc.record({ payload: fc.integer({ min: 512, max: 4096 }), do: fc.boolean() }), { nil: null });
const query = fc.record({ id: fc.integer({ min: 0, max: 0xffff }), name, type: qtype, rd: fc.boolean(), edns });

/** A real query with some of its bytes replaced, cut short or extended. */
const mutated = fc
  .tuple(query, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.option(fc.nat(), { nil: undefined }), fc.uint8Array({ maxLength: 16 }))
  .map(([q, flips, cut, tail]) => {
    const b = Buffer.from(encodeQuery(q));
    for (const [at, v] of flips) b[at % b.length] = v;
    const head = cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
    return Buffer.concat([head, tail]);
  });

function decodesSafely(bytes: Uint8Array): void {
  const d = decodeQuery(bytes);
  assert.ok(d.kind === 'query' || d.kind === 'drop' || d.kind === 'error', `unknown result kind ${JSON.stringify(d)}`);
  if (d.kind === 'query') {
    assert.ok(d.query.qnameWire.length <= 255, 'a name longer than 255 bytes was accepted');
    assert.equal(d.query.lname, d.query.lname.toLowerCase(), 'lname is lowercase');
    // Never a reply to a response: QR=1 is dropped before anything else.
    assert.equal(bytes[2] & 0x80, 0, 'a packet with QR=1 decoded as a query');
  }
}

test('fuzz: the query decoder takes any bytes without throwing', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), decodesSafely), { numRuns: RUNS, seed: SEED });
});

test('fuzz: mutated real queries (with and without EDNS) decode or are rejected, never throw', () => {
  fc.assert(fc.property(mutated, decodesSafely), { numRuns: RUNS * 3, seed: SEED });
});

test('fuzz: name decompression ends on any bytes and offset, with a name or a WireError', () => {
  // Pointer-heavy input: many bytes are 0xc0-0xff (pointer starts) or small lengths.
  const byte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0xc0, max: 0xff }), fc.integer({ min: 0, max: 12 }));
  fc.assert(
    fc.property(fc.array(byte, { maxLength: 300 }), fc.nat(), (arr, at) => {
      const msg = Uint8Array.from(arr);
      const off = msg.length === 0 ? 0 : at % msg.length;
      try {
        const r = readName(msg, off);
        assert.ok(r.wire.length <= 255, `name of ${r.wire.length} bytes`);
        assert.ok(r.end > off && r.end <= msg.length, `end ${r.end} outside (${off}, ${msg.length}]`);
      } catch (e) {
        assert.ok(e instanceof WireError, `not a WireError: ${String(e)}`);
      }
    }),
    { numRuns: RUNS * 3, seed: SEED },
  );
});

test('fuzz: decode -> encode -> decode: a query read back gives a reply whose question is the query, case kept', () => {
  const addr = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => Uint8Array.from(b));
  fc.assert(
    fc.property(query, fc.array(addr, { maxLength: 12 }), fc.array(fc.tuple(fc.integer({ min: 1, max: 65535 }), name), { maxLength: 6 }), (q, addrs, srvs) => {
      const d = decodeQuery(encodeQuery(q));
      assert.equal(d.kind, 'query');
      if (d.kind !== 'query') return;
      assert.equal(d.query.qname, q.name);
      assert.equal(d.query.lname, q.name.toLowerCase());
      assert.equal(d.query.qtype, q.type);
      assert.equal(d.query.id, q.id);
      assert.equal(d.query.edns?.do ?? false, q.edns?.do ?? false);
      const lname = d.query.lname;
      const answer: RR[] = [
        ...addrs.map((address): RR => ({ type: Type.A, name: lname, ttl: 30, address })),
        ...srvs.map(([port, target]): RR => ({ type: Type.SRV, name: lname, ttl: 30, priority: 0, weight: 10, port, target: target.toLowerCase() })),
      ];
      const bytes = encodeReply(d.query, { rcode: Rcode.NOERROR, aa: true, answer, authority: [], additional: [] }, 65535);
      const p = dnsPacket.decode(bytes);
      assert.equal(p.id, q.id);
      assert.equal(p.questions?.[0]?.name, q.name, 'the question echoed as asked, case kept');
      assert.equal(p.answers?.length, answer.length);
      const a = (p.answers ?? []).filter((x) => x.type === 'A').map((x) => x.data);
      assert.deepEqual(a, addrs.map((b) => b.join('.')));
      const s = (p.answers ?? []).filter((x) => x.type === 'SRV').map((x) => x.data as { port: number; target: string });
      assert.deepEqual(s.map((x) => [x.port, x.target]), srvs.map(([port, t]) => [port, t.toLowerCase()]));
      // And our own decoder reads the reply's question back the same (a reply is a message too).
      const again = Buffer.from(bytes);
      again[2] &= 0x7f; // as a query
      const d2 = decodeQuery(again);
      if (d2.kind === 'query') assert.equal(d2.query.qname, q.name);
    }),
    { numRuns: RUNS, seed: SEED },
  );
});
