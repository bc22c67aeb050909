import { readFileSync } from 'node:fs';
import net from 'node:net';
import { buildQuery } from '../helpers/dns-client.js';
import { GOOD_CASES, HOST, UdpProbe, answersCase, percentile } from './lib.js';

/**
 * TCP exhaustion: a pool of connections that hold slots on the server (idle ones that send
 * nothing, or slow-loris ones that drip a message that never ends), kept up in the background
 * (a connection the server closes is opened again, within a budget of new connections a second),
 * while new clients ask over UDP and over fresh TCP connections.
 */

export type PoolKind = 'idle' | 'slowloris';

export interface PoolStats {
  /** Connections wanted. */
  readonly target: number;
  /** Connections open on the client's side now. */
  open: number;
  /** Connections that completed the handshake, in all. */
  connected: number;
  /** Connections closed by the server (or reset), in all. */
  closedByServer: number;
  connectErrors: number;
  /** Most connections open at once. */
  peakOpen: number;
}

export class ConnPool {
  readonly stats: PoolStats;
  private readonly socks = new Set<net.Socket>();
  private readonly queue: number[] = [];
  private active = true;
  private readonly timer: NodeJS.Timeout;
  private connecting = 0;

  constructor(
    private readonly port: number,
    target: number,
    private readonly kind: PoolKind,
    /** New connections a second, at most, once every slot has been tried once (reconnects). */
    private readonly perSecond = 500,
    /** Connections being opened at once; the first round goes this fast, unpaced. */
    private readonly parallel = 256,
    /** Bytes of the never-finished message a slow-loris connection drips, one every this many ms. */
    private readonly dripMs = 200,
  ) {
    this.stats = { target, open: 0, connected: 0, closedByServer: 0, connectErrors: 0, peakOpen: 0 };
    this.untried = target;
    for (let i = 0; i < target; i++) this.queue.push(i);
    const tick = 20;
    const budget = () => (this.untried > 0 ? parallel : Math.ceil((perSecond * tick) / 1000));
    this.timer = setInterval(() => this.refill(budget()), tick);
    this.refill(budget());
  }

  /** Slots not tried yet. */
  private untried: number;

  /** Resolves once every slot has been tried at least once (or the deadline passes). */
  async filled(deadlineMs = 30_000): Promise<void> {
    const end = Date.now() + deadlineMs;
    while ((this.untried > 0 || this.connecting > 0) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  }

  private refill(budget: number): void {
    while (this.active && budget > 0 && this.queue.length > 0 && this.connecting < this.parallel) {
      budget--;
      this.open(this.queue.shift()!);
    }
  }

  private open(slot: number): void {
    this.connecting++;
    if (this.untried > 0) this.untried--;
    let connected = false;
    let drip: NodeJS.Timeout | null = null;
    const s = net.connect({ port: this.port, host: HOST });
    s.setNoDelay(true);
    this.socks.add(s);
    s.on('connect', () => {
      this.connecting--;
      connected = true;
      this.stats.connected++;
      this.stats.open++;
      if (this.stats.open > this.stats.peakOpen) this.stats.peakOpen = this.stats.open;
      if (this.kind === 'slowloris') {
        // The length of a 300-byte message, then one byte of it every dripMs: never finished.
        s.write(Buffer.from([0x01, 0x2c]));
        drip = setInterval(() => {
          if (!s.destroyed) s.write(Buffer.from([0x61]));
        }, this.dripMs);
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      if (drip) clearInterval(drip);
      this.socks.delete(s);
      if (connected) {
        this.stats.open--;
        if (this.active) this.stats.closedByServer++;
      } else {
        this.connecting--;
        if (this.active) this.stats.connectErrors++;
      }
      if (this.active) this.queue.push(slot);
    });
    // Only the server ends these connections while the pool is active.
    s.on('data', () => undefined);
  }

  async close(): Promise<void> {
    this.active = false;
    clearInterval(this.timer);
    for (const s of this.socks) s.destroy();
    while (this.socks.size > 0) await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * One query on a fresh TCP connection: the round trip (connect included) when answered
 * correctly; null when closed, reset, answered wrongly or not within timeoutMs.
 */
export function tcpOnce(port: number, k: number, timeoutMs = 2000): Promise<number | null> {
  const c = GOOD_CASES[k % GOOD_CASES.length];
  const q = buildQuery(c.qname, c.qtype);
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s = net.connect({ port, host: HOST });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (v: number | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    s.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(q.length);
      s.write(Buffer.concat([len, q]));
    });
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const reply = buf.subarray(2, 2 + buf.readUInt16BE(0));
        finish(answersCase(Buffer.from(reply), c) ? performance.now() - t0 : null);
      }
    });
    s.on('error', () => finish(null));
    s.on('close', () => finish(null));
  });
}

export interface Probe {
  readonly udpOk: number;
  readonly udpP99: number;
  readonly tcpOk: number;
  readonly tcpP99: number;
  readonly n: number;
}

/**
 * n UDP queries and n queries each on a new TCP connection, alternating, gapMs apart: spread
 * over a few seconds, so that the server's own timeouts (and the pool's reconnects) happen
 * while clients ask.
 */
export async function probeBoth(port: number, n: number, gapMs = 0, timeoutMs = 2000): Promise<Probe> {
  const probe = new UdpProbe(port);
  await probe.ready();
  const udp: number[] = [];
  const tcp: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = await probe.askCase(GOOD_CASES[i % GOOD_CASES.length], timeoutMs);
    if (u.ok) udp.push(u.ms);
    const t = await tcpOnce(port, i, timeoutMs);
    if (t !== null) tcp.push(t);
    if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
  }
  probe.close();
  return { n, udpOk: udp.length, udpP99: percentile(udp, 99), tcpOk: tcp.length, tcpP99: percentile(tcp, 99) };
}

/** The soft limit on open files of this process. */
export function openFilesLimit(): number {
  try {
    const m = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}
