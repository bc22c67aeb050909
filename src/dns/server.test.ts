import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { test } from 'node:test';
import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import { parseReply, sendTcpMany, sendUdp } from '../../test/helpers/dns-client.js';
import { Class, Rcode, Type } from './constants.js';
import { chain, protocolGuard, type Handler } from './handler.js';
import { addressBytes, type RR } from './rr.js';
import { DnsServer } from './server.js';
import { encodeQuery, type Reply } from './wire.js';
import { mulberry32 } from '../../test/helpers/random.mjs';

/*
 * The server over real UDP and TCP sockets on 127.0.0.1: answers, pipelining, truncation,
 * handler failures, and a corpus of malformed and random packets that must never stop it.
 */

const A = (name: string, ip: string): RR => ({ type: Type.A, name, ttl: 30, address: addressBytes(ip) });
const answer = (records: RR[]): Reply => ({ rcode: Rcode.NOERROR, aa: true, answer: records, authority: [], additional: [] });
const BIG = Array.from({ length: 200 }, (_, i) => A('big.test', `10.3.${i >> 8}.${i & 0xff}`));

const testHandler: Handler = {
  name: 'test',
  serve(req, next) {
    switch (req.query.lname) {
      case 'a.test':
        return answer([A('a.test', '10.0.0.1')]);
      case 'big.test':
        return answer(BIG);
      case 'boom.test':
        throw new Error('boom');
      case 'later.test':
        return Promise.resolve(answer([A('later.test', '10.0.0.2')]));
      case 'later-boom.test':
        return Promise.reject(new Error('later boom'));
      case 'bad-record.test':
        // A record the encoder cannot write: a port beyond 16 bits.
        return answer([{ type: Type.SRV, name: 'bad-record.test', ttl: 30, priority: 0, weight: 0, port: 70000, target: 'a.test' }]);
      default:
        return next(req);
    }
  },
};

let nextId = 0x100;

interface Ask {
  readonly id: number;
  readonly raw: Buffer;
}

function ask(name: string, type: number = Type.A, edns: { payload: number; version?: number; do?: boolean } | null = null): Ask {
  const id = nextId++ & 0xffff;
  return { id, raw: encodeQuery({ id, name, type, edns }) };
}

/** The query with its question class replaced. */
function withClass(q: Ask, cls: number): Ask {
  const raw = Buffer.from(q.raw);
  // Header, name, type: the class is the next two bytes.
  let p = 12;
  while (raw[p] !== 0) p += raw[p] + 1;
  raw.writeUInt16BE(cls, p + 3);
  return { id: q.id, raw };
}

/** A reply to q: QR set and the same id. */
function decodeAnswer(q: Ask, raw: Buffer) {
  const r = parseReply(raw);
  assert.equal(r.packet.id, q.id, 'reply id matches the query');
  assert.equal((r.packet as { flag_qr?: boolean }).flag_qr, true, 'QR');
  return r;
}

/** A TCP connection whose replies are collected frame by frame. */
class TcpClient {
  private readonly frames: Buffer[] = [];
  private buffered = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private failure: Error | null = null;

  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (c) => {
      this.buffered = Buffer.concat([this.buffered, c]);
      while (this.buffered.length >= 2 && this.buffered.length >= 2 + this.buffered.readUInt16BE(0)) {
        const n = this.buffered.readUInt16BE(0);
        this.frames.push(this.buffered.subarray(2, 2 + n));
        this.buffered = this.buffered.subarray(2 + n);
      }
      this.waiter?.();
    });
    const fail = (e: Error) => {
      this.failure = e;
      this.waiter?.();
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('connection closed')));
  }

  static connect(port: number): Promise<TcpClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => resolve(new TcpClient(sock)));
      sock.once('error', reject);
    });
  }

  write(b: Buffer): void {
    this.sock.write(b);
  }

  /** Resolves once n replies in all have arrived; fails if the connection ends first. */
  async replies(n: number): Promise<Buffer[]> {
    const guard = setTimeout(() => {
      this.failure ??= new Error(`got ${this.frames.length} of ${n} TCP replies`);
      this.waiter?.();
    }, 5000);
    try {
      while (this.frames.length < n) {
        if (this.failure) throw this.failure;
        await new Promise<void>((resolve) => (this.waiter = resolve));
        this.waiter = null;
      }
      return this.frames.slice(0, n);
    } finally {
      clearTimeout(guard);
    }
  }

  close(): void {
    this.sock.destroy();
  }
}

