import { Rcode } from '../dns/constants.js';
import { rcodeReply, replyLimit, type Handler } from '../dns/handler.js';
import type { Forwarder } from './forwarder.js';
import { clientReply } from './message.js';
import type { LoopDetector } from './loop.js';

/** The stub domain a name falls under (the longest that matches: the name itself or a parent), if any. */
export function stubFor<T>(name: string, stubs: Iterable<readonly [string, T]>): readonly [string, T] | undefined {
  let best: readonly [string, T] | undefined;
  for (const s of stubs) {
    if ((name === s[0] || name.endsWith('.' + s[0])) && (!best || s[0].length > best[0].length)) best = s;
  }
  return best;
}

/** Forwards every question that reaches it: to the stub domain's upstreams when the name is under one, else to the default ones. */
export function forwardHandler(defaults: Forwarder | null, stubs: ReadonlyMap<string, Forwarder> = new Map(), loop?: LoopDetector): Handler {
  const stubList = [...stubs];
  return {
    name: 'forward',
    async serve(req, next) {
      const q = req.query;
      const f = stubList.length > 0 ? (stubFor(q.lname, stubList)?.[1] ?? defaults) : defaults;
      if (!f || loop?.tripped) return next(req);
      // A client that asks for no recursion gets none: REFUSED, and nothing goes upstream.
      if (!q.rd) return rcodeReply(Rcode.REFUSED);
      const reply = await f.resolve(q);
      if (!reply) return rcodeReply(Rcode.SERVFAIL);
      return clientReply(reply, q, replyLimit(req));
    },
  };
}
