import dgram from 'node:dgram';
import { buildQuery } from '../helpers/dns-client.js';
import { GOOD_CASES, HOST, Rng, UdpProbe, answersCase, checkReply, rcodeName, stampId, type Watched } from './lib.js';

/**
 * The mutation fuzzer: seeded mutations of real queries, sent over UDP in windows on a few
 * sockets. Messages with QR set go on a socket of their own, so any reply there is a reply to a
 * response. Every so many mutated messages a well-formed query for a cluster name goes on a
 * third kind of socket and its answer is checked.
 */

const CLUSTER_NAMES = [
  'kubernetes.default.svc.cluster.local',
  'KuBeRnEtEs.DeFaUlT.svc.cluster.local',
  'svc1.ns1.svc.cluster.local',
  '_http._tcp.svc1.ns1.svc.cluster.local',
  'hdls.ns1.svc.cluster.local',
  'pod-a.hdls.ns1.svc.cluster.local',
  'ext.ns1.svc.cluster.local',
  'inext.ns1.svc.cluster.local',
  '1.1.96.10.in-addr.arpa',
  '2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa',
  'dns-version.cluster.local',
  'cluster.local',
  'ns1.svc.cluster.local',
  'nope.svc.cluster.local',
  '10-244-0-1.ns1.pod.cluster.local',
];
const OUTSIDE_NAMES = ['example.com', 'www.example.org', 'a.b.c.d.e.f.g.example.net', 'localhost', '9.9.9.9.in-addr.arpa', 'x'];
const TYPES = ['A', 'AAAA', 'SRV', 'PTR', 'TXT', 'SOA', 'NS', 'CNAME', 'ANY', 'TYPE65'];
const EDNS: (number | null)[] = [1232, 4096, 512, null];

/** The real queries mutations start from, plus a few hand-made ones with pointers and EDNS options. */
export function templates(): Buffer[] {
  const out: Buffer[] = [];
  for (const name of [...CLUSTER_NAMES, ...OUTSIDE_NAMES]) for (const type of TYPES) for (const edns of EDNS) out.push(buildQuery(name, type, edns));
  const base = buildQuery('kubernetes.default.svc.cluster.local', 'A', null);
  // An answer-section record whose owner is a pointer to the question name.
  const an = Buffer.concat([base, Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 10, 96, 0, 1])]);
  an.writeUInt16BE(1, 6);
  out.push(an);
  // OPT with version 1 and DO set (BADVERS), and OPT carrying a cookie option.
  const opt = (ttlHi: number, rdata: Buffer) => {
    const m = Buffer.concat([base, Buffer.from([0, 0, 41, 0x04, 0xd0, 0, ttlHi, 0x80, 0, rdata.length >> 8, rdata.length & 0xff]), rdata]);
    m.writeUInt16BE(1, 10);
    return m;
  };
  out.push(opt(1, Buffer.alloc(0)));
  out.push(opt(0, Buffer.from([0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8])));
  return out;
}

const SPECIAL = [0x00, 0xff, 0xc0, 0xc0, 0x3f, 0x40, 0x80, 0x01, 0x0c];

/** Deterministic mutations of the templates: the same seed gives the same sequence. */
export class Mutator {
  private readonly rng: Rng;
  private readonly base = templates();
  private readonly ops: ((b: Buffer) => Buffer)[];

  constructor(seed: number) {
    this.rng = new Rng(seed);
    const r = this.rng;
    const val = () => (r.next() < 0.3 ? r.pick(SPECIAL) : r.byte());
    const bitflip = (b: Buffer) => {
      for (let n = 1 + r.int(8); n > 0 && b.length > 0; n--) b[r.int(b.length)] ^= 1 << r.int(8);
      return b;
    };
    const overwrite = (b: Buffer) => {
      for (let n = 1 + r.int(4); n > 0 && b.length > 0; n--) b[r.int(b.length)] = val();
      return b;
    };
    const truncate = (b: Buffer) => Buffer.from(b.subarray(0, r.int(b.length + 1)));
    const insert = (b: Buffer) => {
      const at = r.int(b.length + 1);
      const ins = Buffer.from(Array.from({ length: 1 + r.int(16) }, val));
      return Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
    };
    const counts = (b: Buffer) => {
      if (b.length >= 12) b.writeUInt16BE(r.pick([0, 1, 1, 2, 3, 0xffff, r.int(65536)]), 4 + 2 * r.int(4));
      return b;
    };
    const pointer = (b: Buffer) => {
      if (b.length < 14) return b;
      const at = 12 + r.int(b.length - 13);
      const target = r.pick([r.int(b.length + 32), at, at + 2, 12, 0x3fff, r.int(at + 1)]);
      b[at] = 0xc0 | ((target >> 8) & 0x3f);
      b[at + 1] = target & 0xff;
      return b;
    };
    const qr = (b: Buffer) => {
      if (b.length >= 3) b[2] |= 0x80;
      return b;
    };
    const resize = (b: Buffer) => {
      const len = r.int(601);
      const out = Buffer.alloc(len);
      b.copy(out, 0, 0, Math.min(len, b.length));
      for (let i = b.length; i < len; i++) out[i] = r.byte();
      return out;
    };
    const opcode = (b: Buffer) => {
      if (b.length >= 3) b[2] = (b[2] & 0x87) | (r.int(16) << 3);
      return b;
    };
    const duplicate = (b: Buffer): Buffer => (b.length > 12 ? Buffer.concat([b, b.subarray(12 + r.int(b.length - 12))]) : b);
    const weighted: [number, (b: Buffer) => Buffer][] = [
      [3, bitflip],
      [3, overwrite],
      [2, truncate],
      [2, insert],
      [3, counts],
      [3, pointer],
      [1, qr],
      [2, resize],
      [1, opcode],
      [1, duplicate],
    ];
    this.ops = weighted.flatMap(([w, f]) => Array.from({ length: w }, () => f));
  }

