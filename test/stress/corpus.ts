import { buildQuery } from '../helpers/dns-client.js';
import { GOOD_CASES, UdpProbe, answersCase, checkReply, percentile, rcodeName } from './lib.js';

/**
 * RFC 9267's malicious messages (and a few more protocol abuses), each timed sequentially:
 * the message, then at once a well-formed probe on the same socket. The server handles them in
 * order, so a reply to the message arrives first and its round trip is the message's time;
 * when the message gets no reply, the time until the probe's reply stands in for it.
 */

const header = (id: number, flags: number, qd: number, an = 0, ns = 0, ar = 0) => {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(qd, 4);
  h.writeUInt16BE(an, 6);
  h.writeUInt16BE(ns, 8);
  h.writeUInt16BE(ar, 10);
  return h;
};
const IN_A = Buffer.from([0, 1, 0, 1]);
const name = (...labels: string[]) => Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
const opt = (rdlen = 0, rdata = Buffer.alloc(0)) => Buffer.concat([Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, rdlen >> 8, rdlen & 0xff]), rdata]);
const KUBE = name('kubernetes', 'default', 'svc', 'cluster', 'local');
const RD = 0x0100;

export interface CorpusCase {
  readonly name: string;
  readonly msg: Buffer;
}

export function corpus(): CorpusCase[] {
  const q = (flags: number, qd: number, body: Buffer[], an = 0, ns = 0, ar = 0) => Buffer.concat([header(0, flags, qd, an, ns, ar), ...body]);
  return [
    // A name that is a pointer to itself (offset 12).
    { name: 'ptr-self', msg: q(RD, 1, [Buffer.from([0xc0, 0x0c]), IN_A]) },
    // A label, then a pointer back to that label: an endless name.
    { name: 'ptr-loop', msg: q(RD, 1, [Buffer.from([1, 0x61, 0xc0, 0x0c]), IN_A]) },
    // Two pointers pointing at each other.
    { name: 'ptr-mutual', msg: q(RD, 1, [Buffer.from([0xc0, 0x0e, 0xc0, 0x0c]), IN_A]) },
    // A pointer beyond the end of the message.
    { name: 'ptr-past-end', msg: q(RD, 1, [Buffer.from([0xc0, 0xff]), IN_A]) },
    // A pointer in an additional record's owner that points forwards into itself.
    { name: 'ptr-forward-rr', msg: q(RD, 1, [KUBE, IN_A, Buffer.from([0xc0, 0x3b, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0])], 0, 0, 1) },
    { name: 'label-64', msg: q(RD, 1, [Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0]), IN_A]) },
    { name: 'name-256', msg: q(RD, 1, [name('a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(62)), IN_A]) },
    { name: 'qdcount-0', msg: q(RD, 0, []) },
    { name: 'qdcount-0-with-question', msg: q(RD, 0, [KUBE, IN_A]) },
    { name: 'qdcount-2', msg: q(RD, 2, [KUBE, IN_A, KUBE, IN_A]) },
    { name: 'qdcount-65535', msg: q(RD, 0xffff, [KUBE, IN_A]) },
    { name: 'header-11', msg: header(0, RD, 1).subarray(0, 11) },
    { name: 'empty', msg: Buffer.alloc(0) },
    { name: 'two-opt', msg: q(RD, 1, [KUBE, IN_A, opt(), opt()], 0, 0, 2) },
    { name: 'opt-in-answer', msg: q(RD, 1, [KUBE, IN_A, opt()], 1) },
    { name: 'opt-in-authority', msg: q(RD, 1, [KUBE, IN_A, opt()], 0, 1) },
    { name: 'rdlength-past-end', msg: q(RD, 1, [KUBE, IN_A, opt(0x0100)], 0, 0, 1) },
    { name: 'ancount-65535', msg: q(RD, 1, [KUBE, IN_A], 0xffff) },
    { name: 'opcode-3', msg: q(RD | (3 << 11), 1, [KUBE, IN_A]) },
    { name: 'opcode-15', msg: q(RD | (15 << 11), 1, [KUBE, IN_A]) },
    { name: 'class-CH', msg: q(RD, 1, [name('version', 'bind'), Buffer.from([0, 16, 0, 3])]) },
    { name: 'class-ANY', msg: q(RD, 1, [KUBE, Buffer.from([0, 1, 0, 255])]) },
  ];
}

export interface CorpusTiming {
  readonly name: string;
  /** Rcodes seen ("drop" when there was no reply), with counts. */
  readonly outcomes: Record<string, number>;
  readonly maxMs: number;
  readonly p99Ms: number;
  /** Replies that failed checkReply, and probes answered wrongly or not at all. */
  readonly bad: number;
}

/**
 * Sends each corpus message `reps` times, sequentially, each followed by a probe. With
 * warmup > 0, the whole corpus first goes round that many times untimed, so that both sides'
 * code is compiled before anything is timed.
 */
export async function runCorpus(port: number, reps: number, warmup = 0): Promise<CorpusTiming[]> {
  if (warmup > 0) await timeCorpus(port, warmup);
  return timeCorpus(port, reps);
}

async function timeCorpus(port: number, reps: number): Promise<CorpusTiming[]> {
  const probe = new UdpProbe(port);
  await probe.ready();
  const c = GOOD_CASES[0];
  const probeMsg = buildQuery(c.qname, c.qtype);
  const cases = corpus();
  const acc = cases.map(() => ({ times: [] as number[], outcomes: {} as Record<string, number>, bad: 0 }));
  // Round robin over the cases, so that a burst of noise on a shared machine is spread over
  // all of them instead of landing on one.
  for (let i = 0; i < reps; i++) {
    for (let j = 0; j < cases.length; j++) {
      const a = acc[j];
      const msg = Buffer.from(cases[j].msg);
      const id = probe.id();
      if (msg.length >= 2) msg.writeUInt16BE(id, 0);
      let replyAt = -1;
      let reply: Buffer | null = null;
      probe.onOther = (raw) => {
        if (reply === null && raw.length >= 2 && raw.readUInt16BE(0) === id) {
          replyAt = performance.now();
          reply = raw;
        } else a.bad++;
      };
      const t0 = performance.now();
      probe.send(msg);
      const p = await probe.ask(probeMsg, 2000);
      const tProbe = performance.now();
      if (p === null || !answersCase(p, c)) a.bad++;
      if (reply !== null) {
        const chk = checkReply(reply);
        if (!chk.ok) a.bad++;
        const n = chk.ok ? rcodeName(chk.rcode) : `bad-${chk.problem}`;
        a.outcomes[n] = (a.outcomes[n] ?? 0) + 1;
        a.times.push(replyAt - t0);
      } else {
        a.outcomes.drop = (a.outcomes.drop ?? 0) + 1;
        a.times.push(tProbe - t0);
      }
    }
  }
  probe.onOther = () => undefined;
  probe.close();
  return cases.map((k, j) => ({ name: k.name, outcomes: acc[j].outcomes, maxMs: Math.max(...acc[j].times), p99Ms: percentile(acc[j].times, 99), bad: acc[j].bad }));
}
