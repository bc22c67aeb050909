import assert from 'node:assert/strict';
import { test } from 'node:test';
import dnsPacket from 'dns-packet';
import { Class, Rcode, Type, rcodeName, typeName } from './constants.js';
import { addressBytes, reverseName, type RR } from './rr.js';
import { decodeQuery, encodeHeaderReply, encodeQuery, encodeReply, type Query, type Reply } from './wire.js';

/*
 * The codec checked against dns-packet, an independent decoder: replies are encoded here
 * and read back there field by field; queries are built byte by byte for the decoder.
 */

// ---------------------------------------------------------------------------------------
// Records and queries

const A = (name: string, ip: string, ttl = 30): RR => ({ type: Type.A, name, ttl, address: addressBytes(ip) });
const AAAA = (name: string, ip: string, ttl = 30): RR => ({ type: Type.AAAA, name, ttl, address: addressBytes(ip) });
const CNAME = (name: string, target: string, ttl = 30): RR => ({ type: Type.CNAME, name, ttl, target });
const PTR = (name: string, target: string, ttl = 30): RR => ({ type: Type.PTR, name, ttl, target });
const NS = (name: string, target: string, ttl = 30): RR => ({ type: Type.NS, name, ttl, target });
const SRV = (name: string, priority: number, weight: number, port: number, target: string, ttl = 30): RR => ({
  type: Type.SRV,
  name,
  ttl,
  priority,
  weight,
  port,
  target,
});
const TXT = (name: string, texts: readonly string[], ttl = 30): RR => ({ type: Type.TXT, name, ttl, texts });
const SOA = (name: string, ttl = 5): RR => ({
  type: Type.SOA,
  name,
  ttl,
  mname: 'ns.dns.cluster.local',
  rname: 'hostmaster.cluster.local',
  serial: 4_000_000_001,
  refresh: 7200,
  retry: 1800,
  expire: 86400,
  minimum: 5,
});

interface QuerySpec {
  readonly id?: number;
  readonly name: string;
  readonly type: number;
  readonly rd?: boolean;
  readonly cd?: boolean;
  readonly edns?: { payload: number; do?: boolean; version?: number } | null;
}

/** A Query as the decoder produces it from our own encoder's bytes. */
function mkQuery(s: QuerySpec): Query {
  const bytes = encodeQuery({ id: s.id ?? 0x1234, name: s.name, type: s.type, rd: s.rd, edns: s.edns ?? null });
  if (s.cd) bytes[3] |= 0x10;
  const d = decodeQuery(bytes);
  assert.equal(d.kind, 'query', `query for ${s.name} should decode`);
  return (d as Extract<typeof d, { kind: 'query' }>).query;
}

const reply = (over: Partial<Reply>): Reply => ({ rcode: Rcode.NOERROR, aa: true, answer: [], authority: [], additional: [], ...over });

// ---------------------------------------------------------------------------------------
// Reading replies back

interface PacketAnswer {
  name: string;
  type: string;
  class?: string;
  ttl?: number;
  data?: unknown;
  udpPayloadSize?: number;
  extendedRcode?: number;
  ednsVersion?: number;
  flag_do?: boolean;
}

interface Packet {
  id: number;
  opcode: string;
  rcode: string;
  flag_qr: boolean;
  flag_aa: boolean;
  flag_tc: boolean;
  flag_rd: boolean;
  flag_ra: boolean;
  flag_cd: boolean;
  questions: { name: string; type: string; class: string }[];
  answers: PacketAnswer[];
  authorities: PacketAnswer[];
  additionals: PacketAnswer[];
}

/** dns-packet's reading of raw, which must account for every byte. */
function decode(raw: Buffer): Packet {
  const p = dnsPacket.decode(raw) as unknown as Packet;
  assert.equal(dnsPacket.decode.bytes, raw.length, 'dns-packet consumed the whole message');
  return p;
}

interface WireRecord {
  readonly type: number;
  readonly start: number;
  readonly rdata: number;
  readonly rdlength: number;
}

/** Offset just past a (possibly compressed) name, walked independently of the codec under test. */
function skipName(raw: Uint8Array, off: number): number {
  for (;;) {
    const len = raw[off];
    assert.ok(len !== undefined, `name at ${off} runs past the end`);
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2;
    off += 1 + len;
  }
}

/** Walks the message by RDLENGTH: each record's extent, and a check that they end at the end. */
function walk(raw: Uint8Array): WireRecord[] {
  const count = (at: number) => (raw[at] << 8) | raw[at + 1];
  let p = 12;
  for (let i = 0; i < count(4); i++) p = skipName(raw, p) + 4;
  const out: WireRecord[] = [];
  const records = count(6) + count(8) + count(10);
  for (let i = 0; i < records; i++) {
    const start = p;
    p = skipName(raw, p);
    const type = count(p);
    const rdlength = count(p + 8);
    out.push({ type, start, rdata: p + 10, rdlength });
    p += 10 + rdlength;
  }
  assert.equal(p, raw.length, 'RDLENGTHs add up to the message length');
  return out;
}

/** The name dns-packet shows for one of our names: root is ".". */
const shown = (name: string) => (name === '' ? '.' : name);

