import { Class, Rcode, Type } from './constants.js';
import type { RR } from './rr.js';

/**
 * The DNS wire codec for the server's side of the conversation: a strict query decoder
 * (RFC 1035 with RFC 9267's checks on names and pointers) and a compressing reply
 * encoder for the record types the server answers with.
 */

export interface Edns {
  /** Requestor's UDP payload size (values under 512 count as 512, RFC 6891 6.2.5). */
  readonly payload: number;
  readonly version: number;
  /** DNSSEC OK bit, echoed in the reply. */
  readonly do: boolean;
}

export interface Query {
  readonly id: number;
  readonly opcode: number;
  readonly rd: boolean;
  readonly cd: boolean;
  /** The question name as sent (case kept, no trailing dot, non-printable bytes as \DDD). */
  readonly qname: string;
  /** qname lowercased: the key for every lookup. */
  readonly lname: string;
  /** The question name in uncompressed wire form as sent, for echoing it exactly. */
  readonly qnameWire: Uint8Array;
  readonly qtype: number;
  readonly qclass: number;
  readonly edns: Edns | null;
}

export type Decoded =
  | { readonly kind: 'query'; readonly query: Query }
  /** No reply at all: too short to answer, or a response (QR=1) that must never be answered. */
  | { readonly kind: 'drop'; readonly reason: string }
  /** Reply with just a header (and the question when it parsed): FORMERR or NOTIMP. */
  | {
      readonly kind: 'error';
      readonly rcode: number;
      readonly id: number;
      readonly opcode: number;
      readonly rd: boolean;
      readonly reason: string;
    };

export class WireError extends Error {
  readonly code = 'CLUSTERDNS_ERR_WIRE';
}

const MAX_NAME = 255;
const MAX_LABEL = 63;
const HEADER = 12;

interface NameRead {
  text: string;
  wire: Uint8Array;
  /** Offset just past the name in the message (after the first pointer, if any). */
  end: number;
}

/** Reads a possibly compressed name at off; throws WireError on any RFC 9267 violation. */
export function readName(msg: Uint8Array, off: number): NameRead {
  const wire: number[] = [];
  let text = '';
  let pos = off;
  let end = -1;
  // Pointers must point strictly backwards: this bounds the walk and rules out loops.
  let lowest = off;
  for (;;) {
    if (pos >= msg.length) throw new WireError(`name runs past the end of the message at offset ${pos}`);
    const len = msg[pos];
    if (len === 0) {
      wire.push(0);
      if (end < 0) end = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= msg.length) throw new WireError(`compression pointer cut short at offset ${pos}`);
      const target = ((len & 0x3f) << 8) | msg[pos + 1];
      if (end < 0) end = pos + 2;
      if (target >= lowest) throw new WireError(`compression pointer at offset ${pos} does not point backwards`);
      lowest = target;
      pos = target;
      continue;
    }
    if (kind !== 0) throw new WireError(`unsupported label type 0x${kind.toString(16)} at offset ${pos}`);
    if (len > MAX_LABEL) throw new WireError(`label of ${len} bytes at offset ${pos}`);
    if (pos + 1 + len > msg.length) throw new WireError(`label runs past the end of the message at offset ${pos}`);
    if (wire.length + 1 + len + 1 > MAX_NAME) throw new WireError(`name longer than ${MAX_NAME} bytes`);
    if (text.length > 0) text += '.';
    wire.push(len);
    for (let i = pos + 1; i <= pos + len; i++) {
      const c = msg[i];
      wire.push(c);
      if (c === 0x2e || c === 0x5c) text += '\\' + String.fromCharCode(c);
      else if (c > 0x20 && c < 0x7f) text += String.fromCharCode(c);
      else text += '\\' + String(c).padStart(3, '0');
    }
    pos += 1 + len;
  }
  return { text, wire: Uint8Array.from(wire), end };
}

const nameScratch = Buffer.allocUnsafe(MAX_NAME);