const frame = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);

/** Collects every datagram arriving on one socket. */
class UdpCollector {
  readonly messages: Buffer[] = [];
  private waiter: (() => void) | null = null;
  private constructor(readonly sock: dgram.Socket) {
    sock.on('message', (m) => {
      this.messages.push(m);
      this.waiter?.();
    });
  }

  static async open(): Promise<UdpCollector> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
    return new UdpCollector(sock);
  }

  send(port: number, b: Uint8Array): void {
    this.sock.send(b, port, '127.0.0.1');
  }

  /** Resolves with the first message since index from that matches, or null after ms. */
  async waitFor(from: number, match: (m: Buffer) => boolean, ms: number): Promise<Buffer | null> {
    let timedOut = false;
    const guard = setTimeout(() => {
      timedOut = true;
      this.waiter?.();
    }, ms);
    try {
      for (let i = from; ; ) {
        for (; i < this.messages.length; i++) if (match(this.messages[i])) return this.messages[i];
        if (timedOut) return null;
        await new Promise<void>((resolve) => (this.waiter = resolve));
        this.waiter = null;
      }
    } finally {
      clearTimeout(guard);
    }
  }

  close(): void {
    this.sock.close();
  }
}



// Malformed packets, byte by byte.
const u16 = (n: number) => [n >> 8, n & 0xff];
const hdr = (h: { id: number; flags?: number; qd?: number }) => [...u16(h.id), ...u16(h.flags ?? 0x0100), ...u16(h.qd ?? 1), 0, 0, 0, 0, 0, 0];
const qA = [1, 0x61, 4, 0x74, 0x65, 0x73, 0x74, 0, ...u16(Type.A), ...u16(Class.IN)];

interface MalformedCase {
  readonly name: string;
  readonly bytes: number[];
  /** The rcode of the header-only reply, or null when the server must stay silent. */
  readonly rcode: 'FORMERR' | 'NOTIMP' | null;
}

const malformed: readonly MalformedCase[] = [
  { name: 'truncated header', bytes: hdr({ id: 0x5001 }).slice(0, 7), rcode: null },
  { name: 'empty datagram', bytes: [], rcode: null },
  { name: 'QR=1', bytes: [...hdr({ id: 0x5002, flags: 0x8100 }), ...qA], rcode: null },
  { name: 'pointer loop', bytes: [...hdr({ id: 0x5003 }), 0xc0, 14, 0xc0, 12, ...u16(1), ...u16(1)], rcode: 'FORMERR' },
  { name: 'pointer to itself', bytes: [...hdr({ id: 0x5004 }), 0xc0, 12, ...u16(1), ...u16(1)], rcode: 'FORMERR' },
  { name: '64-byte label', bytes: [...hdr({ id: 0x5005 }), 64, ...Array<number>(64).fill(0x61), 0, ...u16(1), ...u16(1)], rcode: 'FORMERR' },
  { name: 'QDCOUNT 0', bytes: hdr({ id: 0x5006, qd: 0 }), rcode: 'FORMERR' },
  { name: 'QDCOUNT 2', bytes: [...hdr({ id: 0x5007, qd: 2 }), ...qA, ...qA], rcode: 'FORMERR' },
  { name: 'opcode 5 (update)', bytes: [...hdr({ id: 0x5008, flags: 0x2900 }), ...qA], rcode: 'NOTIMP' },
  { name: 'question cut short', bytes: [...hdr({ id: 0x5009 }), 1, 0x61], rcode: 'FORMERR' },
];

