import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from 'pino';
import { Rcode, UDP_CLASSIC_LIMIT } from './constants.js';
import { HandlerError, rcodeReply, replyLimit, type Answer, type Next, type Request } from './handler.js';
import type { DnsStats } from '../metrics/dns-stats.js';
import type { QueryLog } from './query-log.js';
import { RateLimiter, Verdict, type RateLimitCounters, type RateLimitOptions } from './rate-limit.js';
import { decodeQuery, encodeHeaderReply, encodeReply, type Query, type Reply } from './wire.js';

/**
 * DNS over UDP and TCP on the same address (RFC 1035, RFC 7766): decode, run the handler
 * chain, encode. UDP replies are cut to the client's EDNS size (at most 1232, 512 without
 * EDNS) and marked TC; TCP carries several length-framed queries per connection.
 */

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface ServerOptions {
  readonly listen: readonly ListenAddress[];
  readonly handle: Next;
  readonly logger: Logger;
  readonly tcp?: TcpLimits;
  /** Per-query counts for /metrics, and the zone index of a name for its zone label. */
  readonly stats?: DnsStats;
  readonly zoneIndex?: (lname: string) => number;
  readonly queryLog?: QueryLog;
  /** Response rate limiting over UDP; null or absent for none. */
  readonly rateLimit?: RateLimitOptions | null;
}

/**
 * Bounds on what TCP clients can hold (defaults from NSD, Unbound and CoreDNS): beyond them
 * a connection is closed, so idle, slow or never-reading clients cannot starve the others.
 */
export interface TcpLimits {
  /** Connections open at once; past this, the one idle longest is closed to make room. */
  readonly maxConnections: number;
  /** Close a connection that sends nothing for this long (ms). */
  readonly idleMs: number;
  /** Close a connection that starts a message and does not finish it within this long (ms). */
  readonly readMs: number;
  /** Close a connection whose replies pile up unread beyond this many bytes. */
  readonly maxBufferedBytes: number;
}

export const DEFAULT_TCP_LIMITS: TcpLimits = { maxConnections: 1000, idleMs: 10_000, readMs: 3_000, maxBufferedBytes: 256 * 1024 };

export class ServerError extends Error {
  readonly code = 'CLUSTERDNS_ERR_LISTEN';
  /** The system error code (EADDRINUSE, EACCES, ...). */
  readonly errno: string;
  constructor(message: string, cause: NodeJS.ErrnoException) {
    super(`${message}: ${cause.message}`, { cause });
    this.errno = cause.code ?? '';
  }
}

export interface Counters {
  queries: number;
  dropped: number;
  malformed: number;
  panics: number;
}

export class DnsServer {
  private readonly udp: dgram.Socket[] = [];
  private readonly tcp: net.Server[] = [];
  private readonly conns = new Set<net.Socket>();
  private readonly lastActive = new Map<net.Socket, number>();
  readonly counters: Counters = { queries: 0, dropped: 0, malformed: 0, panics: 0 };
  private readonly loggedPanics = new Set<string>();
  private stopped = false;
  /** Replies being worked out asynchronously. */
  private pending = 0;

  private handle: Next;
  private queryLog: QueryLog | undefined;
  private limiter: RateLimiter | null = null;
  /** Kept across reloads that replace the limiter. */
  readonly rateLimitCounters: RateLimitCounters = { dropped: 0, slipped: 0, evictions: 0 };

  constructor(private readonly opts: ServerOptions) {
    this.handle = opts.handle;
    this.queryLog = opts.queryLog;
    this.setRateLimit(opts.rateLimit ?? null);
  }

  /** Turns response rate limiting on, off or to new settings (a reload); the same settings keep the table. */
  setRateLimit(o: RateLimitOptions | null): void {
    const cur = this.limiter?.opts;
    if (o && cur && cur.perSecond === o.perSecond && cur.slip === o.slip) return;
    this.limiter = o ? new RateLimiter(o, this.rateLimitCounters) : null;
  }

  /** Swaps the handler chain (a reload): each query runs on one chain, whole. */
  setHandle(handle: Next, queryLog: QueryLog | undefined): void {
    this.handle = handle;
    this.queryLog = queryLog;
  }

  /**
   * Binds every address; resolves with the bound addresses. Port 0 picks a port free for
   * both UDP and TCP: the UDP port is taken first, and taken again if TCP finds it in use.
   */
  async start(): Promise<ListenAddress[]> {
    const bound: ListenAddress[] = [];
    this.stopped = false;
    for (const addr of this.opts.listen) {
      for (let attempt = 1; ; attempt++) {
        const udp = await this.bindUdp(addr);
        const port = udp.address().port;
        try {
          this.tcp.push(await this.bindTcp({ host: addr.host, port }, bound.length));
        } catch (e) {
          udp.close();
          if (addr.port === 0 && attempt < 20 && e instanceof ServerError && e.errno === 'EADDRINUSE') continue;
          throw e;
        }
        udp.on('error', (e) => this.opts.logger.error({ err: e, listen: formatAddress(addr) }, 'udp socket error'));
        const index = bound.length;
        udp.on('message', (msg, rinfo) => this.onUdp(udp, msg, rinfo, index));
        this.udp.push(udp);
        bound.push({ host: addr.host, port });
        break;
      }
    }
    return bound;
  }