/**
 * The common case of readName, done in one pass: an uncompressed name of letters, digits,
 * '-' and '_'. Its text is made by one latin1 decode and its wire form is a view of msg, not a
 * copy. Returns null for anything else (pointers, other bytes, errors), which readName handles.
 */
function readPlainName(msg: Uint8Array, off: number): NameRead | null {
  let pos = off;
  let n = 0;
  for (;;) {
    if (pos >= msg.length) return null;
    const len = msg[pos];
    if (len === 0) break;
    if (len > MAX_LABEL || pos + 1 + len > msg.length || pos - off + 1 + len + 1 > MAX_NAME) return null;
    if (n > 0) nameScratch[n++] = 0x2e;
    for (let i = pos + 1; i <= pos + len; i++) {
      const c = msg[i];
      const plain = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || c === 0x2d || c === 0x5f;
      if (!plain) return null;
      nameScratch[n++] = c;
    }
    pos += 1 + len;
  }
  const text = nameScratch.toString('latin1', 0, n);
  return { text, wire: msg.subarray(off, pos + 1), end: pos + 1 };
}

/** The fields of the record readRR last read: reused, since decoding is synchronous. */
const rrFields = { type: 0, root: false, cls: 0, ttl: 0, end: 0 };

/** Reads one resource record's fixed fields at off into rrFields, checking its name and length. */
export function readRR(msg: Uint8Array, off: number): typeof rrFields {
  // The root name (every OPT record's owner) needs no walk.
  let root = off < msg.length && msg[off] === 0;
  let p = off + 1;
  if (!root) {
    const n = readName(msg, off);
    root = n.text === '';
    p = n.end;
  }
  if (p + 10 > msg.length) throw new WireError(`record header cut short at offset ${p}`);
  const rdlen = (msg[p + 8] << 8) | msg[p + 9];
  rrFields.type = (msg[p] << 8) | msg[p + 1];
  rrFields.root = root;
  rrFields.cls = (msg[p + 2] << 8) | msg[p + 3];
  rrFields.ttl = ((msg[p + 4] << 24) | (msg[p + 5] << 16) | (msg[p + 6] << 8) | msg[p + 7]) >>> 0;
  p += 10;
  if (p + rdlen > msg.length) throw new WireError(`RDLENGTH ${rdlen} at offset ${p - 2} runs past the end of the message`);
  rrFields.end = p + rdlen;
  return rrFields;
}

function failure(id: number, opcode: number, rd: boolean, rcode: number, reason: string): Decoded {
  return { kind: 'error', rcode, id, opcode, rd, reason };
}

/** Decodes a query. Never throws: every malformed input becomes 'drop' or 'error'. */
export function decodeQuery(msg: Uint8Array): Decoded {
  if (msg.length < HEADER) return { kind: 'drop', reason: `message of ${msg.length} bytes is shorter than a header` };
  const id = (msg[0] << 8) | msg[1];
  const f = msg[2];
  if (f & 0x80) return { kind: 'drop', reason: 'QR is set: a response, not a query' };
  const opcode = (f >> 3) & 0x0f;
  const rd = (f & 0x01) !== 0;
  const cd = (msg[3] & 0x10) !== 0;
  const qd = (msg[4] << 8) | msg[5];
  const an = (msg[6] << 8) | msg[7];
  const ns = (msg[8] << 8) | msg[9];
  const ar = (msg[10] << 8) | msg[11];
  if (opcode !== 0) return failure(id, opcode, rd, Rcode.NOTIMP, `opcode ${opcode} is not implemented`);
  if (qd !== 1) return failure(id, opcode, rd, Rcode.FORMERR, `QDCOUNT is ${qd}, expected 1`);
  try {
    const q = readPlainName(msg, HEADER) ?? readName(msg, HEADER);
    let p = q.end;
    if (p + 4 > msg.length) return failure(id, opcode, rd, Rcode.FORMERR, 'question cut short');
    const qtype = (msg[p] << 8) | msg[p + 1];
    const qclass = (msg[p + 2] << 8) | msg[p + 3];
    p += 4;
    for (let i = 0; i < an + ns; i++) {
      const rr = readRR(msg, p);
      if (rr.type === Type.OPT) return failure(id, opcode, rd, Rcode.FORMERR, 'OPT record outside the additional section');
      p = rr.end;
    }
    let edns: Edns | null = null;
    for (let i = 0; i < ar; i++) {
      const rr = readRR(msg, p);
      if (rr.type === Type.OPT) {
        if (edns) return failure(id, opcode, rd, Rcode.FORMERR, 'more than one OPT record');
        if (!rr.root) return failure(id, opcode, rd, Rcode.FORMERR, 'OPT record owner is not the root');
        edns = { payload: Math.max(rr.cls, 512), version: (rr.ttl >>> 16) & 0xff, do: (rr.ttl & 0x8000) !== 0 };
      }
      p = rr.end;
    }
    let lname = q.text;
    // Lowercase only when needed: most queries arrive in lowercase already.
    for (let i = 0; i < lname.length; i++) {
      const c = lname.charCodeAt(i);
      if (c >= 65 && c <= 90) {
        lname = lname.toLowerCase();
        break;
      }
    }
    return {
      kind: 'query',
      query: { id, opcode, rd, cd, qname: q.text, lname, qnameWire: q.wire, qtype, qclass, edns },
    };
  } catch (e) {
    if (e instanceof WireError) return failure(id, opcode, rd, Rcode.FORMERR, e.message);
    throw e;
  }
}

