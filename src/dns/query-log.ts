import type { Logger } from 'pino';
import { typeName } from './constants.js';
import type { Request } from './handler.js';

/**
 * The query log (`--log-queries`): one line per query in CoreDNS's log format, e.g.
 *   10.0.0.1:53012 - 4660 "A IN web.default.svc.cluster.local. udp 58 true 1232" NOERROR qr,aa,rd 103 0.000081s
 * Under load it is sampled: at most `perSecond` lines a second, and once a second a line
 * saying how many queries were not logged, so logging can never become the bottleneck.
 */
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

export class QueryLog {
  private windowStart = 0;
  private written = 0;
  private skipped = 0;

  constructor(
    private readonly logger: Logger,
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  log(req: Request, reply: Buffer | null, seconds: number, reqLen: number): void {
    const t = this.now();
    if (t - this.windowStart >= 1000) {
      if (this.skipped > 0) this.logger.info({ skipped: this.skipped }, `query log: ${this.skipped} queries not logged in the last second (at most ${this.perSecond} lines a second)`);
      this.windowStart = t;
      this.written = 0;
      this.skipped = 0;
    }
    if (this.written >= this.perSecond) {
      this.skipped++;
      return;
    }
    this.written++;
    this.logger.info(format(req, reply, seconds, reqLen));
  }
}

export function format(req: Request, reply: Buffer | null, seconds: number, reqLen: number): string {
  const q = req.query;
  const remote = req.remoteAddress.includes(':') ? `[${req.remoteAddress}]:${req.remotePort}` : `${req.remoteAddress}:${req.remotePort}`;
  const size = q.edns ? q.edns.payload : 512;
  const question = `"${typeName(q.qtype)} IN ${q.qname}. ${req.transport} ${reqLen} ${q.edns?.do ? 'true' : 'false'} ${size}"`;
  if (!reply) return `${remote} - ${q.id} ${question} - - 0 ${seconds.toFixed(6)}s`;
  const flags = [reply[2] & 0x80 ? 'qr' : '', reply[2] & 0x04 ? 'aa' : '', reply[2] & 0x02 ? 'tc' : '', reply[2] & 0x01 ? 'rd' : '', reply[3] & 0x80 ? 'ra' : '']
    .filter(Boolean)
    .join(',');
  return `${remote} - ${q.id} ${question} ${RCODES[reply[3] & 0x0f] ?? `RCODE${reply[3] & 0x0f}`} ${flags} ${reply.length} ${seconds.toFixed(6)}s`;
}