  private bindUdp(addr: ListenAddress): Promise<dgram.Socket> {
    const udp = dgram.createSocket({ type: addr.host.includes(':') ? 'udp6' : 'udp4' });
    return new Promise((resolve, reject) => {
      udp.once('error', (e) => reject(new ServerError(`cannot listen on udp ${formatAddress(addr)}`, e)));
      udp.bind(addr.port, addr.host, () => resolve(udp));
    });
  }

  private bindTcp(addr: ListenAddress, index: number): Promise<net.Server> {
    const tcp = net.createServer((sock) => this.onTcp(sock, index));
    return new Promise((resolve, reject) => {
      tcp.once('error', (e) => reject(new ServerError(`cannot listen on tcp ${formatAddress(addr)}`, e)));
      tcp.listen(addr.port, addr.host, () => {
        tcp.on('error', (e) => this.opts.logger.error({ err: e, listen: formatAddress(addr) }, 'tcp server error'));
        resolve(tcp);
      });
    });
  }

  /**
   * Stops answering: replies still being worked out (forwarded questions) are waited for, up
   * to drainMs, and sent before the sockets close.
   */
  async stop(drainMs = 3000): Promise<void> {
    const end = Date.now() + drainMs;
    while (this.pending > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    this.stopped = true;
    for (const s of this.udp) s.close();
    for (const c of this.conns) c.destroy();
    await Promise.all(this.tcp.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.udp.length = 0;
    this.tcp.length = 0;
  }

  /** Runs one wire message through decode, the chain and encode; null means no reply. server is the listen address's index. */
  respond(msg: Uint8Array, transport: 'udp' | 'tcp', remoteAddress: string, remotePort: number, server = 0): Buffer | null | Promise<Buffer | null> {
    this.counters.queries++;
    const d = decodeQuery(msg);
    if (d.kind === 'drop') {
      this.counters.dropped++;
      return null;
    }
    if (d.kind === 'error') {
      this.counters.malformed++;
      return encodeHeaderReply(d.id, d.opcode, d.rd, d.rcode);
    }
    const start = this.opts.stats || this.queryLog ? performance.now() : 0;
    const q = d.query;
    const req: Request = { query: q, transport, remoteAddress, remotePort };
    const limit = replyLimit(req);
    let result;
    try {
      result = this.handle(req);
    } catch (e) {
      return this.observe(req, server, start, msg.length, this.finish(q, limit, this.panic(e)));
    }
    if (result instanceof Promise) {
      this.pending++;
      return result
        .then(
          (r) => this.observe(req, server, start, msg.length, this.finish(q, limit, r)),
          (e: unknown) => this.observe(req, server, start, msg.length, this.finish(q, limit, this.panic(e))),
        )
        .finally(() => this.pending--);
    }
    return this.observe(req, server, start, msg.length, this.finish(q, limit, result));
  }

  /** Counts an answered query for /metrics; passes the reply through. */
  private observe(req: Request, server: number, start: number, reqLen: number, out: Buffer | null): Buffer | null {
    this.queryLog?.log(req, out, (performance.now() - start) / 1000, reqLen);
    const stats = this.opts.stats;
    if (stats) {
      const q = req.query;
      const zone = this.opts.zoneIndex ? this.opts.zoneIndex(q.lname) : stats.zones.length - 1;
      const rcode = out ? out[3] & 0x0f : -1;
      stats.record(server, zone, req.transport === 'tcp', req.remoteAddress.includes(':'), q.qtype, rcode, (performance.now() - start) / 1000, reqLen, out ? out.length : 0);
      if (rcode >= 0) stats.noteName(q.lname, rcode);
    }
    return out;
  }

  /** The bytes of an answer: finished bytes as they are, a Reply encoded within limit. */
  private finish(q: Query, limit: number, r: Answer | null): Buffer | null {
    if (r === null || Buffer.isBuffer(r)) return r;
    try {
      return encodeReply(q, r, limit);
    } catch (e) {
      // A record the encoder cannot write (a field out of range) is a bug like a throwing
      // handler: answer SERVFAIL rather than let the error escape the socket's event handler.
      return encodeReply(q, this.panic(e), limit);
    }
  }

  private panic(e: unknown): Reply {
    this.counters.panics++;
    if (this.opts.stats) this.opts.stats.panics++;
    const name = e instanceof HandlerError ? e.handler : 'server';
    if (!this.loggedPanics.has(name)) {
      this.loggedPanics.add(name);
      this.opts.logger.error({ err: e, handler: name }, 'handler threw; answering SERVFAIL (logged once per handler)');
    }
    return rcodeReply(Rcode.SERVFAIL);
  }

  private onUdp(sock: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo, server: number): void {
    if (this.limiter !== null) {
      // performance.now() is above 0 once the process runs; the table takes 0 as a free slot.
      const v = this.limiter.check(rinfo.address, performance.now() + 1);
      if (v !== Verdict.Pass) {
        if (v === Verdict.Slip) this.sendUdp(sock, truncatedReply(msg), rinfo);
        return;
      }
    }
    const out = this.respond(msg, 'udp', rinfo.address, rinfo.port, server);
    if (out === null) return;
    if (out instanceof Promise) out.then((b) => this.sendUdp(sock, b, rinfo), () => undefined);
    else this.sendUdp(sock, out, rinfo);
  }

  private sendUdp(sock: dgram.Socket, b: Buffer | null, rinfo: dgram.RemoteInfo): void {
    // A reply that completes after stop() has no socket left to go out on.
    if (b && !this.stopped) sock.send(b, rinfo.port, rinfo.address);
  }

  private onTcp(sock: net.Socket, server: number): void {
    const limits = this.opts.tcp ?? DEFAULT_TCP_LIMITS;
    // At the cap, the connection idle longest makes room (as NSD does), so clients that only
    // hold connections cannot lock new ones out; with none idle, the new one is closed.
    if (this.conns.size >= limits.maxConnections && !this.evictIdle()) {
      sock.destroy();
      return;
    }
    this.conns.add(sock);
    this.lastActive.set(sock, Date.now());
    sock.setNoDelay(true);
    sock.setTimeout(limits.idleMs, () => sock.destroy());
    let pending: Buffer = Buffer.alloc(0);
    // Armed while a message is incomplete: a slow-loris client is cut off after readMs.
    let readTimer: NodeJS.Timeout | null = null;
    sock.on('data', (chunk) => {
      this.lastActive.set(sock, Date.now());
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const msg = pending.subarray(2, 2 + len);
        pending = pending.subarray(2 + len);
        const out = this.respond(msg, 'tcp', sock.remoteAddress ?? '', sock.remotePort ?? 0, server);
        if (out instanceof Promise) out.then((b) => this.writeTcp(sock, b, limits), () => undefined);
        else this.writeTcp(sock, out, limits);
      }
      if (pending.length === 0) {
        if (readTimer) clearTimeout(readTimer);
        readTimer = null;
      } else if (!readTimer) {
        readTimer = setTimeout(() => sock.destroy(), limits.readMs);
      }
    });
    sock.on('error', () => sock.destroy());
    sock.on('close', () => {
      if (readTimer) clearTimeout(readTimer);
      this.conns.delete(sock);
      this.lastActive.delete(sock);
    });
  }

  /** Closes the connection that has been quiet longest, with nothing left to send; false if none. */
  private evictIdle(): boolean {
    let oldest: net.Socket | null = null;
    let at = Infinity;
    for (const c of this.conns) {
      const t = this.lastActive.get(c) ?? 0;
      if (t < at && c.writableLength === 0) {
        oldest = c;
        at = t;
      }
    }
    if (!oldest) return false;
    oldest.destroy();
    this.conns.delete(oldest);
    this.lastActive.delete(oldest);
    return true;
  }

  private writeTcp(sock: net.Socket, b: Buffer | null, limits: TcpLimits): void {
    if (!b || sock.destroyed) return;
    if (sock.writableLength > limits.maxBufferedBytes) {
      sock.destroy();
      return;
    }
    const frame = Buffer.allocUnsafe(2 + b.length);
    frame.writeUInt16BE(b.length, 0);
    b.copy(frame, 2);
    sock.write(frame);
  }
}

const EMPTY: Reply = { rcode: Rcode.NOERROR, aa: false, answer: [], authority: [], additional: [] };

/**
 * A rate-limited client's "slip": the question with TC set and no records, so that a real
 * client asks again over TCP (RFC 1035 4.2.1; BIND's and Knot's RRL). Messages that are not
 * well-formed queries get nothing.
 */
export function truncatedReply(msg: Uint8Array): Buffer | null {
  const d = decodeQuery(msg);
  if (d.kind !== 'query') return null;
  const out = encodeReply(d.query, EMPTY, UDP_CLASSIC_LIMIT);
  out[2] |= 0x02;
  return out;
}

/** HOST:PORT, with IPv6 hosts in brackets. */
export function formatAddress(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
