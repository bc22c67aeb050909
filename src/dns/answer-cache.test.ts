import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnswerCache } from './answer-cache.js';
import { decodeQuery, encodeQuery, type Query } from './wire.js';

function q(name: string): Query {
  const d = decodeQuery(encodeQuery({ id: 1, name, type: 1 }));
  if (d.kind !== 'query') throw new Error('bad query');
  return d.query;
}

test('answers for names that do not exist have a bound of their own: a random-name flood cannot push out the rest', () => {
  const cache = new AnswerCache({ generation: () => 1, maxEntries: 1000, maxNegative: 100 });
  const known = q('web.default.svc.cluster.local');
  cache.create(known, 1).variants[0] = Buffer.from('answer');
  for (let i = 0; i < 5000; i++) cache.create(q(`r${i}.nope.svc.cluster.local`), 1, true);
  assert.ok(cache.entries <= 1 + 100, `${cache.entries} entries`);
  assert.ok(cache.entry(known), 'the positive answer survived the flood');
});

test('a new data generation drops every entry', () => {
  let gen = 1;
  const cache = new AnswerCache({ generation: () => gen });
  cache.create(q('a.cluster.local'), 1);
  assert.ok(cache.entry(q('a.cluster.local')));
  gen = 2;
  assert.equal(cache.entry(q('a.cluster.local')), undefined);
  assert.equal(cache.entries, 0);
});
