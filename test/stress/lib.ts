import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import { buildQuery, parseReply } from '../helpers/dns-client.js';
import { startServe, type Served } from '../helpers/serve-process.js';
import { FIXTURE_DIR, TTL, specCases, type Case } from '../helpers/spec-cases.js';

/**
 * Shared pieces of the stress runs: a server under watch (stderr, error logs, RSS), a
 * deterministic PRNG, percentiles, reply checks and a sequential UDP prober.
 */

export const HOST = '127.0.0.1';

export interface Watched {
  readonly served: Served;
  readonly pid: number;
  readonly port: number;
  /** Everything the server wrote on stderr since it started serving. */
  stderr(): string;
  /** True while the process has neither exited nor been killed. */
  alive(): boolean;
  /** Log lines at level error (50) or above. */
  errorLogs(): Record<string, unknown>[];
  /** VmRSS in KiB, or NaN when the process is gone. */
  rssKiB(): number;
  stop(): Promise<void>;
}

/** Starts the built CLI on the fixture cluster with no upstream, watching stderr and exit. */
export async function startWatched(extra: readonly string[] = []): Promise<Watched> {
  const served = await startServe(['--manifests', FIXTURE_DIR, '--ttl', String(TTL), '--upstream', 'none', ...extra]);
  let err = '';
  served.proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const pid = served.proc.pid!;
  return {
    served,
    pid,
    port: served.dnsPort,
    stderr: () => err,
    alive: () => served.proc.exitCode === null && served.proc.signalCode === null,
    errorLogs: () => served.logs.filter((l) => typeof l.level === 'number' && (l.level as number) >= 50),
    rssKiB: () => rssKiB(pid),
    stop: () => served.stop(),
  };
}

export function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

export const mib = (kib: number) => (kib / 1024).toFixed(1);

/** mulberry32: a small deterministic PRNG; the same seed gives the same packets on every run. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  byte(): number {
    return this.int(256);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
}

/** The p-th percentile (0..100) of xs, nearest rank; NaN for none. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 2 : 1) : '-');

/** Rcodes a reply may carry: header rcode plus the OPT record's extended bits. */
export const ALLOWED_RCODES = new Set([0, 1, 2, 3, 4, 5, 16]);

export interface ReplyCheck {
  readonly ok: boolean;
  readonly rcode: number;
  readonly problem?: 'unparseable' | 'no-qr' | 'bad-rcode';
  readonly detail?: string;
}

/** Every reply must decode with dns-packet, have QR set, and carry an allowed rcode. */
export function checkReply(raw: Buffer): ReplyCheck {
  let p: dnsPacket.Packet;
  try {
    if (raw.length < 12) throw new Error(`reply of ${raw.length} bytes`);
    p = dnsPacket.decode(raw);
  } catch (e) {
    return { ok: false, rcode: -1, problem: 'unparseable', detail: (e as Error).message };
  }
  if ((raw[2] & 0x80) === 0) return { ok: false, rcode: raw[3] & 0x0f, problem: 'no-qr' };
  const opt = (p.additionals ?? []).find((a) => a.type === 'OPT') as { extendedRcode?: number } | undefined;
  const rcode = (raw[3] & 0x0f) | ((opt?.extendedRcode ?? 0) << 4);
  if (!ALLOWED_RCODES.has(rcode) || (rcode === 16 && !opt)) return { ok: false, rcode, problem: 'bad-rcode' };
  return { ok: true, rcode };
}

export const RCODE_NAMES: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 16: 'BADVERS' };
export const rcodeName = (r: number) => RCODE_NAMES[r] ?? `RCODE${r}`;

/** Spec cases that answer NOERROR with addresses: the well-formed queries checked between mutations. */
export const GOOD_CASES: readonly Case[] = specCases.filter(
  (c) => c.pods === undefined && c.rcode === 'NOERROR' && (c.qtype === 'A' || c.qtype === 'AAAA') && c.answer.length > 0 && c.answer.every((a) => / (A|AAAA) /.test(a)),
);

/** True when a reply answers case c: same rcode and the same answer records (as a set). */
export function answersCase(raw: Buffer, c: Case): boolean {
  try {
    const r = parseReply(raw);
    const got = [...r.answer].sort();
    const want = [...c.answer].sort();
    return r.rcode === c.rcode && got.length === want.length && got.every((x, i) => x === want[i]);
  } catch {
    return false;
  }
}

/** Writes a 16-bit ID into the first two bytes of a message (when it has them). */
export function stampId(msg: Buffer, id: number): void {
  if (msg.length >= 2) msg.writeUInt16BE(id & 0xffff, 0);
}

/**
 * One UDP socket for sequential request/reply timing: send a message, wait for the reply
 * with the same ID. Replies to other IDs are handed to onOther.
 */
