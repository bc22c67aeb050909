import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { decodeQuery, encodeQuery, type Query } from '../dns/wire.js';
import { clientReply, replyMismatch, upstreamQuery, withoutOpt } from './message.js';

function query(name: string, edns: boolean): Query {
  const d = decodeQuery(encodeQuery({ id: 77, name, type: 1, edns: edns ? { payload: 1232 } : null }));
  if (d.kind !== 'query') throw new Error('bad query');
  return d.query;
}

function reply(sent: Buffer, edit: (p: dnsPacket.Packet) => void = () => undefined, answers = 1): Buffer {
  const q = dnsPacket.decode(sent);
  const p: dnsPacket.Packet = {
    type: 'response',
    id: q.id,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: q.questions,
    answers: Array.from({ length: answers }, (_, i) => ({ type: 'A', name: q.questions![0].name, ttl: 60, data: `192.0.2.${i % 250}` }) as dnsPacket.Answer),
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as dnsPacket.Answer],
  };
  edit(p);
  return dnsPacket.encode(p);
}

test('a reply is believed only when it answers exactly the question sent', () => {
  const sent = upstreamQuery(query('Www.Example.com', true), 4242);
  const cases: [string, Buffer, string][] = [
    ['the right reply', reply(sent), ''],
    ['another ID', reply(sent, (p) => (p.id = 4243)), 'wrong ID'],
    ['the name in another case', reply(sent, (p) => (p.questions![0].name = 'www.example.com')), 'wrong question name'],
    ['another type', reply(sent, (p) => (p.questions![0].type = 'AAAA')), 'wrong question type or class'],
    ['a query, not a response', Buffer.from(sent), 'not a response'],
    ['a short message', Buffer.alloc(5), 'shorter than a header'],
  ];
  for (const [what, r, why] of cases) assert.equal(replyMismatch(r, sent), why, what);
});

test('the client gets its own ID and case, OPT only if it sent one, and TC when the reply does not fit', () => {
  const q = query('WWW.example.com', false);
  const up = reply(upstreamQuery(q, 9));
  const out = dnsPacket.decode(clientReply(up, q, 512));
  assert.equal(out.id, 77);
  assert.equal(out.questions![0].name, 'WWW.example.com');
  assert.equal(out.additionals!.length, 0);
  assert.equal(out.answers!.length, 1);
  const big = reply(upstreamQuery(q, 9), undefined, 60);
  const cut = clientReply(big, q, 512);
  assert.ok(cut.length <= 512);
  const parsed = dnsPacket.decode(cut);
  assert.ok((parsed.flags! & dnsPacket.TRUNCATED_RESPONSE) !== 0);
  assert.equal(parsed.answers!.length, 0);
  const withEdns = query('www.example.com', true);
  assert.equal(dnsPacket.decode(clientReply(reply(upstreamQuery(withEdns, 9)), withEdns, 1232)).additionals!.length, 1);
  assert.equal(withoutOpt(Buffer.from([1, 2, 3])).length, 3, 'a message that does not parse is left as it is');
});
