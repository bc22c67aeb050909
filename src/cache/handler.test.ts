import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { Rcode } from '../dns/constants.js';
import { chain, rcodeReply, type Handler, type Request } from '../dns/handler.js';
import { decodeQuery, encodeQuery } from '../dns/wire.js';
import { ForwardCache } from './cache.js';
import { cacheHandler } from './handler.js';

function request(name: string): Request {
  const d = decodeQuery(encodeQuery({ id: 5, name, type: 1, edns: { payload: 1232 } }));
  if (d.kind !== 'query') throw new Error('bad query');
  return { query: d.query, transport: 'udp', remoteAddress: '127.0.0.1', remotePort: 1 };
}

/** An upstream stand-in: answers with TTL 100 and counts questions, or fails when told to. */
function upstream() {
  const state = { asked: 0, failing: false };
  const handler: Handler = {
    name: 'fake-forward',
    serve(req) {
      state.asked++;
      if (state.failing) return rcodeReply(Rcode.SERVFAIL);
      return dnsPacket.encode({
        type: 'response',
        id: req.query.id,
        flags: dnsPacket.RECURSION_AVAILABLE,
        questions: [{ type: 'A', name: req.query.qname }],
        answers: [{ type: 'A', name: req.query.qname, ttl: 100, data: `192.0.2.${state.asked}` }],
        additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as dnsPacket.Answer],
      } as dnsPacket.Packet);
    },
  };
  return { state, handler };
}

test('hits, misses, prefetch shortly before expiry, and stale answers are counted as they happen', async () => {
  let now = 0;
  const cache = new ForwardCache({ maxEntries: 100, minTtl: 0, maxTtl: 3600, staleSeconds: 1000, now: () => now });
  const up = upstream();
  const handle = chain([cacheHandler(cache), up.handler]);
  const ask = async () => dnsPacket.decode((await handle(request('a.example'))) as Buffer);

  assert.equal((await ask()).answers![0].ttl, 100);
  now = 50_000;
  assert.equal((await ask()).answers![0].ttl, 50);
  assert.deepEqual([cache.counters.misses, cache.counters.hits, up.state.asked], [1, 1, 1]);

  // Popular and nearly expired: answered from the cache, and refreshed in the background.
  now = 95_000;
  assert.equal((await ask()).answers![0].ttl, 5);
  await new Promise((r) => setImmediate(r));
  assert.equal(cache.counters.prefetches, 1);
  assert.equal(up.state.asked, 2);
  assert.equal((await ask()).answers![0].ttl, 100, 'the refreshed entry');

  // Expired, and the upstream fails: the stale entry answers.
  now = 300_000;
  up.state.failing = true;
  const stale = await ask();
  assert.equal(stale.rcode, 'NOERROR');
  assert.equal(stale.answers![0].ttl, 30);
  assert.equal(cache.counters.stale, 1);
});
