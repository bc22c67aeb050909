import { personalise } from '../dns/answer-cache.js';
import { Rcode } from '../dns/constants.js';
import { replyLimit, type Answer, type Handler, type Request } from '../dns/handler.js';
import type { Query } from '../dns/wire.js';
import type { ForwardCache } from './cache.js';

/** Refresh a popular entry in the background once less than this share of its TTL is left. */
const PREFETCH_SHARE = 0.1;
const PREFETCH_MIN_HITS = 2;

/**
 * Answers repeated questions from the cache of forwarded replies, and stores what the handlers
 * after it answer (in practice: the forwarder). When those handlers fail (SERVFAIL) and an
 * expired entry is still within the stale window, the stale entry is served (RFC 8767).
 */
export function cacheHandler(cache: ForwardCache): Handler {
  return {
    name: 'cache',
    async serve(req, next) {
      const q = req.query;
      const key = cacheKey(q);
      const e = cache.lookup(key);
      if (e && cache.fresh(e)) {
        cache.counters.hits++;
        e.hits++;
        const left = e.ttl - cache.age(e);
        if (!e.prefetching && e.hits >= PREFETCH_MIN_HITS && left <= Math.max(1, e.ttl * PREFETCH_SHARE)) {
          e.prefetching = true;
          cache.counters.prefetches++;
          void refresh(cache, key, req, next);
        }
        return fit(personalise(cache.render(e), q), q, req);
      }
      cache.counters.misses++;
      const answer = await next(req);
      if (Buffer.isBuffer(answer)) {
        if ((answer[3] & 0x0f) !== Rcode.SERVFAIL) cache.store(key, answer);
        else if (e) return stale(cache, e, q, req) ?? answer;
        return answer;
      }
      if (answer && answer.rcode === Rcode.SERVFAIL && e) return stale(cache, e, q, req) ?? answer;
      return answer;
    },
  };
}

function stale(cache: ForwardCache, e: NonNullable<ReturnType<ForwardCache['lookup']>>, q: Query, req: Request): Buffer | null {
  cache.counters.stale++;
  return fit(personalise(cache.render(e), q), q, req);
}

async function refresh(cache: ForwardCache, key: string, req: Request, next: (req: Request) => Answer | null | Promise<Answer | null>): Promise<void> {
  try {
    const answer = await next(req);
    if (Buffer.isBuffer(answer) && (answer[3] & 0x0f) !== Rcode.SERVFAIL) cache.store(key, answer);
  } catch {
    // A failed refresh leaves the entry to expire as it would have.
  }
}

/** The cached reply cut to the client's limit: header and question with TC when it does not fit. */
function fit(msg: Buffer, q: Query, req: Request): Buffer {
  if (msg.length <= replyLimit(req)) return msg;
  const cut = Buffer.from(msg.subarray(0, 12 + q.qnameWire.length + 4));
  cut[2] |= 0x02;
  cut.fill(0, 6, 12);
  return cut;
}

/** Everything that shapes a forwarded reply besides its ID and the question's case. */
export function cacheKey(q: Query): string {
  return `${q.lname}|${q.qtype}|${q.qclass}|${q.edns ? 1 : 0}|${q.edns?.do ? 1 : 0}|${q.cd ? 1 : 0}|${q.rd ? 1 : 0}`;
}