export interface Reply {
  readonly rcode: number;
  /** Authoritative answer: set for names in the zones the server owns. */
  readonly aa: boolean;
  /** Recursion available: set when the server forwards other names. */
  readonly ra?: boolean;
  readonly answer: readonly RR[];
  readonly authority: readonly RR[];
  readonly additional: readonly RR[];
}

// One scratch buffer: encoding is synchronous, so a reply is built here and copied out once.
const scratch = Buffer.allocUnsafe(65535 + 512);
const offsets = new Map<string, number>();
const OPT_SIZE = 11;

/**
 * Encodes a reply to q, never longer than limit bytes. Records that do not fit are left
 * out whole: a cut in the answer or authority section sets TC (RFC 2181 9), a cut in the
 * additional section does not. The OPT record is echoed when the query carried one.
 */
export function encodeReply(q: Query, r: Reply, limit: number): Buffer {
  const buf = scratch;
  offsets.clear();
  const rcode = r.rcode;
  buf[0] = q.id >> 8;
  buf[1] = q.id & 0xff;
  buf[2] = 0x80 | (q.opcode << 3) | (r.aa ? 0x04 : 0) | (q.rd ? 0x01 : 0);
  buf[3] = (r.ra ? 0x80 : 0) | (q.cd ? 0x10 : 0) | (rcode & 0x0f);
  buf[4] = 0;
  buf[5] = 1;
  let p = HEADER;
  // The question, exactly as asked; its suffixes become compression targets.
  const qw = q.qnameWire;
  buf.set(qw, p);
  registerQuestion(q.lname, p);
  p += qw.length;
  buf.writeUInt16BE(q.qtype, p);
  buf.writeUInt16BE(q.qclass, p + 2);
  p += 4;
  const room = limit - (q.edns ? OPT_SIZE : 0);
  // A cut in the answer or authority section sets TC and ends the message; in the additional section it does not.
  const an = writeSection(buf, p, r.answer, room);
  const ns = an.cut ? skipped(an.end) : writeSection(buf, an.end, r.authority, room);
  const tc = an.cut || ns.cut;
  const ad = tc ? skipped(ns.end) : writeSection(buf, ns.end, r.additional, room);
  p = ad.end;
  let ar = ad.count;
  if (q.edns) {
    buf[p] = 0;
    buf.writeUInt16BE(Type.OPT, p + 1);
    buf.writeUInt16BE(1232, p + 3);
    buf[p + 5] = rcode >> 4;
    buf[p + 6] = 0;
    buf[p + 7] = q.edns.do ? 0x80 : 0;
    buf[p + 8] = 0;
    buf[p + 9] = 0;
    buf[p + 10] = 0;
    p += OPT_SIZE;
    ar++;
  }
  if (tc) buf[2] |= 0x02;
  buf.writeUInt16BE(an.count, 6);
  buf.writeUInt16BE(ns.count, 8);
  buf.writeUInt16BE(ar, 10);
  return Buffer.from(buf.subarray(0, p));
}