function checkRecord(got: PacketAnswer, want: RR, q: Query, where: string): void {
  if (want.name === q.lname) {
    // Compressed to point at the question, so it reads back exactly as the question was asked.
    assert.equal(got.name, shown(q.qname), `${where}: owner in the question's case`);
  } else {
    assert.equal(got.name.toLowerCase(), shown(want.name), `${where}: owner`);
  }
  assert.equal(got.type, typeName(want.type), `${where}: type`);
  assert.equal(got.class, 'IN', `${where}: class`);
  assert.equal(got.ttl, want.ttl, `${where}: ttl`);
  const lower = (s: unknown) => String(s).toLowerCase();
  switch (want.type) {
    case Type.A:
    case Type.AAAA:
      assert.deepEqual(addressBytes(got.data as string), want.address, `${where}: address`);
      break;
    case Type.CNAME:
    case Type.PTR:
    case Type.NS:
      assert.equal(lower(got.data), shown(want.target), `${where}: target`);
      break;
    case Type.SRV: {
      const d = got.data as { priority: number; weight: number; port: number; target: string };
      assert.deepEqual(
        { priority: d.priority, weight: d.weight, port: d.port, target: lower(d.target) },
        { priority: want.priority, weight: want.weight, port: want.port, target: shown(want.target) },
        `${where}: SRV data`,
      );
      break;
    }
    case Type.TXT:
      assert.deepEqual(
        (got.data as Buffer[]).map((b) => b.toString('utf8')),
        [...want.texts],
        `${where}: TXT strings`,
      );
      break;
    case Type.SOA: {
      const d = got.data as dnsPacket.SoaData;
      assert.deepEqual(
        { ...d, mname: lower(d.mname), rname: lower(d.rname) },
        {
          mname: shown(want.mname),
          rname: shown(want.rname),
          serial: want.serial,
          refresh: want.refresh,
          retry: want.retry,
          expire: want.expire,
          minimum: want.minimum,
        },
        `${where}: SOA data`,
      );
      break;
    }
  }
}

function checkOpt(got: PacketAnswer | undefined, q: Query, rcode: number): void {
  assert.ok(got, 'OPT record present');
  assert.equal(got.type, 'OPT');
  assert.equal(got.name, '.');
  assert.equal(got.udpPayloadSize, 1232);
  assert.equal(got.ednsVersion, 0);
  assert.equal(got.extendedRcode, rcode >> 4);
  assert.equal(got.flag_do, q.edns?.do ?? false);
}

/** Every field of an encoded reply against what was asked and answered. */
function checkReply(raw: Buffer, q: Query, r: Reply, opts: { tc?: boolean; partial?: boolean } = {}): Packet {
  const whole = !opts.tc && !opts.partial;
  const p = decode(raw);
  walk(raw);
  assert.equal(p.id, q.id, 'id');
  assert.equal(p.opcode, 'QUERY');
  assert.equal(p.flag_qr, true, 'QR');
  assert.equal(p.flag_aa, r.aa, 'AA');
  assert.equal(p.flag_tc, opts.tc ?? false, 'TC');
  assert.equal(p.flag_rd, q.rd, 'RD');
  assert.equal(p.flag_ra, r.ra ?? false, 'RA');
  assert.equal(p.flag_cd, q.cd, 'CD');
  assert.equal(p.rcode, rcodeName(r.rcode & 0x0f), 'header rcode');
  assert.deepEqual(p.questions, [{ name: shown(q.qname), type: typeName(q.qtype), class: 'IN' }], 'question');
  // The question's bytes are the ones that were sent.
  assert.deepEqual(raw.subarray(12, 12 + q.qnameWire.length), Buffer.from(q.qnameWire), 'question name bytes');
  if (whole) {
    assert.equal(p.answers.length, r.answer.length, 'answer count');
    assert.equal(p.authorities.length, r.authority.length, 'authority count');
  }
  p.answers.forEach((a, i) => checkRecord(a, r.answer[i], q, `answer ${i}`));
  p.authorities.forEach((a, i) => checkRecord(a, r.authority[i], q, `authority ${i}`));
  const extra = q.edns ? p.additionals.slice(0, -1) : p.additionals;
  extra.forEach((a, i) => checkRecord(a, r.additional[i], q, `additional ${i}`));
  if (whole) assert.equal(extra.length, r.additional.length, 'additional count');
  if (q.edns) checkOpt(p.additionals.at(-1), q, r.rcode);
  else assert.ok(p.additionals.every((a) => a.type !== 'OPT'), 'no OPT without one in the query');
  return p;
}

// ---------------------------------------------------------------------------------------
// Round trips

const SVC = 'web.default.svc.cluster.local';

interface RoundTripCase {
  readonly name: string;
  readonly q: QuerySpec;
  readonly r: Reply;
}

