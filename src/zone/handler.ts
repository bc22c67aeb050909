import { Rcode } from '../dns/constants.js';
import { rcodeReply, type Handler } from '../dns/handler.js';
import type { ZoneLookup } from './lookup.js';

/**
 * Answers names in the cluster domain and the reverse zones from the record store. Until the
 * sources have loaded once, names of the cluster domain get SERVFAIL: "not known yet" must not
 * look like "does not exist" to a client that caches NXDOMAIN.
 */
export function clusterHandler(lookup: ZoneLookup, isReady: () => boolean): Handler {
  let rotation = 0;
  return {
    name: 'kubernetes',
    serve(req, next) {
      const q = req.query;
      if (!isReady()) {
        if (lookup.zoneOf(q.lname) !== null) return rcodeReply(Rcode.SERVFAIL);
        return next(req);
      }
      rotation = (rotation + 1) & 0x3fffffff;
      return lookup.lookup(q.lname, q.qtype, rotation) ?? next(req);
    },
  };
}
