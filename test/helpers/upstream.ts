import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

/**
 * A DNS server on loopback to forward to, whose behaviour a test sets: answer, stay silent,
 * answer slowly, or send replies that must not be believed (wrong ID, wrong question case,
 * from another port), or truncate over UDP. It answers every A question with 192.0.2.N, where
 * N counts the questions it has answered, and records every question it receives.
 */
export type Mode = 'answer' | 'silent' | 'wrong-id' | 'wrong-question' | 'other-port' | 'truncate' | 'nxdomain' | 'servfail';

export interface TestUpstream {
  readonly port: number;
  /** Question names received (as sent, case kept), over UDP and TCP. */
  readonly received: string[];
  /** Query ID and source port of every UDP query. */
  readonly sources: { id: number; port: number }[];
  /** Forwarding-loop probes received (kept apart from the questions above; answered NXDOMAIN). */
  readonly probes: string[];
  mode: Mode;
  delayMs: number;
  /** TTL of answers, and of the SOA (and its MINIMUM) that comes with NXDOMAIN. */
  ttl: number;
  close(): Promise<void>;
}

export async function startUpstream(mode: Mode = 'answer'): Promise<TestUpstream> {
  const other = dgram.createSocket('udp4');
  await new Promise<void>((r) => other.bind(0, '127.0.0.1', () => r()));
  // UDP and TCP on one port: take a UDP port, and take another if its TCP twin is in use.
  let udp: dgram.Socket;
  let tcp: net.Server;
  for (let attempt = 1; ; attempt++) {
    udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    tcp = net.createServer((sock) => serveTcp(sock));
    const listening = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(udp.address().port, '127.0.0.1', () => resolve(true));
    });
    if (listening) break;
    udp.close();
    if (attempt >= 20) throw new Error('no free UDP+TCP port pair on 127.0.0.1');
  }
  const port = udp.address().port;
  let served = 0;
  let closed = false;
  const state: TestUpstream = {
    port,
    received: [],
    sources: [],
    probes: [],
    mode,
    delayMs: 0,
    ttl: 60,
    close: async () => {
      closed = true;
      udp.close();
      other.close();
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
  const reply = (query: Buffer, overTcp: boolean): Buffer | null => {
    const q = dnsPacket.decode(query);
    const question = q.questions![0];
    if (question.name.endsWith('.loop-probe.invalid')) {
      state.probes.push(question.name);
      return dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.RECURSION_AVAILABLE | 3, questions: q.questions } as dnsPacket.Packet);
    }
    state.received.push(question.name);
    if (state.mode === 'silent') return null;
    const name = state.mode === 'wrong-question' ? flipCase(question.name) : question.name;
    const big = !overTcp && state.mode === 'truncate';
    served++;
    const answers: dnsPacket.Answer[] =
      question.type === 'A' && state.mode !== 'nxdomain' && state.mode !== 'servfail' && !big ? [{ type: 'A', name, ttl: state.ttl, data: `192.0.2.${served % 250}` }] : [];
    return dnsPacket.encode({
      type: 'response',
      id: state.mode === 'wrong-id' ? (q.id! + 1) & 0xffff : q.id,
      // The rcode travels in the low bits of the flags word.
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (big ? dnsPacket.TRUNCATED_RESPONSE : 0) | (state.mode === 'nxdomain' ? 3 : state.mode === 'servfail' ? 2 : 0),
      questions: [{ ...question, name }],
      answers,
      authorities:
        state.mode === 'nxdomain'
          ? [{ type: 'SOA', name: 'example', ttl: state.ttl, data: { mname: 'ns.example', rname: 'h.example', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: state.ttl } }]
          : [],
      additionals: q.additionals?.some((a) => a.type === 'OPT') ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as dnsPacket.Answer] : [],
    } as dnsPacket.Packet);
  };
  udp.on('message', (m, rinfo) => {
    if (!m.includes('loop-probe')) state.sources.push({ id: m.readUInt16BE(0), port: rinfo.port });
    setTimeout(() => {
      if (closed) return;
      const out = reply(m, false);
      if (out) (state.mode === 'other-port' ? other : udp).send(out, rinfo.port, rinfo.address);
    }, state.delayMs);
  });
  function serveTcp(sock: net.Socket): void {
    let pending = Buffer.alloc(0);
    sock.on('data', (c) => {
      pending = Buffer.concat([pending, c]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const m = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + m.length);
        const out = reply(Buffer.from(m), true);
        if (out) {
          const len = Buffer.alloc(2);
          len.writeUInt16BE(out.length);
          sock.write(Buffer.concat([len, out]));
        }
      }
    });
    sock.on('error', () => sock.destroy());
  }
  return state;
}

function flipCase(s: string): string {
  return [...s].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('');
}
