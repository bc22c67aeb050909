import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { Rcode, Type } from '../dns/constants.js';
import { rcodeReply, type Handler } from '../dns/handler.js';
import { decodeQuery, encodeQuery } from '../dns/wire.js';
import type { Forwarder } from './forwarder.js';

/**
 * Forwarding-loop detection. At start the server asks its upstreams for a name nobody else can
 * know (random labels under `.invalid`, which RFC 6761 keeps off the internet). A healthy upstream
 * answers NXDOMAIN; if the question ever arrives back at this server, the upstreams lead back here:
 * forwarding is switched off (names outside the cluster get REFUSED) and an error is logged,
 * rather than every outside question going round until it times out. The process keeps serving
 * the cluster.
 */
export class LoopDetector {
  readonly probe = `${randomBytes(8).toString('hex')}.${randomBytes(4).toString('hex')}.loop-probe.invalid`;
  tripped = false;

  constructor(private readonly logger: Logger) {}

  /** Sends the probe through each forwarder (a few times, as an upstream may still be starting). */
  start(forwarders: readonly Forwarder[], tries = 3, spacingMs = 1000): void {
    const send = (left: number) => {
      if (this.tripped || left === 0) return;
      const d = decodeQuery(encodeQuery({ id: 0, name: this.probe, type: Type.HINFO, edns: null }));
      if (d.kind !== 'query') return;
      for (const f of forwarders) void f.resolve(d.query);
      setTimeout(() => send(left - 1), spacingMs).unref();
    };
    send(tries);
  }

  /** First in the chain: the probe coming back trips the detector. */
  handler(upstreams: () => string): Handler {
    return {
      name: 'loop',
      serve: (req, next) => {
        if (req.query.lname === this.probe) {
          if (!this.tripped) {
            this.tripped = true;
            this.logger.error(
              { upstreams: upstreams(), probe: this.probe },
              'forwarding loop: a question sent upstream came back to this server; forwarding is off until restart (fix --upstream or resolv.conf)',
            );
          }
          return rcodeReply(Rcode.REFUSED);
        }
        return next(req);
      },
    };
  }
}