const roundTrips: readonly RoundTripCase[] = [
  {
    name: 'A, owner is the question',
    q: { name: SVC, type: Type.A },
    r: reply({ answer: [A(SVC, '10.96.0.10')] }),
  },
  {
    name: 'A, mixed-case question, several records',
    q: { name: 'Web.Default.SVC.Cluster.Local', type: Type.A, rd: false },
    r: reply({ ra: true, answer: [A(SVC, '10.96.0.10', 5), A(SVC, '10.96.0.11', 5), A(SVC, '10.96.0.12', 5)] }),
  },
  {
    name: 'AAAA',
    q: { name: SVC, type: Type.AAAA, id: 0 },
    r: reply({ answer: [AAAA(SVC, 'fd00::10'), AAAA(SVC, '2001:db8::1:0:0:1', 0)] }),
  },
  {
    name: 'CNAME then A for the target, a different owner sharing the suffix',
    q: { name: 'Ext.Default.svc.cluster.local', type: Type.A, id: 0xffff },
    r: reply({ answer: [CNAME('ext.default.svc.cluster.local', SVC), A(SVC, '10.96.0.10')] }),
  },
  {
    name: 'CNAME to a name outside the zone',
    q: { name: 'db.prod.svc.cluster.local', type: Type.CNAME },
    r: reply({ answer: [CNAME('db.prod.svc.cluster.local', 'db.example.com', 3600)] }),
  },
  {
    name: 'PTR, IPv4',
    q: { name: reverseName('10.96.0.10'), type: Type.PTR },
    r: reply({ answer: [PTR(reverseName('10.96.0.10'), SVC)] }),
  },
  {
    name: 'PTR, IPv6 nibbles in upper case',
    q: { name: reverseName('fd00::a').toUpperCase(), type: Type.PTR },
    r: reply({ answer: [PTR(reverseName('fd00::a'), '10-0-0-1.web.default.svc.cluster.local')] }),
  },
  {
    name: 'NS with glue in the additional section',
    q: { name: 'Cluster.Local', type: Type.NS },
    r: reply({
      answer: [NS('cluster.local', 'ns.dns.cluster.local')],
      additional: [A('ns.dns.cluster.local', '10.96.0.10'), AAAA('ns.dns.cluster.local', 'fd00::10')],
    }),
  },
  {
    name: 'SRV with A records for the targets',
    q: { name: '_HTTP._tcp.Web.default.svc.cluster.local', type: Type.SRV },
    r: reply({
      answer: [
        SRV('_http._tcp.web.default.svc.cluster.local', 0, 50, 80, 'web-0.web.default.svc.cluster.local'),
        SRV('_http._tcp.web.default.svc.cluster.local', 10, 50, 8080, 'web-1.web.default.svc.cluster.local'),
      ],
      additional: [A('web-0.web.default.svc.cluster.local', '10.0.0.1'), A('web-1.web.default.svc.cluster.local', '10.0.0.2')],
    }),
  },
  {
    name: 'TXT with several strings, empty and full-length ones',
    q: { name: 'Info.Test', type: Type.TXT },
    r: reply({
      answer: [
        TXT('info.test', ['v=1', '', 'x'.repeat(255), 'with space and "quotes"']),
        TXT('info.test', ['one']),
        TXT('other.test', ['not the question']),
      ],
    }),
  },
  {
    name: 'SOA at the apex',
    q: { name: 'cluster.local', type: Type.SOA },
    r: reply({ answer: [SOA('cluster.local')] }),
  },
  {
    name: 'NXDOMAIN with the SOA in authority, owner not the question',
    q: { name: 'Missing.default.svc.cluster.local', type: Type.A },
    r: reply({ rcode: Rcode.NXDOMAIN, authority: [SOA('cluster.local')] }),
  },
  {
    name: 'NODATA with CD and RD echoed',
    q: { name: SVC, type: Type.AAAA, cd: true, rd: true },
    r: reply({ authority: [SOA('cluster.local')] }),
  },
  {
    name: 'REFUSED, not authoritative, no records',
    q: { name: 'example.com', type: Type.A, rd: false },
    r: reply({ rcode: Rcode.REFUSED, aa: false }),
  },
  {
    name: 'SERVFAIL with EDNS',
    q: { name: 'x.test', type: Type.A, edns: { payload: 1232 } },
    r: reply({ rcode: Rcode.SERVFAIL, aa: false }),
  },
  {
    name: 'answer, authority and additional together with EDNS and DO',
    q: { name: '_DNS._udp.Kube-DNS.kube-system.svc.cluster.local', type: Type.SRV, edns: { payload: 4096, do: true }, cd: true },
    r: reply({
      ra: true,
      answer: [SRV('_dns._udp.kube-dns.kube-system.svc.cluster.local', 0, 100, 53, 'kube-dns.kube-system.svc.cluster.local')],
      authority: [NS('cluster.local', 'ns.dns.cluster.local')],
      additional: [
        A('kube-dns.kube-system.svc.cluster.local', '10.96.0.10'),
        AAAA('kube-dns.kube-system.svc.cluster.local', 'fd00::a'),
        TXT('_dns._udp.kube-dns.kube-system.svc.cluster.local', ['a', 'b']),
      ],
    }),
  },
  {
    name: 'root NS',
    q: { name: '', type: Type.NS },
    r: reply({ aa: false, answer: [NS('', 'a.root-servers.net')], additional: [A('a.root-servers.net', '198.41.0.4')] }),
  },
  {
    name: 'SRV whose target is the root',
    q: { name: '_x._tcp.test', type: Type.SRV },
    r: reply({ answer: [SRV('_x._tcp.test', 0, 0, 0, '')] }),
  },
];

for (const c of roundTrips) {
  test(`encodeReply round trip: ${c.name}`, () => {
    const q = mkQuery(c.q);
    const raw = encodeReply(q, c.r, 65535);
    checkReply(raw, q, c.r);
  });
}

test('encodeReply: owners equal to the question are pointers to offset 12', () => {
  const q = mkQuery({ name: 'Web.Default.SVC.Cluster.Local', type: Type.A });
  const raw = encodeReply(q, reply({ answer: [A(SVC, '10.0.0.1'), A(SVC, '10.0.0.2')] }), 512);
  for (const rec of walk(raw)) assert.deepEqual([...raw.subarray(rec.start, rec.start + 2)], [0xc0, 12]);
});

