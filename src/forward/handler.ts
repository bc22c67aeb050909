import { Rcode } from '../dns/constants.js';
import { rcodeReply, replyLimit, type Handler } from '../dns/handler.js';
import type { Forwarder } from './forwarder.js';
import { clientReply } from './message.js';
import type { LoopDetector } from './loop.js';

/** Forwards every question that reaches it: to the stub domain's upstreams when the name is under one, else to the default ones. */
export function forwardHandler(defaults: Forwarder | null, stubs: ReadonlyMap<string, Forwarder> = new Map(), loop?: LoopDetector): Handler {
  const stubList = [...stubs].sort((a, b) => b[0].length - a[0].length);
  return {
    name: 'forward',
    async serve(req, next) {
      const q = req.query;
      let f = defaults;
      for (const [domain, fwd] of stubList) {
        if (q.lname === domain || q.lname.endsWith('.' + domain)) {
          f = fwd;
          break;
        }
      }
      if (!f || loop?.tripped) return next(req);
      // A client that asks for no recursion gets none: REFUSED, and nothing goes upstream.
      if (!q.rd) return rcodeReply(Rcode.REFUSED);
      const reply = await f.resolve(q);
      if (!reply) return rcodeReply(Rcode.SERVFAIL);
      return clientReply(reply, q, replyLimit(req));
    },
  };
}