test('DnsServer over UDP and TCP', async (t) => {
  const server = new DnsServer({
    listen: [{ host: '127.0.0.1', port: 0 }],
    handle: chain([protocolGuard, testHandler]),
    logger: pino({ level: 'silent' }),
  });
  t.after(() => server.stop());
  const [bound] = await server.start();
  const port = bound.port;
  assert.ok(port > 0);

  /** Proof of life: a.test is answered over UDP. */
  const alive = async () => {
    const q = ask('a.test');
    const r = decodeAnswer(q, await sendUdp(port, q.raw));
    assert.deepEqual(r.answer, ['a.test. 30 IN A 10.0.0.1']);
  };

  const transports = [
    { transport: 'udp', send: (b: Buffer) => sendUdp(port, b) },
    { transport: 'tcp', send: async (b: Buffer) => (await sendTcpMany(port, [b]))[0] },
  ] as const;

  for (const { transport, send } of transports) {
    const cases = [
      { name: 'a.test', rcode: 'NOERROR', answer: ['a.test. 30 IN A 10.0.0.1'], aa: true },
      { name: 'A.Test', rcode: 'NOERROR', answer: ['A.Test. 30 IN A 10.0.0.1'], aa: true },
      { name: 'later.test', rcode: 'NOERROR', answer: ['later.test. 30 IN A 10.0.0.2'], aa: true },
      { name: 'elsewhere.test', rcode: 'REFUSED', answer: [], aa: false },
      { name: 'later-boom.test', rcode: 'SERVFAIL', answer: [], aa: false },
    ];
    for (const c of cases) {
      await t.test(`${transport}: ${c.name} is answered ${c.rcode}`, async () => {
        const q = ask(c.name);
        const r = decodeAnswer(q, await send(q.raw));
        assert.deepEqual({ rcode: r.rcode, answer: r.answer, aa: r.aa, tc: r.tc }, { rcode: c.rcode, answer: c.answer, aa: c.aa, tc: false });
        assert.deepEqual(r.packet.questions, [{ name: c.name, type: 'A', class: 'IN' }]);
      });
    }
  }

  await t.test('tcp: pipelined queries on one connection, split and coalesced writes', async () => {
    const client = await TcpClient.connect(port);
    try {
      const qs = [ask('a.test'), ask('later.test'), ask('elsewhere.test'), ask('a.test'), ask('big.test')];
      const f = qs.map((q) => frame(q.raw));
      // The first query whole, and only the first byte of the second's length prefix.
      client.write(Buffer.concat([f[0], f[1].subarray(0, 1)]));
      // Once the first is answered, the server has seen the dangling byte on its own.
      await client.replies(1);
      client.write(f[1].subarray(1, 9));
      client.write(Buffer.concat([f[1].subarray(9), f[2]]));
      // Two (and then three) queries in one write.
      client.write(Buffer.concat([f[3], f[4]]));
      const replies = await client.replies(qs.length);
      const byId = new Map(replies.map((raw) => [raw.readUInt16BE(0), raw]));
      assert.equal(byId.size, qs.length, 'one reply per query');
      for (const q of qs) {
        const raw = byId.get(q.id);
        assert.ok(raw, `reply to ${q.id}`);
        decodeAnswer(q, raw);
      }
      assert.equal(parseReply(byId.get(qs[4].id)!).answer.length, 200);
    } finally {
      client.close();
    }
  });

  const bigCases = [
    { name: 'udp without EDNS', transport: 'udp', edns: null, max: 512, tc: true },
    { name: 'udp with EDNS 512', transport: 'udp', edns: { payload: 512 }, max: 512, tc: true },
    { name: 'udp with EDNS 4096 offered', transport: 'udp', edns: { payload: 4096 }, max: 1232, tc: true },
    { name: 'tcp without EDNS', transport: 'tcp', edns: null, max: 65535, tc: false },
    { name: 'tcp with EDNS', transport: 'tcp', edns: { payload: 1232 }, max: 65535, tc: false },
  ] as const;

  for (const c of bigCases) {
    await t.test(`big.test over ${c.name}`, async () => {
      const q = ask('big.test', Type.A, c.edns);
      const raw = c.transport === 'udp' ? await sendUdp(port, q.raw) : (await sendTcpMany(port, [q.raw]))[0];
      assert.ok(raw.length <= c.max, `${raw.length} bytes within ${c.max}`);
      const r = decodeAnswer(q, raw);
      assert.equal(r.tc, c.tc, 'TC');
      assert.deepEqual(r.answer, BIG.slice(0, r.answer.length).map((rr) => `big.test. 30 IN A ${[...(rr as { address: Uint8Array }).address].join('.')}`));
      if (c.tc) assert.ok(r.answer.length > 0 && r.answer.length < 200);
      else assert.equal(r.answer.length, 200);
      const opts = (r.packet.additionals ?? []).filter((a) => a.type === 'OPT');
      assert.equal(opts.length, c.edns ? 1 : 0, 'OPT echoed only when offered');
    });
  }

  await t.test('a handler that throws gives SERVFAIL, is counted, and the server goes on', async () => {
    for (const transport of ['udp', 'tcp'] as const) {
      const before = server.counters.panics;
      const q = ask('boom.test');
      const raw = transport === 'udp' ? await sendUdp(port, q.raw) : (await sendTcpMany(port, [q.raw]))[0];
      const r = decodeAnswer(q, raw);
      assert.equal(r.rcode, 'SERVFAIL', transport);
      assert.equal(server.counters.panics, before + 1, `${transport}: panics counted`);
      await alive();
    }
  });

  await t.test('a reply the encoder cannot write gives SERVFAIL and is counted', async () => {
    for (const transport of ['udp', 'tcp'] as const) {
      const before = server.counters.panics;
      const q = ask('bad-record.test');
      const raw = transport === 'udp' ? await sendUdp(port, q.raw) : (await sendTcpMany(port, [q.raw]))[0];
      assert.equal(decodeAnswer(q, raw).rcode, 'SERVFAIL', transport);
      assert.equal(server.counters.panics, before + 1, `${transport}: panics counted`);
      await alive();
    }
  });

  await t.test('EDNS version 1 gets BADVERS with an OPT record', async () => {
    for (const version of [1, 255]) {
      const q = ask('a.test', Type.A, { payload: 1232, version });
      const raw = await sendUdp(port, q.raw);
      const r = decodeAnswer(q, raw);
      const opts = (r.packet.additionals ?? []).filter((a) => a.type === 'OPT') as unknown as { extendedRcode: number; ednsVersion: number }[];
      assert.equal(opts.length, 1);
      assert.equal((opts[0].extendedRcode << 4) | (raw[3] & 0x0f), Rcode.BADVERS);
      assert.equal(opts[0].ednsVersion, 0);
      assert.deepEqual(r.answer, []);
    }
  });

  await t.test('class CH and ANY are REFUSED, other classes NOTIMP', async () => {
    const cases = [
      { cls: Class.CH, rcode: 'REFUSED' },
      { cls: Class.ANY, rcode: 'REFUSED' },
      { cls: 4, rcode: 'NOTIMP' },
    ];
    for (const c of cases) {
      const q = withClass(ask('a.test', Type.TXT), c.cls);
      const r = decodeAnswer(q, await sendUdp(port, q.raw));
      assert.equal(r.rcode, c.rcode, `class ${c.cls}`);
      assert.deepEqual(r.answer, []);
    }
  });

  for (const c of malformed) {
    await t.test(`malformed over UDP: ${c.name} -> ${c.rcode ?? 'no reply'}`, async () => {
      const bytes = Buffer.from(c.bytes);
      const counters = { ...server.counters };
      if (c.rcode === null) {
        await assert.rejects(sendUdp(port, bytes, 300), /no UDP reply/);
      } else {
        const raw = await sendUdp(port, bytes);
        assert.equal(raw.length, 12, 'header only');
        const r = parseReply(raw);
        assert.equal(r.packet.id, bytes.readUInt16BE(0));
        assert.equal((r.packet as { flag_qr?: boolean }).flag_qr, true);
        assert.equal(r.rcode, c.rcode);
      }
      // Alive right after, whether or not it replied.
      await alive();
      if (c.rcode === null) assert.equal(server.counters.dropped, counters.dropped + 1, 'counted as dropped');
      else assert.equal(server.counters.malformed, counters.malformed + 1, 'counted as malformed');
    });
  }

  await t.test('malformed over TCP: header replies in order on the same connection', async () => {
    const replied = malformed.filter((c) => c.rcode !== null);
    const raws = await sendTcpMany(port, [...replied.map((c) => Buffer.from(c.bytes)), ask('a.test').raw]);
    replied.forEach((c, i) => {
      const r = parseReply(raws[i]);
      assert.equal(r.packet.id, Buffer.from(c.bytes).readUInt16BE(0), c.name);
      assert.equal(r.rcode, c.rcode, c.name);
    });
    assert.deepEqual(parseReply(raws.at(-1)!).answer, ['a.test. 30 IN A 10.0.0.1']);
  });

  await t.test('after the whole malformed corpus the server still answers', async () => {
    const sock = await UdpCollector.open();
    try {
      for (const c of malformed) sock.send(port, Buffer.from(c.bytes));
      await alive();
    } finally {
      sock.close();
    }
  });

  await t.test('2,000 random packets: every reply parses and has QR set, and the server still answers', async () => {
    const random = mulberry32(0x5eed);
    const sock = await UdpCollector.open();
    const sentinels = new Set<number>();
    try {
      const BATCH = 25;
      for (let sent = 0; sent < 2000; ) {
        for (let i = 0; i < BATCH && sent < 2000; i++, sent++) {
          const len = Math.floor(random() * 601);
          const b = Buffer.alloc(len);
          for (let j = 0; j < len; j++) b[j] = Math.floor(random() * 256);
          sock.send(port, b);
        }
        // Pace the batches by a query answered after them, so no socket buffer overflows.
        const q = ask('a.test');
        sentinels.add(q.id);
        const from = sock.messages.length;
        let got: Buffer | null = null;
        for (let attempt = 0; attempt < 3 && !got; attempt++) {
          sock.send(port, q.raw);
          got = await sock.waitFor(from, (m) => m.length >= 2 && m.readUInt16BE(0) === q.id, 2000);
        }
        assert.ok(got, `no answer after ${sent} random packets`);
      }
      await alive();
      const replies = sock.messages.filter((m) => !(m.length >= 2 && sentinels.has(m.readUInt16BE(0)) && isSentinel(m)));
      assert.ok(replies.length > 0, 'some random packets got a reply');
      for (const m of replies) {
        let p: dnsPacket.Packet & { flag_qr?: boolean };
        assert.doesNotThrow(() => (p = dnsPacket.decode(m)), `reply ${m.toString('hex')} parses`);
        assert.equal(p!.flag_qr, true, `reply ${m.toString('hex')} has QR`);
      }
    } finally {
      sock.close();
    }
  });
});