  next(): Buffer {
    let b: Buffer = Buffer.from(this.rng.pick(this.base));
    for (let k = 1 + this.rng.int(3); k > 0; k--) b = this.rng.pick(this.ops)(b);
    return b;
  }
}

export interface FuzzOptions {
  readonly packets: number;
  readonly seed: number;
  /** Sockets carrying mutated queries (QR=0). */
  readonly lanes: number;
  /** Messages in flight per socket. */
  readonly window: number;
  /** A well-formed query after this many mutated messages. */
  readonly goodEvery: number;
  /** A reply not back within this long counts as dropped. */
  readonly dropTimeoutMs: number;
}

/**
 * 4 sockets x 64 in flight (plus the QR=1 socket) keeps the server busy without overflowing its
 * socket's default receive buffer too often; 256 per socket drops a few per cent at the kernel.
 */
export const FULL_FUZZ: FuzzOptions = { packets: 1_000_000, seed: 0x5eed_d115, lanes: 4, window: 64, goodEvery: 1000, dropTimeoutMs: 1000 };

export interface FuzzResult {
  sent: number;
  /** Messages with QR=1 (sent on their own socket). */
  qrSent: number;
  /** Messages the server should answer: at least a header long, QR=0. */
  expected: number;
  replies: number;
  drops: number;
  late: number;
  unexpected: number;
  unparseable: number;
  noQr: number;
  badRcode: number;
  /** Replies on the QR=1 socket, and those whose ID matches a QR=1 message sent. */
  qrReplies: number;
  qrIdReplies: number;
  rcodes: Record<string, number>;
  good: { sent: number; ok: number; wrong: number; lost: number; retries: number };
  seconds: number;
  peakRssKiB: number;
  samples: string[];
  /** The first few messages that got no reply in time, to be asked again one at a time. */
  dropSamples: Buffer[];
}

interface Sent {
  readonly at: number;
  readonly msg: Buffer;
}

class Lane {
  readonly sock = dgram.createSocket('udp4');
  readonly pending = new Map<number, Sent>();
  readonly dropped = new Set<number>();
  inFlight = 0;
  nextId = 0;
  constructor(readonly kind: 'query' | 'qr') {}
  id(): number {
    this.nextId = (this.nextId + 1) & 0xffff;
    return this.nextId;
  }
}

