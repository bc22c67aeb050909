import { test } from 'node:test';
import assert from 'node:assert/strict';
import { query } from '../helpers/dns-client.js';
import { corpus, runCorpus } from './corpus.js';
import { FULL_FUZZ, runFuzz } from './fuzz.js';
import { health, mib, sequentialUdp, startWatched } from './lib.js';
import { ConnPool, tcpOnce } from './tcp.js';
import { flood, healthOnce, holdHttp } from './health.js';
import { manifestFaults, upstreamFaults } from './faults.js';
import { crashRestarts, freePort } from './crash.js';

/**
 * The short version of `npm run test:stress`, run by `npm test`: the same checks at a size
 * that takes seconds. No timing decides anything here; figures go to the test's diagnostics.
 */

test('fuzzer: 20,000 mutated queries get only well-formed replies, and the server stays up and correct', async (t) => {
  const w = await startWatched();
  t.after(() => w.stop());
  const warm = await sequentialUdp(w.port, 500);
  assert.equal(warm.failed, 0, 'warm-up queries answered');
  const before = w.rssKiB();
  const r = await runFuzz(w, { ...FULL_FUZZ, packets: 20_000 });
  const after = w.rssKiB();
  t.diagnostic(
    `${r.sent} packets in ${r.seconds.toFixed(1)} s; replies ${r.replies}/${r.expected}, drops ${r.drops}, QR=1 ${r.qrSent}; ` +
      `good ${r.good.ok}/${r.good.sent}; RSS ${mib(before)} -> peak ${mib(r.peakRssKiB)}, after ${mib(after)} MiB`,
  );
  const detail = r.samples.join('\n');
  assert.equal(r.unparseable, 0, `replies dns-packet cannot parse:\n${detail}`);
  assert.equal(r.noQr, 0, `replies without QR:\n${detail}`);
  assert.equal(r.badRcode, 0, `replies with an rcode outside NOERROR..REFUSED, BADVERS:\n${detail}`);
  assert.equal(r.qrReplies, 0, `replies to messages with QR=1:\n${detail}`);
  assert.equal(r.unexpected, 0, `replies to nothing in flight:\n${detail}`);
  assert.equal(r.good.ok, r.good.sent, `well-formed queries between mutations: ${JSON.stringify(r.good)}\n${detail}`);
  assert.ok(Math.max(r.peakRssKiB, after) <= before + 32 * 1024, `RSS ${mib(before)} -> ${mib(Math.max(r.peakRssKiB, after))} MiB`);
  const h = health(w);
  assert.ok(h.ok, h.text);
});

test('RFC 9267 corpus, once each: a well-formed reply or silence, and the server stays up', async (t) => {
  const w = await startWatched();
  t.after(() => w.stop());
  const results = await runCorpus(w.port, 1);
  assert.equal(results.length, corpus().length);
  for (const c of results) {
    t.diagnostic(`${c.name}: ${Object.keys(c.outcomes).join(',')}`);
    assert.equal(c.bad, 0, `${c.name}: a bad reply, or the query after it went unanswered`);
  }
  assert.ok(results.find((c) => c.name === 'header-11')!.outcomes.drop === 1, 'no reply to a message shorter than a header');
  const h = health(w);
  assert.ok(h.ok, h.text);
});

test('300 idle TCP connections: a new TCP query and a UDP query are still answered', async (t) => {
  const w = await startWatched();
  t.after(() => w.stop());
  const pool = new ConnPool(w.port, 300, 'idle');
  t.after(() => pool.close());
  await pool.filled();
  assert.equal(pool.stats.open, 300, `idle connections open: ${JSON.stringify(pool.stats)}`);
  const tcp = await tcpOnce(w.port, 0, 5000);
  assert.notEqual(tcp, null, 'a new TCP connection is answered');
  assert.deepEqual((await query(w.port, 'kubernetes.default.svc.cluster.local', 'A')).answer, ['kubernetes.default.svc.cluster.local. 5 IN A 10.96.0.1']);
  assert.equal(pool.stats.closedByServer, 0, 'idle connections under the limit are kept');
  await pool.close();
  const h = health(w);
  assert.ok(h.ok, h.text);
});