interface Written {
  /** Records written. */
  readonly count: number;
  /** Offset after the last record written. */
  readonly end: number;
  /** True when a record did not fit. */
  readonly cut: boolean;
}

function skipped(end: number): Written {
  return { count: 0, end, cut: false };
}

/** Writes records from p until one does not fit in limit. */
function writeSection(buf: Buffer, p: number, rrs: readonly RR[], limit: number): Written {
  let count = 0;
  for (const rr of rrs) {
    const end = writeRR(buf, p, rr, limit);
    if (end < 0) return { count, end: p, cut: true };
    p = end;
    count++;
  }
  return { count, end: p, cut: false };
}

/** A header-only reply (FORMERR, NOTIMP) for a message whose question could not be used. */
export function encodeHeaderReply(id: number, opcode: number, rd: boolean, rcode: number): Buffer {
  const out = Buffer.alloc(HEADER);
  out[0] = id >> 8;
  out[1] = id & 0xff;
  out[2] = 0x80 | (opcode << 3) | (rd ? 0x01 : 0);
  out[3] = rcode & 0x0f;
  return out;
}

function registerQuestion(lname: string, at: number): void {
  if (lname === '') return;
  let name = lname;
  let pos = at;
  for (;;) {
    offsets.set(name, pos);
    const dot = nextDot(name);
    if (dot < 0) return;
    pos += wireLabelLength(name, dot) + 1;
    name = name.slice(dot + 1);
  }
}

/** Index of the first label-separating dot (skipping escaped dots), or -1. */
function nextDot(name: string): number {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x5c) {
      i += /\d/.test(name[i + 1] ?? '') ? 3 : 1;
      continue;
    }
    if (c === 0x2e) return i;
  }
  return -1;
}

/** Bytes on the wire of the first label of name, which ends at dot. */
function wireLabelLength(name: string, dot: number): number {
  let n = 0;
  for (let i = 0; i < dot; i++) {
    if (name.charCodeAt(i) === 0x5c) i += /\d/.test(name[i + 1] ?? '') ? 3 : 1;
    n++;
  }
  return n;
}

/** Writes a plain (unescaped, lowercase) name with compression; returns the end or -1 past limit. */
function writeName(buf: Buffer, p: number, name: string, limit: number): number {
  let rest = name;
  while (rest !== '') {
    const ptr = offsets.get(rest);
    if (ptr !== undefined) {
      if (p + 2 > limit) return -1;
      buf[p] = 0xc0 | (ptr >> 8);
      buf[p + 1] = ptr & 0xff;
      return p + 2;
    }
    const dot = rest.indexOf('.');
    const label = dot < 0 ? rest : rest.slice(0, dot);
    if (p + 1 + label.length > limit) return -1;
    if (p < 0x3fff) offsets.set(rest, p);
    buf[p] = label.length;
    buf.write(label, p + 1, 'latin1');
    p += 1 + label.length;
    rest = dot < 0 ? '' : rest.slice(dot + 1);
  }
  if (p + 1 > limit) return -1;
  buf[p] = 0;
  return p + 1;
}