export async function runFuzz(w: Watched, o: FuzzOptions): Promise<FuzzResult> {
  const res: FuzzResult = {
    sent: 0,
    qrSent: 0,
    expected: 0,
    replies: 0,
    drops: 0,
    late: 0,
    unexpected: 0,
    unparseable: 0,
    noQr: 0,
    badRcode: 0,
    qrReplies: 0,
    qrIdReplies: 0,
    rcodes: {},
    good: { sent: 0, ok: 0, wrong: 0, lost: 0, retries: 0 },
    seconds: 0,
    peakRssKiB: w.rssKiB(),
    samples: [],
    dropSamples: [],
  };
  const sample = (what: string, sent: Buffer | undefined, reply: Buffer) => {
    if (res.samples.length < 8) res.samples.push(`${what}: sent=${sent ? sent.toString('hex') : '?'} reply=${reply.toString('hex')}`);
  };
  const mut = new Mutator(o.seed);
  const lanes = Array.from({ length: o.lanes }, () => new Lane('query'));
  const qrLane = new Lane('qr');
  const qrIds = new Set<number>();
  const all = [...lanes, qrLane];
  await Promise.all(all.map((l) => new Promise<void>((r) => l.sock.connect(w.port, HOST, () => r()))));
  for (const l of all) l.sock.on('error', () => undefined);
  const good = new UdpProbe(w.port);
  await good.ready();
  good.onOther = (raw) => {
    res.unexpected++;
    sample('unexpected reply on the well-formed socket', undefined, raw);
  };

  // Messages that get no reply keep their slot until a reply to a later message shows the
  // server has read past them (or the drop timeout passes): this bounds what waits at the server.
  const silent: { lane: Lane; at: number }[] = [];
  let silentHead = 0;
  const releaseSilent = (upTo: number) => {
    while (silentHead < silent.length && silent[silentHead].at <= upTo) silent[silentHead++].lane.inFlight--;
    if (silentHead > 4096) {
      silent.splice(0, silentHead);
      silentHead = 0;
    }
  };
  let wake: () => void = () => undefined;
  const pump = () => wake();

  for (const l of lanes) {
    l.sock.on('message', (raw) => {
      const id = raw.length >= 2 ? raw.readUInt16BE(0) : -1;
      const s = l.pending.get(id);
      if (s) {
        l.pending.delete(id);
        l.inFlight--;
        res.replies++;
        releaseSilent(s.at);
      } else if (l.dropped.delete(id)) res.late++;
      else {
        res.unexpected++;
        sample('reply to no message in flight', undefined, raw);
      }
      const c = checkReply(raw);
      if (c.ok) {
        const n = rcodeName(c.rcode);
        res.rcodes[n] = (res.rcodes[n] ?? 0) + 1;
      } else {
        if (c.problem === 'unparseable') res.unparseable++;
        else if (c.problem === 'no-qr') res.noQr++;
        else res.badRcode++;
        sample(`${c.problem} ${c.detail ?? rcodeName(c.rcode)}`, s?.msg, raw);
      }
      pump();
    });
  }
  qrLane.sock.on('message', (raw) => {
    res.qrReplies++;
    if (raw.length >= 2 && qrIds.has(raw.readUInt16BE(0))) res.qrIdReplies++;
    sample('reply to a QR=1 message', undefined, raw);
  });

  const sweep = setInterval(() => {
    const old = performance.now() - o.dropTimeoutMs;
    releaseSilent(old);
    for (const l of lanes) {
      for (const [id, s] of l.pending) {
        if (s.at > old) continue;
        l.pending.delete(id);
        l.inFlight--;
        l.dropped.add(id);
        res.drops++;
        if (res.dropSamples.length < 20) res.dropSamples.push(s.msg);
      }
      if (l.dropped.size > 4096) l.dropped.clear();
    }
    const rss = w.rssKiB();
    if (rss > res.peakRssKiB) res.peakRssKiB = rss;
    pump();
  }, 50);

  const goodRuns: Promise<void>[] = [];
  const askGood = async (k: number) => {
    const c = GOOD_CASES[k % GOOD_CASES.length];
    res.good.sent++;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (attempt > 0) res.good.retries++;
      const raw = await good.ask(buildQuery(c.qname, c.qtype), 1000);
      if (raw === null) continue;
      if (answersCase(raw, c)) res.good.ok++;
      else {
        res.good.wrong++;
        sample(`wrong answer to ${c.qname} ${c.qtype}`, undefined, raw);
      }
      return;
    }
    res.good.lost++;
  };

  const t0 = performance.now();
  let rr = 0;
  await new Promise<void>((done) => {
    const step = () => {
      while (res.sent < o.packets) {
        // A free slot on the next query socket, round robin.
        let lane: Lane | null = null;
        for (let j = 0; j < lanes.length; j++) {
          const l = lanes[(rr + j) % lanes.length];
          if (l.inFlight < o.window) {
            lane = l;
            rr = (rr + j + 1) % lanes.length;
            break;
          }
        }
        if (!lane || qrLane.inFlight >= o.window) return;
        const msg = mut.next();
        const isQr = msg.length >= 3 && (msg[2] & 0x80) !== 0;
        const l = isQr ? qrLane : lane;
        const id = l.id();
        stampId(msg, id);
        res.sent++;
        l.inFlight++;
        const at = performance.now();
        if (isQr) {
          res.qrSent++;
          if (msg.length >= 2) qrIds.add(id);
          silent.push({ lane: l, at });
        } else if (msg.length >= 12) {
          res.expected++;
          l.pending.set(id, { at, msg });
        } else {
          // Shorter than a header: no reply is due.
          silent.push({ lane: l, at });
        }
        l.sock.send(msg);
        if (res.sent % o.goodEvery === 0) goodRuns.push(askGood(res.sent / o.goodEvery));
      }
      if (lanes.every((l) => l.inFlight === 0) && qrLane.inFlight === 0) done();
    };
    wake = step;
    step();
  });
  await Promise.all(goodRuns);
  res.seconds = (performance.now() - t0) / 1000;
  clearInterval(sweep);
  // Late replies to a QR=1 message would arrive by now.
  await new Promise((r) => setTimeout(r, 200));
  for (const l of all) l.sock.close();
  good.close();
  return res;
}

export function fuzzPassed(r: FuzzResult): boolean {
  return r.unparseable === 0 && r.noQr === 0 && r.badRcode === 0 && r.qrReplies === 0 && r.unexpected === 0 && r.good.ok === r.good.sent;
}