test('encodeReply: question names holding escaped bytes still compress against their suffixes', () => {
  // Question "a.b" (one label holding a dot) + "Test", and "x y" (a space) + "test": the
  // suffix "test" sits after a label whose text form is longer than its wire form.
  const cases = [
    { label: 'a.b', qname: 'a\\.b.Test' },
    { label: 'x y', qname: 'x\\032y.Test' },
    { label: 'q\\z', qname: 'q\\\\z.Test' },
  ];
  for (const c of cases) {
    const bytes = Buffer.concat([
      Buffer.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
      Buffer.from([c.label.length]),
      Buffer.from(c.label, 'latin1'),
      Buffer.from([4]),
      Buffer.from('Test'),
      Buffer.from([0, 0, 1, 0, 1]),
    ]);
    const d = decodeQuery(bytes);
    assert.equal(d.kind, 'query', c.label);
    const q = (d as Extract<typeof d, { kind: 'query' }>).query;
    assert.equal(q.qname, c.qname);
    const raw = encodeReply(q, reply({ answer: [A('test', '10.0.0.1'), A('x.test', '10.0.0.2')] }), 512);
    const p = decode(raw);
    assert.equal(p.questions[0].name, `${c.label}.Test`);
    // Both owners end in a pointer to the question's "Test" label.
    assert.deepEqual(
      p.answers.map((a) => [a.name, a.data]),
      [
        ['Test', '10.0.0.1'],
        ['x.Test', '10.0.0.2'],
      ],
      c.label,
    );
  }
});

// ---------------------------------------------------------------------------------------
// Compression

/** 40 bytes on the wire. */
const LONG = 'headless-web.default.svc.cluster.local';

test('the long test name is 40 bytes on the wire', () => {
  assert.equal(mkQuery({ name: LONG, type: Type.A }).qnameWire.length, 40);
});

const compressionCases = [
  { name: 'owners equal to the question', qname: LONG, owner: LONG },
  { name: 'owners under another long name', qname: 'x.test', owner: 'other-headless.default.svc.cluster.local' },
  { name: 'owners sharing a long suffix with the question', qname: 'web-0.' + LONG, owner: 'web-1.' + LONG },
];

for (const c of compressionCases) {
  test(`compression: many A records in 512 bytes, ${c.name}`, () => {
    const q = mkQuery({ name: c.qname, type: Type.A });
    const records = Array.from({ length: 200 }, (_, i) => A(c.owner, `10.1.${i >> 8}.${i & 0xff}`));
    const raw = encodeReply(q, reply({ answer: records }), 512);
    const p = checkReply(raw, q, reply({ answer: records }), { tc: true });
    const ownerWire = c.owner.length + 2;
    const uncompressed = Math.floor((512 - 12 - (q.qnameWire.length + 4)) / (ownerWire + 10 + 4));
    assert.ok(raw.length <= 512);
    assert.ok(p.answers.length >= 25, `${p.answers.length} records fit`);
    assert.ok(p.answers.length > 3 * uncompressed, `${p.answers.length} compressed against ${uncompressed} uncompressed`);
  });
}

// ---------------------------------------------------------------------------------------
// Truncation

const many = (owner: string, n: number) => Array.from({ length: n }, (_, i) => A(owner, `10.2.${i >> 8}.${i & 0xff}`));

interface TruncationCase {
  readonly name: string;
  readonly limit: number;
  readonly edns: QuerySpec['edns'];
  readonly r: Reply;
  readonly tc: boolean;
}

const truncationCases: readonly TruncationCase[] = [
  { name: '200 A records, 512, no EDNS', limit: 512, edns: null, r: reply({ answer: many('big.test', 200) }), tc: true },
  { name: '200 A records, 512, EDNS', limit: 512, edns: { payload: 512 }, r: reply({ answer: many('big.test', 200) }), tc: true },
  {
    name: '200 A records, 1232, EDNS with DO',
    limit: 1232,
    edns: { payload: 4096, do: true },
    r: reply({ answer: many('big.test', 200) }),
    tc: true,
  },
  { name: '200 A records over TCP size', limit: 65535, edns: null, r: reply({ answer: many('big.test', 200) }), tc: false },
  {
    name: 'authority overflow sets TC',
    limit: 512,
    edns: null,
    r: reply({ authority: Array.from({ length: 60 }, (_, i) => NS('big.test', `ns${i}.example.com`)) }),
    tc: true,
  },
  {
    name: 'additional overflow alone does not set TC',
    limit: 512,
    edns: null,
    r: reply({ answer: [SRV('big.test', 0, 0, 80, 'web.big.test')], additional: many('web.big.test', 200) }),
    tc: false,
  },
  {
    name: 'additional overflow with EDNS keeps the OPT record',
    limit: 512,
    edns: { payload: 1232 },
    r: reply({ answer: [SRV('big.test', 0, 0, 80, 'web.big.test')], additional: many('web.big.test', 200) }),
    tc: false,
  },
  {
    name: 'a single record larger than the limit',
    limit: 512,
    edns: { payload: 512 },
    r: reply({ answer: [TXT('big.test', ['a'.repeat(255), 'b'.repeat(255)])] }),
    tc: true,
  },
  {
    name: 'an answer cut leaves out authority and additional',
    limit: 512,
    edns: null,
    r: reply({ answer: many('big.test', 200), authority: [SOA('test')], additional: [A('x.test', '10.0.0.1')] }),
    tc: true,
  },
];

for (const c of truncationCases) {
  test(`truncation: ${c.name}`, () => {
    const q = mkQuery({ name: 'big.test', type: Type.A, edns: c.edns });
    const raw = encodeReply(q, c.r, c.limit);
    assert.ok(raw.length <= c.limit, `${raw.length} bytes within ${c.limit}`);
    const p = checkReply(raw, q, c.r, { tc: c.tc, partial: true });
    const sent = p.answers.length + p.authorities.length + p.additionals.length - (q.edns ? 1 : 0);
    const offered = c.r.answer.length + c.r.authority.length + c.r.additional.length;
    if (c.tc) {
      assert.ok(sent < offered, 'some records were left out');
      // The cut is in the answer or authority section; nothing after it is sent.
      if (p.answers.length < c.r.answer.length) assert.equal(p.authorities.length, 0);
      assert.equal(p.additionals.length, q.edns ? 1 : 0);
    }
    if (c.limit === 65535) assert.equal(sent, offered, 'everything fits');
    // Only whole records, and as many as fit: one more A record (16 bytes at best) would not.
    if (c.r.answer.length === 200 && c.tc) assert.ok(raw.length + 16 > c.limit, `${raw.length} bytes leaves room for more`);
  });
}