function writeRR(buf: Buffer, start: number, rr: RR, limit: number): number {
  let p = writeName(buf, start, rr.name, limit);
  if (p < 0 || p + 10 > limit) return -1;
  buf.writeUInt16BE(rr.type, p);
  buf.writeUInt16BE(Class.IN, p + 2);
  buf.writeUInt32BE(rr.ttl >>> 0, p + 4);
  const rdlenAt = p + 8;
  p += 10;
  switch (rr.type) {
    case Type.A:
    case Type.AAAA:
      if (typeof rr.address === 'number') {
        if (p + 4 > limit) return -1;
        buf.writeUInt32BE(rr.address, p);
        p += 4;
        break;
      }
      if (p + rr.address.length > limit) return -1;
      buf.set(rr.address, p);
      p += rr.address.length;
      break;
    case Type.CNAME:
    case Type.PTR:
    case Type.NS:
      p = writeName(buf, p, rr.target, limit);
      break;
    case Type.SRV:
      if (p + 6 > limit) return -1;
      buf.writeUInt16BE(rr.priority, p);
      buf.writeUInt16BE(rr.weight, p + 2);
      buf.writeUInt16BE(rr.port, p + 4);
      // RFC 2782: the target is not compressed.
      p = writePlainName(buf, p + 6, rr.target, limit);
      break;
    case Type.HINFO:
      p = writeStrings(buf, p, [rr.cpu, rr.os], limit);
      break;
    case Type.TXT:
      p = writeStrings(buf, p, rr.texts, limit);
      break;
    case Type.SOA:
      p = writeName(buf, p, rr.mname, limit);
      if (p >= 0) p = writeName(buf, p, rr.rname, limit);
      if (p < 0 || p + 20 > limit) return -1;
      buf.writeUInt32BE(rr.serial >>> 0, p);
      buf.writeUInt32BE(rr.refresh, p + 4);
      buf.writeUInt32BE(rr.retry, p + 8);
      buf.writeUInt32BE(rr.expire, p + 12);
      buf.writeUInt32BE(rr.minimum, p + 16);
      p += 20;
      break;
  }
  if (p < 0) return -1;
  buf.writeUInt16BE(p - rdlenAt - 2, rdlenAt);
  return p;
}

/** Character-strings (TXT, HINFO): a length byte and up to 255 bytes each; -1 past limit. */
function writeStrings(buf: Buffer, p: number, texts: readonly string[], limit: number): number {
  for (const t of texts) {
    const len = Buffer.byteLength(t);
    if (len > 255 || p + 1 + len > limit) return -1;
    buf[p] = len;
    buf.write(t, p + 1, 'utf8');
    p += 1 + len;
  }
  return p;
}

function writePlainName(buf: Buffer, p: number, name: string, limit: number): number {
  if (name !== '') {
    for (const label of name.split('.')) {
      if (p + 1 + label.length > limit) return -1;
      buf[p] = label.length;
      buf.write(label, p + 1, 'latin1');
      p += 1 + label.length;
    }
  }
  if (p + 1 > limit) return -1;
  buf[p] = 0;
  return p + 1;
}

/** Encodes a query (for the project's own client: tests, explain, health probes). */
export function encodeQuery(opts: {
  id: number;
  name: string;
  type: number;
  rd?: boolean;
  edns?: { payload: number; do?: boolean; version?: number } | null;
}): Buffer {
  const labels = opts.name === '' ? [] : opts.name.replace(/\.$/, '').split('.');
  const parts: number[] = [];
  for (const l of labels) {
    const b = Buffer.from(l, 'latin1');
    parts.push(b.length, ...b);
  }
  parts.push(0);
  const hasOpt = opts.edns != null;
  const out = Buffer.alloc(HEADER + parts.length + 4 + (hasOpt ? OPT_SIZE : 0));
  out.writeUInt16BE(opts.id, 0);
  out[2] = opts.rd === false ? 0 : 0x01;
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(hasOpt ? 1 : 0, 10);
  out.set(parts, HEADER);
  let p = HEADER + parts.length;
  out.writeUInt16BE(opts.type, p);
  out.writeUInt16BE(Class.IN, p + 2);
  p += 4;
  if (opts.edns) {
    out[p] = 0;
    out.writeUInt16BE(Type.OPT, p + 1);
    out.writeUInt16BE(opts.edns.payload, p + 3);
    out[p + 5] = 0;
    out[p + 6] = opts.edns.version ?? 0;
    out[p + 7] = opts.edns.do ? 0x80 : 0;
  }
  return out;
}
