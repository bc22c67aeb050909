import { Type } from '../dns/constants.js';
import type { RR } from '../dns/rr.js';
import { readName, readRR, WireError, type Query } from '../dns/wire.js';

/**
 * The messages of forwarding: the query sent upstream for a client's question, the checks a
 * reply must pass before it is believed, and the reply made from it for the client.
 */

const HEADER = 12;
/** EDNS payload we offer upstream: large enough for most answers, small enough not to fragment. */
export const UPSTREAM_PAYLOAD = 1232;

/** The upstream query: a fresh ID, RD set, CD and DO as the client asked, the question exactly as asked (0x20 kept). */
export function upstreamQuery(q: Query, id: number): Buffer {
  const qn = q.qnameWire;
  const out = Buffer.alloc(HEADER + qn.length + 4 + 11);
  out.writeUInt16BE(id, 0);
  out[2] = 0x01;
  out[3] = q.cd ? 0x10 : 0;
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(1, 10);
  out.set(qn, HEADER);
  let p = HEADER + qn.length;
  out.writeUInt16BE(q.qtype, p);
  out.writeUInt16BE(q.qclass, p + 2);
  p += 4;
  out[p] = 0;
  out.writeUInt16BE(Type.OPT, p + 1);
  out.writeUInt16BE(UPSTREAM_PAYLOAD, p + 3);
  out[p + 7] = q.edns?.do ? 0x80 : 0;
  return out;
}

/**
 * Why a reply does not answer the query sent, or '' when it does: it must be a response with
 * the query's ID and exactly its question (the name compared byte for byte, so a resolver's
 * 0x20 case randomisation also guards against spoofed replies).
 */
export function replyMismatch(reply: Uint8Array, sent: Uint8Array): string {
  if (reply.length < HEADER) return 'shorter than a header';
  if ((reply[2] & 0x80) === 0) return 'not a response';
  if (reply[0] !== sent[0] || reply[1] !== sent[1]) return 'wrong ID';
  if (reply[4] !== 0 || reply[5] !== 1) return 'not exactly one question';
  let q;
  try {
    q = readName(reply, HEADER);
  } catch {
    return 'malformed question';
  }
  const sentName = readName(sent, HEADER);
  if (!Buffer.from(q.wire).equals(Buffer.from(sentName.wire))) return 'wrong question name';
  const p = q.end;
  const s = sentName.end;
  if (p + 4 > reply.length) return 'question cut short';
  for (let i = 0; i < 4; i++) if (reply[p + i] !== sent[s + i]) return 'wrong question type or class';
  return '';
}

/** True when the reply has TC set. */
export function truncated(reply: Uint8Array): boolean {
  return (reply[2] & 0x02) !== 0;
}

/** The reply's rcode (header bits only). */
export function replyRcode(reply: Uint8Array): number {
  return reply[3] & 0x0f;
}

/**
 * The upstream reply made into the client's: the client's ID, RD and question case; the OPT
 * record kept only when the client sent one; RA set. When it exceeds the client's limit, only
 * the header and question go back, with TC, so the client retries over TCP.
 */
export function clientReply(upstream: Uint8Array, q: Query, limit: number): Buffer {
  let msg: Buffer = Buffer.from(upstream);
  if (!q.edns) msg = withoutOpt(msg);
  msg[0] = q.id >> 8;
  msg[1] = q.id & 0xff;
  msg[2] = (msg[2] & ~0x01) | (q.rd ? 0x01 : 0);
  msg[3] |= 0x80;
  msg.set(q.qnameWire, HEADER);
  if (msg.length <= limit) return msg;
  const end = HEADER + q.qnameWire.length + 4;
  const cut = Buffer.from(msg.subarray(0, end));
  cut[2] |= 0x02;
  cut.fill(0, 6, 12);
  return cut;
}

/** The message without its OPT record (a client that sent no EDNS must not get one). */
export function withoutOpt(msg: Buffer): Buffer {
  try {
    let p = readName(msg, HEADER).end + 4;
    const an = msg.readUInt16BE(6);
    const ns = msg.readUInt16BE(8);
    const ar = msg.readUInt16BE(10);
    for (let i = 0; i < an + ns; i++) p = readRR(msg, p).end;
    for (let i = 0; i < ar; i++) {
      const start = p;
      const rr = readRR(msg, p);
      p = rr.end;
      if (rr.type === Type.OPT) {
        const out = Buffer.concat([msg.subarray(0, start), msg.subarray(p)]);
        out.writeUInt16BE(ar - 1, 10);
        // The extended rcode lived in the OPT record; the header keeps its lower bits.
        return out;
      }
    }
  } catch (e) {
    if (!(e instanceof WireError)) throw e;
  }
  return msg;
}

/**
 * A reply's rcode and answer records, for replies whose answers are all A, AAAA or CNAME
 * (names decompressed); null for anything else, which the caller then leaves as it is.
 */
export function answerRecords(msg: Uint8Array): { rcode: number; records: RR[] } | null {
  try {
    const an = (msg[6] << 8) | msg[7];
    let p = readName(msg, HEADER).end + 4;
    const records: RR[] = [];
    for (let i = 0; i < an; i++) {
      const owner = readName(msg, p);
      p = owner.end;
      const type = (msg[p] << 8) | msg[p + 1];
      const ttl = ((msg[p + 4] << 24) | (msg[p + 5] << 16) | (msg[p + 6] << 8) | msg[p + 7]) >>> 0;
      const rdlen = (msg[p + 8] << 8) | msg[p + 9];
      const rdata = p + 10;
      if (rdata + rdlen > msg.length) return null;
      const name = owner.text.toLowerCase();
      if ((type === Type.A && rdlen === 4) || (type === Type.AAAA && rdlen === 16)) {
        records.push({ type, name, ttl, address: Uint8Array.from(msg.subarray(rdata, rdata + rdlen)) });
      } else if (type === Type.CNAME) {
        records.push({ type, name, ttl, target: readName(msg, rdata).text.toLowerCase() });
      } else return null;
      p = rdata + rdlen;
    }
    return { rcode: msg[3] & 0x0f, records };
  } catch (e) {
    if (e instanceof WireError) return null;
    throw e;
  }
}