test('SRV targets are written uncompressed (RFC 2782)', () => {
  const qname = '_http._tcp.web.default.svc.cluster.local';
  const q = mkQuery({ name: qname, type: Type.SRV });
  const targets = ['web-0.web.default.svc.cluster.local', 'web.default.svc.cluster.local', 'web-0.web.default.svc.cluster.local'];
  const r = reply({
    answer: targets.map((t, i) => SRV(qname, i, 1, 80, t)),
    additional: [A('web-0.web.default.svc.cluster.local', '10.0.0.1')],
  });
  const raw = encodeReply(q, r, 512);
  checkReply(raw, q, r);
  const srvs = walk(raw).filter((rec) => rec.type === Type.SRV);
  assert.equal(srvs.length, targets.length);
  srvs.forEach((rec, i) => {
    const plain = mkQuery({ name: targets[i], type: Type.A }).qnameWire;
    assert.equal(rec.rdlength, 6 + plain.length, `SRV ${i} RDLENGTH`);
    assert.deepEqual(raw.subarray(rec.rdata + 6, rec.rdata + rec.rdlength), Buffer.from(plain), `SRV ${i} target bytes`);
  });
});

// ---------------------------------------------------------------------------------------
// EDNS

interface EdnsCase {
  readonly name: string;
  readonly edns: QuerySpec['edns'];
  readonly rcode: number;
  /** Expected OPT TTL bytes (extended rcode, version, flags) or null for no OPT. */
  readonly opt: readonly number[] | null;
}

const ednsCases: readonly EdnsCase[] = [
  { name: 'no OPT in the query, none in the reply', edns: null, rcode: Rcode.NOERROR, opt: null },
  { name: 'no OPT, NXDOMAIN', edns: null, rcode: Rcode.NXDOMAIN, opt: null },
  { name: 'OPT echoed with payload 1232', edns: { payload: 4096 }, rcode: Rcode.NOERROR, opt: [0, 0, 0, 0] },
  { name: 'small payload offered', edns: { payload: 100 }, rcode: Rcode.NOERROR, opt: [0, 0, 0, 0] },
  { name: 'DO bit echoed', edns: { payload: 1232, do: true }, rcode: Rcode.NOERROR, opt: [0, 0, 0x80, 0] },
  { name: 'NXDOMAIN keeps the extended rcode zero', edns: { payload: 1232 }, rcode: Rcode.NXDOMAIN, opt: [0, 0, 0, 0] },
  { name: 'BADVERS in the OPT extended rcode', edns: { payload: 1232, version: 1 }, rcode: Rcode.BADVERS, opt: [1, 0, 0, 0] },
  { name: 'BADVERS with DO', edns: { payload: 1232, version: 2, do: true }, rcode: Rcode.BADVERS, opt: [1, 0, 0x80, 0] },
];

for (const c of ednsCases) {
  test(`EDNS: ${c.name}`, () => {
    const q = mkQuery({ name: 'a.test', type: Type.A, edns: c.edns });
    const r = reply({ rcode: c.rcode, aa: false });
    const raw = encodeReply(q, r, 512);
    const p = checkReply(raw, q, r);
    assert.equal(raw[3] & 0x0f, c.rcode & 0x0f, 'header rcode bits');
    if (c.opt === null) {
      assert.equal(p.additionals.length, 0);
      assert.equal(raw.readUInt16BE(10), 0, 'ARCOUNT');
      return;
    }
    const opt = p.additionals.at(-1);
    assert.equal(((opt?.extendedRcode ?? 0) << 4) | (raw[3] & 0x0f), c.rcode, 'full rcode');
    // The OPT record is the last 11 bytes: root, type 41, class 1232, TTL, RDLENGTH 0.
    assert.deepEqual([...raw.subarray(raw.length - 11)], [0, 0, 41, 1232 >> 8, 1232 & 0xff, ...c.opt, 0, 0]);
  });
}

// ---------------------------------------------------------------------------------------
// decodeQuery

/** Wire form of a plain dotted name. */
function nameWire(name: string): number[] {
  const out: number[] = [];
  if (name !== '') for (const l of name.split('.')) out.push(l.length, ...Buffer.from(l, 'latin1'));
  out.push(0);
  return out;
}

const u16 = (n: number) => [n >> 8, n & 0xff];

function header(h: { id?: number; flags?: number; qd?: number; an?: number; ns?: number; ar?: number }): number[] {
  return [...u16(h.id ?? 0xbeef), ...u16(h.flags ?? 0x0100), ...u16(h.qd ?? 1), ...u16(h.an ?? 0), ...u16(h.ns ?? 0), ...u16(h.ar ?? 0)];
}

const question = (name = 'a.test', type: number = Type.A, cls: number = Class.IN) => [...nameWire(name), ...u16(type), ...u16(cls)];

function optRR(o: { owner?: number[]; payload?: number; ext?: number; version?: number; flags?: number; rdata?: number[]; rdlength?: number } = {}): number[] {
  const rdata = o.rdata ?? [];
  return [
    ...(o.owner ?? [0]),
    ...u16(Type.OPT),
    ...u16(o.payload ?? 1232),
    o.ext ?? 0,
    o.version ?? 0,
    ...u16(o.flags ?? 0),
    ...u16(o.rdlength ?? rdata.length),
    ...rdata,
  ];
}

