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

test('one name asked with several types and flags keeps an entry for each', () => {
  const cache = new AnswerCache({ generation: () => 1 });
  const ask = (type: number, rd: boolean, payload?: number): Query => {
    const d = decodeQuery(encodeQuery({ id: 1, name: 'web.cluster.local', type, rd, ...(payload ? { edns: { payload } } : {}) }));
    if (d.kind !== 'query') throw new Error('bad query');
    return d.query;
  };
  const questions = [ask(1, true), ask(28, true), ask(1, false), ask(1, true, 1232), ask(33, true)];
  const made = questions.map((question, i) => {
    assert.equal(cache.entry(question), undefined, `question ${i} not cached yet`);
    const e = cache.create(question, 1);
    e.variants[0] = Buffer.from([i]);
    return e;
  });
  questions.forEach((question, i) => assert.equal(cache.entry(question), made[i], `question ${i}`));
  assert.equal(cache.entries, questions.length);
  const again = cache.create(questions[0], 1);
  assert.equal(cache.entry(questions[0]), again, 'a new entry for the same question replaces the old');
  assert.equal(cache.entry(questions[1]), made[1]);
});
