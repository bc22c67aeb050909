import { AnswerCache, personalise, type CacheEntry } from '../dns/answer-cache.js';
import { Rcode } from '../dns/constants.js';
import { rcodeReply, replyLimit, type Handler } from '../dns/handler.js';
import { encodeReply } from '../dns/wire.js';
import type { ZoneLookup } from './lookup.js';
import type { RecordStore } from './store.js';

/**
 * Keeps a reply as the entry's variant i, copied into the cache's own slabs (an encoding is a
 * slice of the encoder's scratch memory, which the next encoding reuses), and returns the copy.
 * A truncated reply is kept once, in the order it was made, for its size limit only: its client
 * asks again over TCP for the whole answer, so rotating the cut one is not worth 16 copies.
 */
function keep(entry: CacheEntry, i: number, wire: Buffer, limit: number): Buffer {
  const copy = entry.arena.copy(wire);
  if (isTruncated(wire)) entry.truncated = { limit, wire: copy };
  else entry.variants[i] = copy;
  return copy;
}

function isTruncated(wire: Buffer): boolean {
  return (wire[2] & 0x02) !== 0;
}

/** Rotations of a multi-record answer kept encoded; beyond this, rotation repeats its first 16 orders. */
const MAX_ROTATIONS = 16;

/** How often the encoded-answer cache served a question (hits) or the lookup ran (misses). */
export interface AnswerCacheCounters {
  hits: number;
  misses: number;
}

/**
 * Answers names in the cluster domain and the reverse zones from the record store. Until the
 * sources have loaded once, names of the cluster domain get SERVFAIL: "not known yet" must not
 * look like "does not exist" to a client that caches NXDOMAIN. Once `isStarted` says the
 * startup wait is over (a source that has not synced in time), names already known are
 * answered while a name not found still gets SERVFAIL until the sources are ready.
 *
 * Replies are encoded once per question and data generation and then served from the answer
 * cache; multi-record answers rotate through up to 16 encoded orders.
 */
export function clusterHandler(lookup: ZoneLookup, store: RecordStore, isReady: () => boolean, counters: AnswerCacheCounters = { hits: 0, misses: 0 }, isStarted: () => boolean = () => false): Handler {
  let rotation = 0;
  const cache = new AnswerCache({ generation: () => store.generation });
  return {
    name: 'kubernetes',
    serve(req, next) {
      const q = req.query;
      if (!isReady()) {
        if (lookup.zoneOf(q.lname) === null) return next(req);
        if (!isStarted()) return rcodeReply(Rcode.SERVFAIL);
        const partial = lookup.lookup(q.lname, q.qtype, 0);
        if (partial === null) return next(req);
        if (partial.rcode === Rcode.NXDOMAIN) return rcodeReply(Rcode.SERVFAIL);
        return encodeReply(q, partial, replyLimit(req));
      }
      rotation = (rotation + 1) & 0x3fffffff;
      const limit = replyLimit(req);
      let entry = cache.entry(q);
      if (entry) {
        const i = rotation % entry.variants.length;
        const hit = entry.variants[i];
        if (hit && hit.length <= limit) {
          counters.hits++;
          return personalise(hit, q);
        }
        const cut = entry.truncated;
        if (cut !== undefined && cut.limit === limit) {
          counters.hits++;
          return personalise(cut.wire, q);
        }
        counters.misses++;
        return keep(entry, i, encodeReply(q, lookup.lookup(q.lname, q.qtype, i)!, limit), limit);
      }
      const first = lookup.lookup(q.lname, q.qtype, 0);
      if (first === null) return next(req);
      counters.misses++;
      const n = first.answer.length > 1 ? Math.min(first.answer.length, MAX_ROTATIONS) : 1;
      entry = cache.create(q, n, first.rcode === Rcode.NXDOMAIN || first.answer.length === 0);
      const i = rotation % n;
      const sent = keep(entry, i, encodeReply(q, i === 0 ? first : lookup.lookup(q.lname, q.qtype, i)!, limit), limit);
      // Every other order now, while the records are at hand (a Service's records are built when
      // asked, and a large cluster's would be built again for each later order).
      if (!isTruncated(sent)) for (let j = 0; j < n; j++) if (j !== i) keep(entry, j, encodeReply(q, j === 0 ? first : lookup.lookup(q.lname, q.qtype, j)!, limit), limit);
      return sent;
    },
  };
}