export class UdpProbe {
  private readonly sock = dgram.createSocket('udp4');
  private waiters = new Map<number, (b: Buffer) => void>();
  /** IDs whose wait timed out: a reply to them is late, not unexpected. */
  private readonly expired = new Set<number>();
  private nextId = 1;
  /** Replies to no question asked with ask(). */
  onOther: (raw: Buffer) => void = () => undefined;
  late = 0;

  constructor(private readonly port: number) {
    this.sock.on('message', (m) => {
      const id = m.length >= 2 ? m.readUInt16BE(0) : -1;
      const w = this.waiters.get(id);
      if (w) {
        this.waiters.delete(id);
        w(m);
      } else if (this.expired.delete(id)) this.late++;
      else this.onOther(m);
    });
  }

  async ready(): Promise<void> {
    await new Promise<void>((r) => this.sock.bind(0, HOST, () => r()));
  }

  id(): number {
    this.nextId = (this.nextId + 1) & 0xffff || 1;
    return this.nextId;
  }

  send(msg: Buffer): void {
    this.sock.send(msg, this.port, HOST);
  }

  /** Sends msg (its ID is rewritten) and resolves with the reply, or null after timeoutMs. */
  ask(msg: Buffer, timeoutMs = 2000): Promise<Buffer | null> {
    const id = this.id();
    const m = Buffer.from(msg);
    stampId(m, id);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        if (this.expired.size > 4096) this.expired.clear();
        this.expired.add(id);
        resolve(null);
      }, timeoutMs);
      this.waiters.set(id, (b) => {
        clearTimeout(timer);
        resolve(b);
      });
      this.send(m);
    });
  }

  /** Asks case c; resolves with whether it was answered correctly and the round trip (ms). */
  async askCase(c: Case, timeoutMs = 2000): Promise<{ ok: boolean; answered: boolean; ms: number }> {
    const t0 = performance.now();
    const raw = await this.ask(buildQuery(c.qname, c.qtype), timeoutMs);
    const t = performance.now() - t0;
    return { ok: raw !== null && answersCase(raw, c), answered: raw !== null, ms: t };
  }

  close(): void {
    this.sock.close();
  }
}

/** n sequential UDP queries cycling through the good cases: latencies of correct answers and failures. */
export async function sequentialUdp(port: number, n: number, timeoutMs = 2000): Promise<{ lat: number[]; failed: number }> {
  const probe = new UdpProbe(port);
  await probe.ready();
  const lat: number[] = [];
  let failed = 0;
  for (let i = 0; i < n; i++) {
    const r = await probe.askCase(GOOD_CASES[i % GOOD_CASES.length], timeoutMs);
    if (r.ok) lat.push(r.ms);
    else failed++;
  }
  probe.close();
  return { lat, failed };
}

export const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

/** Health of a watched server at the end of a run: alive, quiet stderr, no error logs. */
export function health(w: Watched): { ok: boolean; text: string } {
  const alive = w.alive();
  const stderr = w.stderr().trim();
  const errs = w.errorLogs().length;
  const ok = alive && stderr === '' && errs === 0;
  const text = `alive=${alive ? 'yes' : 'NO'} stderr=${stderr === '' ? 'empty' : JSON.stringify(stderr.slice(0, 200))} errlogs=${errs}`;
  return { ok, text };
}

export interface HeapFigures {
  readonly totalMiB: number;
  readonly usedMiB: number;
  readonly externalMiB: number;
}

/** The V8 heap (committed and used) and memory outside it, from the server's own /metrics. */
export async function heapFigures(w: Watched): Promise<HeapFigures | null> {
  try {
    const text = await (await fetch(`http://${HOST}:${w.served.httpPort}/metrics`)).text();
    const get = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / 1048576;
    return { totalMiB: get('nodejs_heap_size_total_bytes'), usedMiB: get('nodejs_heap_size_used_bytes'), externalMiB: get('nodejs_external_memory_bytes') };
  } catch {
    return null;
  }
}

export const heapText = (h: HeapFigures | null) => (h ? `heap ${h.totalMiB.toFixed(1)}/${h.usedMiB.toFixed(1)} ext ${h.externalMiB.toFixed(1)}` : 'heap ?');

/**
 * The server's event-loop delay (p99 and max, ms) since the last call: prom-client resets its
 * histogram at each scrape, so a scrape before a run and one after give the run's figures.
 */
export async function loopLag(w: Watched): Promise<{ p99: number; max: number }> {
  try {
    const text = await (await fetch(`http://${HOST}:${w.served.httpPort}/metrics`)).text();
    const get = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) * 1000;
    return { p99: get('nodejs_eventloop_lag_p99_seconds'), max: get('nodejs_eventloop_lag_max_seconds') };
  } catch {
    return { p99: NaN, max: NaN };
  }
}