test('/health answers during a UDP flood with more unfinished HTTP requests held than the port allows', async (t) => {
  const w = await startWatched();
  t.after(() => w.stop());
  const flooding = flood(w.port, 3);
  const held = await holdHttp(w.served.httpPort, 120);
  t.after(() => held.close());
  const lat: number[] = [];
  for (let i = 0; i < 20; i++) {
    const ms = await healthOnce(w.served.httpPort, 10_000);
    assert.notEqual(ms, null, `probe ${i} answered 200`);
    lat.push(ms!);
  }
  const f = await flooding;
  t.diagnostic(`flood ${f.replies}/${f.sent} answered; /health max ${Math.max(...lat).toFixed(1)} ms; held connections closed by the server ${held.closedByServer()}`);
  assert.ok(f.replies > 0, 'the flood was answered');
  assert.ok(held.closedByServer() >= 20, 'connections past the cap of 100 closed');
  assert.deepEqual((await query(w.port, 'kubernetes.default.svc.cluster.local', 'A')).answer, ['kubernetes.default.svc.cluster.local. 5 IN A 10.96.0.1']);
  const h = health(w);
  assert.ok(h.ok, h.text);
});

test('manifest faults (broken file, unreadable file and directory, directory deleted): cluster names keep their answers, each fault logged and in clusterdns_source_error', async (t) => {
  const m = await manifestFaults(500);
  assert.deepEqual(
    m.figures.map((f) => f.name),
    ['broken file', 'unreadable file', 'unreadable directory', 'directory deleted'],
  );
  for (const f of m.figures) {
    t.diagnostic(`${f.name}: ${f.queries.ok} correct; log: ${f.logged}`);
    assert.ok(f.queries.ok > 0, `${f.name}: queries answered during the fault`);
    assert.equal(f.queries.wrong + f.queries.lost, 0, `${f.name}: no wrong or missing answer`);
    assert.notEqual(f.logged, '', `${f.name}: a log line says what is wrong`);
  }
  assert.ok(m.alive, 'the server is still running');
});

test('upstream faults (all silent, one dead, one answering garbage): cluster names unaffected, outside names SERVFAIL, never silence, in flight within the cap', async (t) => {
  const u = await upstreamFaults(50, 1000, 20);
  assert.equal(u.phases.length, 5);
  for (const [i, p] of u.phases.entries()) {
    const c = p.load.cluster;
    const o = p.load.outside;
    t.diagnostic(`${p.name}: cluster ${c.ok} correct; outside NOERROR ${o.noerror} SERVFAIL ${o.servfail}; in flight peak ${p.peakInFlight}; dropped ${p.dropped}`);
    assert.ok(c.ok > 0 && c.wrong === 0 && c.lost === 0, `${p.name}: cluster answers ${JSON.stringify(c)}`);
    assert.equal(o.lost + o.other, 0, `${p.name}: every outside question answered NOERROR or SERVFAIL`);
    assert.ok(p.peakInFlight <= 20, `${p.name}: ${p.peakInFlight} in flight, cap 20`);
    if (i === 1 || i === 3) assert.equal(o.noerror, 0, `${p.name}: nothing to answer with`);
    if (i === 3) assert.ok(p.dropped > 0, 'replies with wrong IDs dropped');
    if (i === 0 || i === 4) assert.ok(o.noerror > 0, `${p.name}: outside names answered`);
  }
  assert.ok(u.alive);
});

test('crash-only: SIGKILL while starting and under load, started again on the same port: answers correct again', async (t) => {
  const port = await freePort();
  const [r] = await crashRestarts(port, 1);
  t.diagnostic(`first correct answer ${r.firstAnswerMs.toFixed(0)} ms after the start; ${r.load.ok} answers under load before the kill`);
  assert.ok(r.load.ok > 0);
  assert.equal(r.load.wrong, 0);
});
