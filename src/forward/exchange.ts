import dgram from 'node:dgram';
import net from 'node:net';
import { formatAddress, type ListenAddress } from '../dns/server.js';
import { replyMismatch } from './message.js';

/**
 * One query to one upstream, over UDP or TCP. Each UDP exchange uses its own socket, so the
 * source port is a fresh random one chosen by the system; a datagram is believed only when it
 * comes from the address and port queried and answers exactly the question sent. Anything
 * else is dropped (and reported through onDrop) while the exchange keeps waiting.
 */

export type Upstream = ListenAddress;

export class UpstreamError extends Error {
  readonly code = 'CLUSTERDNS_ERR_UPSTREAM';
  constructor(
    readonly upstream: Upstream,
    readonly kind: 'timeout' | 'network' | 'mismatch',
    message: string,
  ) {
    super(`upstream ${formatUpstream(upstream)}: ${message}`);
  }
}

/** HOST:PORT of an upstream, IPv6 in brackets (the listen addresses' form). */
export const formatUpstream: (u: Upstream) => string = formatAddress;

export function exchangeUdp(up: Upstream, msg: Buffer, timeoutMs: number, onDrop: (reason: string) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(up.host.includes(':') ? 'udp6' : 'udp4');
    let done = false;
    const finish = (err: Error | null, reply?: Buffer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => finish(new UpstreamError(up, 'timeout', `no reply within ${timeoutMs} ms`)), timeoutMs);
    sock.on('error', (e) => finish(new UpstreamError(up, 'network', e.message)));
    sock.on('message', (reply, rinfo) => {
      if (rinfo.address !== up.host || rinfo.port !== up.port) return onDrop(`reply from ${rinfo.address}:${rinfo.port}, not the upstream queried`);
      const why = replyMismatch(reply, msg);
      if (why) return onDrop(why);
      finish(null, reply);
    });
    sock.send(msg, up.port, up.host, (e) => {
      if (e) finish(new UpstreamError(up, 'network', e.message));
    });
  });
}

export function exchangeTcp(up: Upstream, msg: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: up.host, port: up.port });
    let pending = Buffer.alloc(0);
    let done = false;
    const finish = (err: Error | null, reply?: Buffer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => finish(new UpstreamError(up, 'timeout', `no TCP reply within ${timeoutMs} ms`)), timeoutMs);
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(msg.length);
      sock.write(Buffer.concat([len, msg]));
    });
    sock.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      if (pending.length < 2 || pending.length < 2 + pending.readUInt16BE(0)) return;
      const reply = pending.subarray(2, 2 + pending.readUInt16BE(0));
      const why = replyMismatch(reply, msg);
      finish(why ? new UpstreamError(up, 'mismatch', `TCP reply does not answer the query: ${why}`) : null, Buffer.from(reply));
    });
    sock.on('error', (e) => finish(new UpstreamError(up, 'network', e.message)));
    sock.on('close', () => finish(new UpstreamError(up, 'network', 'connection closed before a reply')));
  });
}