/** The pacing query's answer: a.test, A 10.0.0.1. */
function isSentinel(m: Buffer): boolean {
  try {
    const p = dnsPacket.decode(m);
    return p.questions?.[0]?.name === 'a.test';
  } catch {
    return false;
  }
}

test('DnsServer: a reply that completes after stop is dropped quietly', async (t) => {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  // Resolves once both the UDP and the TCP query are inside the handler.
  let entered: () => void = () => undefined;
  const inHandler = new Promise<void>((resolve) => (entered = resolve));
  let calls = 0;
  const slow: Handler = {
    name: 'slow',
    async serve() {
      if (++calls === 2) entered();
      await released;
      return answer([A('slow.test', '10.0.0.3')]);
    },
  };
  const server = new DnsServer({ listen: [{ host: '127.0.0.1', port: 0 }], handle: chain([slow]), logger: pino({ level: 'silent' }) });
  const [bound] = await server.start();
  const sock = await UdpCollector.open();
  t.after(() => sock.close());
  const client = await TcpClient.connect(bound.port);
  t.after(() => client.close());
  const q = ask('slow.test');
  sock.send(bound.port, q.raw);
  client.write(frame(q.raw));
  await inHandler;
  await server.stop();
  release();
  // The pending replies settle against closed sockets; nothing may throw out of the server.
  await released;
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.equal(sock.messages.length, 0);
});
