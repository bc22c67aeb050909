import { Rcode, Type } from '../dns/constants.js';
import type { Handler, Request } from '../dns/handler.js';
import type { RR } from '../dns/rr.js';
import type { Query, Reply } from '../dns/wire.js';
import { answerRecords } from '../forward/message.js';
import type { ZoneLookup } from './lookup.js';

/**
 * The pod's search path, walked by the server (what CoreDNS calls autopath). A pod in namespace
 * <ns> with the standard resolv.conf (search <ns>.svc.<domain> svc.<domain> <domain>, ndots:5)
 * first asks for `name.<ns>.svc.<domain>`. When that does not exist, the server tries
 * `name.svc.<domain>`, `name.<domain>` and then `name` itself, and answers the first that exists
 * with a CNAME from the name asked to it, followed by its records: one query instead of four.
 * Only queries from IPs of known pods (needs --pods verified) whose first search domain matches
 * are rewritten; everything else passes on untouched.
 */
export interface AutopathOptions {
  readonly lookup: ZoneLookup;
  readonly domain: string;
  readonly ttl: number;
  /** The namespace of the pod with this IP, if any. */
  readonly podNamespace: (ip: string) => string | undefined;
}

export function autopathHandler(opts: AutopathOptions): Handler {
  const { lookup, domain } = opts;
  return {
    name: 'autopath',
    async serve(req, next) {
      const q = req.query;
      const ns = opts.podNamespace(req.remoteAddress);
      if (ns === undefined) return next(req);
      const first = `.${ns}.svc.${domain}`;
      if (!q.lname.endsWith(first) || q.lname.length === first.length) return next(req);
      if (lookup.lookup(q.lname, q.qtype)?.rcode !== Rcode.NXDOMAIN) return next(req);
      const base = q.lname.slice(0, -first.length);
      for (const candidate of [`${base}.svc.${domain}`, `${base}.${domain}`]) {
        const r = lookup.lookup(candidate, q.qtype);
        if (r && r.rcode !== Rcode.NXDOMAIN) return withCname(q, candidate, r.rcode, r.answer, opts.ttl);
      }
      // The name as given, through the rest of the chain (cluster, cache, forward).
      const asGiven = await next(subRequest(req, base));
      const parsed = asGiven === null ? null : Buffer.isBuffer(asGiven) ? answerRecords(asGiven) : { rcode: asGiven.rcode, records: [...asGiven.answer] };
      if (parsed && parsed.rcode === Rcode.NOERROR && parsed.records.length > 0) return withCname(q, base, Rcode.NOERROR, parsed.records, opts.ttl);
      return next(req);
    },
  };
}

function withCname(q: Query, target: string, rcode: number, answer: readonly RR[], ttl: number): Reply {
  const cname: RR = { type: Type.CNAME, name: q.lname, ttl, target };
  return { rcode, aa: false, ra: true, answer: [cname, ...answer], authority: [], additional: [] };
}

/** The same request for the first labels of the question only (its case kept). */
function subRequest(req: Request, base: string): Request {
  const q = req.query;
  const labels = base.split('.').length;
  let end = 0;
  for (let i = 0; i < labels; i++) end += q.qnameWire[end] + 1;
  const qnameWire = new Uint8Array(end + 1);
  qnameWire.set(q.qnameWire.subarray(0, end));
  const query: Query = { ...q, qname: q.qname.slice(0, base.length), lname: base, qnameWire };
  return { ...req, query };
}
