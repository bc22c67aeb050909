import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { encodeQuery } from '../../src/dns/wire.js';
import { parseType } from '../../src/dns/constants.js';

/**
 * The project's own DNS client for tests: queries built with our encoder, replies decoded
 * with dns-packet (an independent decoder), and records rendered as zone-file lines so case
 * tables can compare them as text.
 */

export interface Reply {
  readonly raw: Buffer;
  readonly packet: dnsPacket.Packet;
  readonly rcode: string;
  readonly tc: boolean;
  readonly aa: boolean;
  readonly answer: string[];
  readonly ns: string[];
  readonly extra: string[];
}

export interface QueryOptions {
  readonly transport?: 'udp' | 'tcp';
  /** EDNS payload size to offer; null sends no OPT record. Default 1232. */
  readonly edns?: number | null;
  readonly timeoutMs?: number;
  readonly host?: string;
  /** Recursion desired (default true). */
  readonly rd?: boolean;
  /** Source address to send from (any 127.x works on loopback). */
  readonly source?: string;
}

let nextId = 1;

export function buildQuery(name: string, type: string, edns: number | null = 1232, rd = true): Buffer {
  const t = parseType(type);
  if (t === undefined) throw new Error(`unknown type ${type}`);
  nextId = (nextId + 1) & 0xffff;
  return encodeQuery({ id: nextId, name, type: t, rd, edns: edns === null ? null : { payload: edns } });
}

export async function query(port: number, name: string, type = 'A', opts: QueryOptions = {}): Promise<Reply> {
  const msg = buildQuery(name, type, opts.edns === undefined ? 1232 : opts.edns, opts.rd ?? true);
  const host = opts.host ?? '127.0.0.1';
  const raw = opts.transport === 'tcp' ? (await sendTcpMany(port, [msg], opts.timeoutMs, host))[0] : await sendUdp(port, msg, opts.timeoutMs, host, opts.source);
  return parseReply(raw);
}

export function parseReply(raw: Buffer): Reply {
  const packet = dnsPacket.decode(raw);
  const flags = packet.flags ?? 0;
  return {
    raw,
    packet,
    rcode: (packet as { rcode?: string }).rcode ?? 'NOERROR',
    tc: (flags & dnsPacket.TRUNCATED_RESPONSE) !== 0,
    aa: (flags & dnsPacket.AUTHORITATIVE_ANSWER) !== 0,
    answer: (packet.answers ?? []).map(rrLine),
    ns: (packet.authorities ?? []).map(rrLine),
    extra: (packet.additionals ?? []).filter((a) => a.type !== 'OPT').map(rrLine),
  };
}

/** One record as a zone-file line: "name. ttl IN TYPE data", SOA serials shown as SERIAL. */
export function rrLine(a: dnsPacket.Answer): string {
  const head = `${a.name}. ${(a as { ttl?: number }).ttl ?? 0} IN ${a.type}`;
  const d = (a as { data: unknown }).data;
  switch (a.type) {
    case 'A':
    case 'AAAA':
      return `${head} ${d as string}`;
    case 'CNAME':
    case 'PTR':
    case 'NS':
      return `${head} ${d as string}.`;
    case 'SRV': {
      const s = d as dnsPacket.SrvAnswer['data'];
      return `${head} ${s.priority ?? 0} ${s.weight ?? 0} ${s.port} ${s.target}.`;
    }
    case 'TXT':
      return `${head} ${(d as Buffer[]).map((b) => JSON.stringify(b.toString())).join(' ')}`;
    case 'SOA': {
      const s = d as dnsPacket.SoaData;
      return `${head} ${s.mname}. ${s.rname}. SERIAL ${s.refresh} ${s.retry} ${s.expire} ${s.minimum}`;
    }
    default:
      return `${head} ${JSON.stringify(d)}`;
  }
}

export function sendUdp(port: number, msg: Buffer, timeoutMs = 2000, host = '127.0.0.1', source?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`no UDP reply from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('message', (m) => {
      clearTimeout(timer);
      sock.close();
      resolve(m);
    });
    if (source) sock.bind(0, source, () => sock.send(msg, port, host));
    else sock.send(msg, port, host);
  });
}

/** Sends one or more queries on a single TCP connection; resolves with the replies in arrival order. */
export function sendTcpMany(port: number, msgs: readonly Buffer[], timeoutMs = 2000, host = '127.0.0.1'): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    const replies: Buffer[] = [];
    let pending = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`got ${replies.length} of ${msgs.length} TCP replies from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => {
      for (const m of msgs) {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(m.length);
        sock.write(Buffer.concat([len, m]));
      }
    });
    sock.on('data', (c) => {
      pending = Buffer.concat([pending, c]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const n = pending.readUInt16BE(0);
        replies.push(pending.subarray(2, 2 + n));
        pending = pending.subarray(2 + n);
      }
      if (replies.length === msgs.length) {
        clearTimeout(timer);
        sock.end();
        resolve(replies);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export async function sendTcp(port: number, msg: Buffer, timeoutMs = 2000): Promise<Buffer> {
  return (await sendTcpMany(port, [msg], timeoutMs))[0];
}