const aRR = (owner: number[]) => [...owner, ...u16(Type.A), ...u16(Class.IN), 0, 0, 0, 30, ...u16(4), 10, 0, 0, 1];

const label = (n: number, c = 'a') => [n, ...Buffer.from(c.repeat(n))];

type Expect =
  | { kind: 'drop' }
  | { kind: 'error'; rcode: number; opcode?: number }
  | {
      kind: 'query';
      qname?: string;
      lname?: string;
      qtype?: number;
      qclass?: number;
      rd?: boolean;
      cd?: boolean;
      edns?: { payload: number; version: number; do: boolean } | null;
    };

interface DecodeCase {
  readonly name: string;
  readonly bytes: number[];
  readonly want: Expect;
}

/** A 255-byte name: three 63-byte labels and one of 61. */
const NAME_255 = [...label(63), ...label(63, 'b'), ...label(63, 'c'), ...label(61, 'd'), 0];
const FORMERR = { kind: 'error', rcode: Rcode.FORMERR } as const;

const decodeCases: readonly DecodeCase[] = [
  { name: 'empty message', bytes: [], want: { kind: 'drop' } },
  { name: 'header of 11 bytes', bytes: header({}).slice(0, 11), want: { kind: 'drop' } },
  { name: 'QR set: a response', bytes: [...header({ flags: 0x8100 }), ...question()], want: { kind: 'drop' } },
  { name: 'QR set even with a bad body', bytes: [...header({ flags: 0x8000, qd: 0 })], want: { kind: 'drop' } },
  { name: 'QDCOUNT 0', bytes: header({ qd: 0 }), want: FORMERR },
  { name: 'QDCOUNT 2', bytes: [...header({ qd: 2 }), ...question(), ...question('b.test')], want: FORMERR },
  { name: 'QDCOUNT 65535', bytes: [...header({ qd: 65535 }), ...question()], want: FORMERR },
  { name: 'opcode 1 (inverse query)', bytes: [...header({ flags: 0x0800 }), ...question()], want: { kind: 'error', rcode: Rcode.NOTIMP, opcode: 1 } },
  { name: 'opcode 2 (status)', bytes: [...header({ flags: 0x1000 }), ...question()], want: { kind: 'error', rcode: Rcode.NOTIMP, opcode: 2 } },
  { name: 'opcode 5 (update)', bytes: [...header({ flags: 0x2900 }), ...question()], want: { kind: 'error', rcode: Rcode.NOTIMP, opcode: 5 } },
  { name: 'opcode 15 with no question', bytes: header({ flags: 0x7800, qd: 0 }), want: { kind: 'error', rcode: Rcode.NOTIMP, opcode: 15 } },
  // RFC 9267 corpus
  { name: 'pointer to itself', bytes: [...header({}), 0xc0, 12, ...u16(1), ...u16(1)], want: FORMERR },
  { name: 'pointer loop: two pointers at each other', bytes: [...header({}), 0xc0, 14, 0xc0, 12, ...u16(1), ...u16(1)], want: FORMERR },
  {
    name: 'pointer loop in an answer owner',
    bytes: [...header({ an: 1 }), ...question(), 0xc0, 26, 0xc0, 24, ...u16(1), ...u16(1), 0, 0, 0, 0, 0, 0],
    want: FORMERR,
  },
  { name: 'pointer forward', bytes: [...header({}), 1, 0x61, 0xc0, 20, ...u16(1), ...u16(1), ...nameWire('b.test')], want: FORMERR },
  { name: 'pointer past the end', bytes: [...header({}), 1, 0x61, 0xc0, 0xff, ...u16(1), ...u16(1)], want: FORMERR },
  { name: 'pointer cut short at the end', bytes: [...header({}), 1, 0x61, 0xc0], want: FORMERR },
  { name: 'label of 64 bytes', bytes: [...header({}), ...label(64), 0, ...u16(1), ...u16(1)], want: FORMERR },
  { name: 'label type 0x80', bytes: [...header({}), 0x80, 0, ...u16(1), ...u16(1)], want: FORMERR },
  { name: 'name of 256 bytes', bytes: [...header({}), ...label(63), ...label(63), ...label(63), ...label(62), 0, ...u16(1), ...u16(1)], want: FORMERR },
  { name: 'name of 320 bytes', bytes: [...header({}), ...label(63), ...label(63), ...label(63), ...label(63), ...label(63), 0, ...u16(1), ...u16(1)], want: FORMERR },
  {
    name: 'name over 255 bytes only after following a pointer',
    bytes: [...header({ an: 1 }), ...NAME_255, ...u16(1), ...u16(1), 1, 0x78, 0xc0, 12, ...u16(1), ...u16(1), 0, 0, 0, 0, ...u16(0)],
    want: FORMERR,
  },
  { name: 'label running past the end', bytes: [...header({}), 10, 0x61, 0x62, 0x63], want: FORMERR },
  { name: 'name without its terminating zero', bytes: [...header({}), 1, 0x61], want: FORMERR },
  { name: 'question without type and class', bytes: [...header({}), ...nameWire('a.test')], want: FORMERR },
  { name: 'question with a type but no class', bytes: [...header({}), ...nameWire('a.test'), ...u16(1)], want: FORMERR },
  { name: 'two OPT records', bytes: [...header({ ar: 2 }), ...question(), ...optRR(), ...optRR()], want: FORMERR },
  { name: 'OPT in the answer section', bytes: [...header({ an: 1 }), ...question(), ...optRR()], want: FORMERR },
  { name: 'OPT in the authority section', bytes: [...header({ ns: 1 }), ...question(), ...optRR()], want: FORMERR },
  { name: 'OPT with a non-root owner', bytes: [...header({ ar: 1 }), ...question(), ...optRR({ owner: nameWire('a.test') })], want: FORMERR },
  { name: 'OPT RDLENGTH past the end', bytes: [...header({ ar: 1 }), ...question(), ...optRR({ rdlength: 10 })], want: FORMERR },
  { name: 'answer RDLENGTH past the end', bytes: [...header({ an: 1 }), ...question(), ...aRR([0xc0, 12]).slice(0, -2)], want: FORMERR },
  { name: 'ARCOUNT 1 with nothing there', bytes: [...header({ ar: 1 }), ...question()], want: FORMERR },
  { name: 'record header cut short', bytes: [...header({ ar: 1 }), ...question(), 0, ...u16(Type.OPT), 0x04], want: FORMERR },
  // Valid queries
  {
    name: 'plain query, RD set',
    bytes: [...header({}), ...question('a.test')],
    want: { kind: 'query', qname: 'a.test', lname: 'a.test', qtype: Type.A, qclass: Class.IN, rd: true, cd: false, edns: null },
  },
  {
    name: 'RD clear, CD set',
    bytes: [...header({ flags: 0x0010 }), ...question('a.test', Type.AAAA)],
    want: { kind: 'query', qtype: Type.AAAA, rd: false, cd: true, edns: null },
  },
  {
    name: 'EDNS: payload, version, DO',
    bytes: [...header({ ar: 1 }), ...question(), ...optRR({ payload: 4096, version: 0, flags: 0x8000 })],
    want: { kind: 'query', edns: { payload: 4096, version: 0, do: true } },
  },
  {
    name: 'EDNS: payload under 512 reads as 512',
    bytes: [...header({ ar: 1 }), ...question(), ...optRR({ payload: 100 })],
    want: { kind: 'query', edns: { payload: 512, version: 0, do: false } },
  },
  {
    name: 'EDNS: version 1 and options are read, not rejected',
    bytes: [...header({ ar: 1 }), ...question(), ...optRR({ version: 1, rdata: [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8] })],
    want: { kind: 'query', edns: { payload: 1232, version: 1, do: false } },
  },
  {
    name: 'EDNS after another additional record',
    bytes: [...header({ ar: 2 }), ...question(), ...aRR([0xc0, 12]), ...optRR({ flags: 0x8000 })],
    want: { kind: 'query', edns: { payload: 1232, version: 0, do: true } },
  },
  {
    name: 'class CH is read (refused later, not here)',
    bytes: [...header({}), ...question('version.bind', Type.TXT, Class.CH)],
    want: { kind: 'query', qname: 'version.bind', qtype: Type.TXT, qclass: Class.CH },
  },
  {
    name: 'answer owner compressed backwards to the question',
    bytes: [...header({ an: 1 }), ...question('a.test'), ...aRR([0xc0, 12])],
    want: { kind: 'query', qname: 'a.test' },
  },
  {
    name: 'pointer chain strictly backwards across records',
    bytes: [...header({ an: 1, ar: 2 }), ...question('a.test'), ...aRR([1, 0x62, 0xc0, 14]), ...aRR([1, 0x63, 0xc0, 24]), ...optRR()],
    want: { kind: 'query', qname: 'a.test', edns: { payload: 1232, version: 0, do: false } },
  },
  {
    // The id bytes 0x01 0x61 and a zero flags byte read as the name "a".
    name: 'question name compressed backwards into the header',
    bytes: [...header({ id: 0x0161, flags: 0x0000 }), 1, 0x78, 0xc0, 0, ...u16(1), ...u16(1)],
    want: { kind: 'query', qname: 'x.a', lname: 'x.a', rd: false },
  },
  { name: 'name of exactly 255 bytes', bytes: [...header({}), ...NAME_255, ...u16(1), ...u16(1)], want: { kind: 'query' } },
  { name: 'root name', bytes: [...header({}), 0, ...u16(Type.NS), ...u16(1)], want: { kind: 'query', qname: '', lname: '', qtype: Type.NS } },
  {
    name: 'mixed case: lname lowercased, qname as sent',
    bytes: [...header({}), ...question('Web.Default.SVC.Cluster.LOCAL')],
    want: { kind: 'query', qname: 'Web.Default.SVC.Cluster.LOCAL', lname: 'web.default.svc.cluster.local' },
  },
  {
    name: 'a dot inside a label is escaped',
    bytes: [...header({}), 3, 0x61, 0x2e, 0x62, 4, ...Buffer.from('Test'), 0, ...u16(1), ...u16(1)],
    want: { kind: 'query', qname: 'a\\.b.Test', lname: 'a\\.b.test' },
  },
  {
    name: 'a space inside a label is escaped',
    bytes: [...header({}), 3, 0x41, 0x20, 0x42, 4, ...Buffer.from('test'), 0, ...u16(1), ...u16(1)],
    want: { kind: 'query', qname: 'A\\032B.test', lname: 'a\\032b.test' },
  },
  {
    name: 'backslash, control and high bytes are escaped',
    bytes: [...header({}), 4, 0x5c, 0x00, 0x7f, 0xff, 4, ...Buffer.from('test'), 0, ...u16(1), ...u16(1)],
    want: { kind: 'query', qname: '\\\\\\000\\127\\255.test', lname: '\\\\\\000\\127\\255.test' },
  },
];

