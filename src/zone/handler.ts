import { AnswerCache, personalise } from '../dns/answer-cache.js';
import { Rcode } from '../dns/constants.js';
import { rcodeReply, replyLimit, type Handler } from '../dns/handler.js';
import { encodeReply } from '../dns/wire.js';
import type { ZoneLookup } from './lookup.js';
import type { RecordStore } from './store.js';

/** Rotations of a multi-record answer kept encoded; beyond this, rotation repeats its first 16 orders. */
const MAX_ROTATIONS = 16;

/**
 * Answers names in the cluster domain and the reverse zones from the record store. Until the
 * sources have loaded once, names of the cluster domain get SERVFAIL: "not known yet" must not
 * look like "does not exist" to a client that caches NXDOMAIN.
 *
 * Replies are encoded once per question and data generation and then served from the answer
 * cache; multi-record answers rotate through up to 16 encoded orders.
 */
export function clusterHandler(lookup: ZoneLookup, store: RecordStore, isReady: () => boolean): Handler {
  let rotation = 0;
  const cache = new AnswerCache({ generation: () => store.generation });
  return {
    name: 'kubernetes',
    serve(req, next) {
      const q = req.query;
      if (!isReady()) {
        if (lookup.zoneOf(q.lname) !== null) return rcodeReply(Rcode.SERVFAIL);
        return next(req);
      }
      rotation = (rotation + 1) & 0x3fffffff;
      const limit = replyLimit(req);
      let entry = cache.entry(q, limit);
      if (entry) {
        const i = rotation % entry.variants.length;
        const hit = entry.variants[i];
        if (hit) return personalise(hit, q);
        const reply = lookup.lookup(q.lname, q.qtype, i)!;
        return personalise((entry.variants[i] = encodeReply(q, reply, limit)), q);
      }
      const first = lookup.lookup(q.lname, q.qtype, 0);
      if (first === null) return next(req);
      const n = first.answer.length > 1 ? Math.min(first.answer.length, MAX_ROTATIONS) : 1;
      entry = cache.create(q, limit, n, first.rcode === Rcode.NXDOMAIN);
      const i = rotation % n;
      const reply = i === 0 ? first : lookup.lookup(q.lname, q.qtype, i)!;
      const wire = encodeReply(q, reply, limit);
      entry.variants[i] = wire;
      return wire;
    },
  };
}
