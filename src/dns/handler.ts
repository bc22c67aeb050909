import type { Query, Reply } from './wire.js';
import { Class, Rcode, Type, UDP_CLASSIC_LIMIT, UDP_EDNS_LIMIT } from './constants.js';

/**
 * The handler contract. A handler answers a request by returning a Reply, or passes it on by
 * calling next. Returning null means "send nothing" (the request is dropped). A handler that
 * throws is a bug: the server answers SERVFAIL, counts it and logs it with the handler's name.
 * Handlers only read shared state; the order of the chain is data, built in one place (cli/).
 */
export interface Request {
  readonly query: Query;
  readonly transport: 'udp' | 'tcp';
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/** A Reply to encode, or the finished reply bytes (from a cache of encoded answers). */
export type Answer = Reply | Buffer;
export type Result = Answer | null | Promise<Answer | null>;
export type Next = (req: Request) => Result;

export interface Handler {
  readonly name: string;
  serve(req: Request, next: Next): Result;
}

/** The largest reply this request may get: 65535 over TCP; over UDP the EDNS size capped at 1232, or 512. */
export function replyLimit(req: Request): number {
  if (req.transport === 'tcp') return 65535;
  const e = req.query.edns;
  return e ? Math.min(e.payload, UDP_EDNS_LIMIT) : UDP_CLASSIC_LIMIT;
}

/** Thrown-handler errors carry the handler's name so the server can say whose bug it is. */
export class HandlerError extends Error {
  readonly code = 'CLUSTERDNS_ERR_HANDLER';
  constructor(
    readonly handler: string,
    cause: unknown,
  ) {
    super(`handler ${handler} threw: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** A reply with only a rcode (REFUSED, SERVFAIL, ...), not authoritative. */
export function rcodeReply(rcode: number): Reply {
  return { rcode, aa: false, answer: [], authority: [], additional: [] };
}

/** Composes handlers in order; past the last one, every request is REFUSED. */
export function chain(handlers: readonly Handler[]): Next {
  let next: Next = () => rcodeReply(Rcode.REFUSED);
  for (let i = handlers.length - 1; i >= 0; i--) {
    const h = handlers[i];
    const after = next;
    next = (req) => {
      try {
        const r = h.serve(req, after);
        return r instanceof Promise ? r.catch((e: unknown) => Promise.reject(wrap(h.name, e))) : r;
      } catch (e) {
        throw wrap(h.name, e);
      }
    };
  }
  return next;
}

function wrap(name: string, e: unknown): unknown {
  return e instanceof HandlerError ? e : new HandlerError(name, e);
}

/**
 * The first handler of every chain: what the protocol itself rules out before any zone
 * looks at the name (RFC 6891 BADVERS, classes other than IN, zone transfers), and ANY, which
 * gets RFC 8482's minimal answer (one HINFO "RFC8482" record, for any name, never forwarded) so
 * the server cannot be used to amplify traffic.
 */
export const protocolGuard: Handler = {
  name: 'protocol',
  serve(req, next) {
    const q = req.query;
    if (q.edns && q.edns.version > 0) return rcodeReply(Rcode.BADVERS);
    if (q.qclass !== Class.IN) return rcodeReply(q.qclass === Class.ANY || q.qclass === Class.CH ? Rcode.REFUSED : Rcode.NOTIMP);
    if (q.qtype === 251 || q.qtype === 252 || q.qtype === Type.OPT) return rcodeReply(Rcode.REFUSED);
    if (q.qtype === Type.ANY) {
      return { rcode: Rcode.NOERROR, aa: false, answer: [{ type: Type.HINFO, name: q.lname, ttl: 8482, cpu: 'RFC8482', os: '' }], authority: [], additional: [] };
    }
    return next(req);
  },
};