for (const c of decodeCases) {
  test(`decodeQuery: ${c.name}`, () => {
    const bytes = Uint8Array.from(c.bytes);
    const d = decodeQuery(bytes);
    const id = bytes.length >= 2 ? (bytes[0] << 8) | bytes[1] : 0;
    const rd = bytes.length >= 3 ? (bytes[2] & 1) === 1 : false;
    assert.equal(d.kind, c.want.kind, `${d.kind}: ${'reason' in d ? d.reason : ''}`);
    if (d.kind === 'error' && c.want.kind === 'error') {
      assert.equal(d.rcode, c.want.rcode, d.reason);
      assert.equal(d.id, id);
      assert.equal(d.rd, rd);
      assert.equal(d.opcode, c.want.opcode ?? 0);
      assert.ok(d.reason.length > 0);
    }
    if (d.kind === 'query' && c.want.kind === 'query') {
      const q = d.query;
      const w = c.want;
      assert.equal(q.id, id);
      assert.equal(q.opcode, 0);
      if (w.qname !== undefined) assert.equal(q.qname, w.qname);
      if (w.lname !== undefined) assert.equal(q.lname, w.lname);
      assert.equal(q.lname, q.qname.toLowerCase());
      if (w.qtype !== undefined) assert.equal(q.qtype, w.qtype);
      if (w.qclass !== undefined) assert.equal(q.qclass, w.qclass);
      if (w.rd !== undefined) assert.equal(q.rd, w.rd);
      if (w.cd !== undefined) assert.equal(q.cd, w.cd);
      if (w.edns !== undefined) assert.deepEqual(q.edns, w.edns);
      // The uncompressed question name as sent, ending in the root.
      assert.equal(q.qnameWire.at(-1), 0);
      assert.ok(q.qnameWire.length <= 255);
    }
  });
}

test('decodeQuery: the uncompressed question name is kept byte for byte', () => {
  const bytes = Uint8Array.from([...header({ id: 0x0161, flags: 0 }), 2, 0x58, 0x79, 0xc0, 0, ...u16(1), ...u16(1)]);
  const d = decodeQuery(bytes);
  assert.equal(d.kind, 'query');
  const q = (d as Extract<typeof d, { kind: 'query' }>).query;
  assert.deepEqual([...q.qnameWire], [2, 0x58, 0x79, 1, 0x61, 0]);
  assert.equal(q.qname, 'Xy.a');
});

// ---------------------------------------------------------------------------------------
// encodeQuery and header replies

const queryCases: readonly (QuerySpec & { label: string })[] = [
  { label: 'plain A with RD', id: 1, name: 'a.test', type: Type.A },
  { label: 'trailing dot, RD clear', id: 0xffff, name: 'Web.Default.svc.cluster.local.', type: Type.AAAA, rd: false },
  { label: 'SRV with EDNS', id: 77, name: '_http._tcp.web.default.svc.cluster.local', type: Type.SRV, edns: { payload: 1232 } },
  { label: 'EDNS with DO and version 1', id: 2, name: 'a.test', type: Type.TXT, edns: { payload: 4096, do: true, version: 1 } },
  { label: 'root NS', id: 3, name: '', type: Type.NS },
];

for (const c of queryCases) {
  test(`encodeQuery: ${c.label}`, () => {
    const raw = encodeQuery({ id: c.id ?? 0, name: c.name, type: c.type, rd: c.rd, edns: c.edns ?? null });
    const p = decode(raw);
    const plain = c.name.replace(/\.$/, '');
    assert.equal(p.id, c.id);
    assert.equal(p.flag_qr, false);
    assert.equal(p.opcode, 'QUERY');
    assert.equal(p.flag_rd, c.rd !== false);
    assert.deepEqual(p.questions, [{ name: shown(plain), type: typeName(c.type), class: 'IN' }]);
    assert.equal(p.answers.length + p.authorities.length, 0);
    if (c.edns) {
      assert.equal(p.additionals.length, 1);
      const o = p.additionals[0];
      assert.deepEqual(
        { name: o.name, type: o.type, payload: o.udpPayloadSize, version: o.ednsVersion, do: o.flag_do },
        { name: '.', type: 'OPT', payload: c.edns.payload, version: c.edns.version ?? 0, do: c.edns.do ?? false },
      );
    } else {
      assert.equal(p.additionals.length, 0);
    }
    // And our decoder reads back the same query.
    const d = decodeQuery(raw);
    assert.equal(d.kind, 'query');
    const q = (d as Extract<typeof d, { kind: 'query' }>).query;
    assert.equal(q.qname, plain);
    assert.equal(q.qtype, c.type);
    assert.deepEqual(q.edns, c.edns ? { payload: Math.max(c.edns.payload, 512), version: c.edns.version ?? 0, do: c.edns.do ?? false } : null);
  });
}

test('encodeHeaderReply: header only, id, opcode, RD and rcode echoed', () => {
  const cases = [
    { id: 0, opcode: 0, rd: false, rcode: Rcode.FORMERR, text: 'FORMERR', op: 'QUERY' },
    { id: 0xbeef, opcode: 5, rd: true, rcode: Rcode.NOTIMP, text: 'NOTIMP', op: 'UPDATE' },
    { id: 0xffff, opcode: 2, rd: false, rcode: Rcode.NOTIMP, text: 'NOTIMP', op: 'STATUS' },
  ];
  for (const c of cases) {
    const raw = encodeHeaderReply(c.id, c.opcode, c.rd, c.rcode);
    assert.equal(raw.length, 12);
    const p = decode(raw);
    assert.deepEqual(
      { id: p.id, qr: p.flag_qr, opcode: p.opcode, rd: p.flag_rd, rcode: p.rcode, q: p.questions.length, tc: p.flag_tc },
      { id: c.id, qr: true, opcode: c.op, rd: c.rd, rcode: c.text, q: 0, tc: false },
    );
  }
});
