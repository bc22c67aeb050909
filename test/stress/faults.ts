import { chmodSync, cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dgram from 'node:dgram';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildQuery } from '../helpers/dns-client.js';
import { startServe, type Served } from '../helpers/serve-process.js';
import { FIXTURE_DIR } from '../helpers/spec-cases.js';
import { startUpstream, type Mode, type TestUpstream } from '../helpers/upstream.js';
import { GOOD_CASES, HOST, UdpProbe, answersCase, percentile, sleep } from './lib.js';

/**
 * Faults of what the server depends on, each while queries keep coming: the manifest source
 * (a broken file, an unreadable file, an unreadable directory, the directory deleted) and the
 * upstreams (all silent, one dead, one answering garbage). Cluster names must keep their answers
 * from the last good state, each fault must show in a log line and a metric, and the process
 * must stay up. The Kubernetes API and etcd sources have faults of their own (API server or
 * etcd down), tested with those sources.
 */

/** Scrapes one series' value from /metrics (NaN when absent). */
export async function metric(httpPort: number, series: string): Promise<number> {
  return seriesValue(await (await fetch(`http://${HOST}:${httpPort}/metrics`)).text(), series);
}

function seriesValue(text: string, series: string): number {
  for (const line of text.split('\n')) if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  return NaN;
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 15_000): Promise<number> {
  const t0 = performance.now();
  while (!(await check())) {
    if (performance.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(25);
  }
  return performance.now() - t0;
}

/** Sequential cluster queries in the background until stopped: correct, wrong, unanswered, latencies. */
export class ClusterLoad {
  ok = 0;
  wrong = 0;
  lost = 0;
  readonly lat: number[] = [];
  private running = true;
  private readonly done: Promise<void>;
  constructor(port: number, gapMs = 2) {
    const probe = new UdpProbe(port);
    this.done = (async () => {
      await probe.ready();
      for (let i = 0; this.running; i++) {
        const r = await probe.askCase(GOOD_CASES[i % GOOD_CASES.length], 2000);
        if (r.ok) {
          this.ok++;
          this.lat.push(r.ms);
        } else if (r.answered) this.wrong++;
        else this.lost++;
        if (gapMs > 0) await sleep(gapMs);
      }
      probe.close();
    })();
  }
  /** Counts so far, and starts counting afresh. */
  take(): { ok: number; wrong: number; lost: number; p99: number } {
    const r = { ok: this.ok, wrong: this.wrong, lost: this.lost, p99: percentile(this.lat, 99) };
    this.ok = this.wrong = this.lost = 0;
    this.lat.length = 0;
    return r;
  }
  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

export interface FaultFigure {
  readonly name: string;
  /** ms from the fault to clusterdns_source_error = 1. */
  readonly detectMs: number;
  /** ms from the repair to clusterdns_source_error = 0. */
  readonly recoverMs: number;
  readonly queries: { ok: number; wrong: number; lost: number; p99: number };
  readonly logged: string;
}

export interface ManifestFaults {
  readonly figures: FaultFigure[];
  readonly alive: boolean;
  readonly errorLogs: number;
  readonly asUser: string;
}

/**
 * Each fault of the manifest directory in turn, held for holdMs while cluster queries run.
 * As root, the server runs as nobody so that file modes apply to it.
 */
export async function manifestFaults(holdMs: number): Promise<ManifestFaults> {
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-faults-'));
  const root = process.getuid?.() === 0;
  const restore = () => {
    rmSync(dir, { recursive: true, force: true });
    cpSync(FIXTURE_DIR, dir, { recursive: true });
    chmodSync(dir, 0o755);
    for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644);
  };
  restore();
  const s: Served = await startServe(['--manifests', dir, '--ttl', '5'], 10_000, process.env, root ? { uid: 65534, gid: 65534 } : undefined);
  const load = new ClusterLoad(s.dnsPort);
  const figures: FaultFigure[] = [];
  const errorGauge = () => metric(s.httpPort, 'clusterdns_source_error{source="manifests"}');
  const file = join(dir, 'cluster.yaml');
  const faults: [string, () => void, RegExp][] = [
    ['broken file', () => writeFileSync(file, 'apiVersion: v1\nkind: Service\nmetadata: {name: [unclosed\n'), /cluster\.yaml.*not applied|cluster\.yaml:\d+/],
    [
      'unreadable file',
      () => {
        writeFileSync(file, '# a new version nobody may read\n');
        chmodSync(file, 0o000);
      },
      /cluster\.yaml cannot be read/,
    ],
    ['unreadable directory', () => chmodSync(dir, 0o000), /keeping the last loaded objects/],
    ['directory deleted', () => rmSync(dir, { recursive: true, force: true }), /keeping the last loaded objects/],
  ];
  let alive = false;
  let errorLogs = 0;
  try {
    await until('first queries answered', () => load.ok > 10);
    for (const [name, apply, logged] of faults) {
      const logsBefore = s.logs.length;
      load.take();
      const t0 = performance.now();
      apply();
      const detectMs = await until(`${name}: clusterdns_source_error 1`, async () => (await errorGauge()) === 1);
      await sleep(Math.max(0, holdMs - (performance.now() - t0)));
      const queries = load.take();
      const line = s.logs.slice(logsBefore).find((l) => logged.test(String(l.msg)));
      restore();
      const recoverMs = await until(`${name}: clusterdns_source_error 0 after repair`, async () => (await errorGauge()) === 0);
      figures.push({ name, detectMs, recoverMs, queries, logged: line ? String(line.msg) : '' });
    }
  } finally {
    await load.stop();
    alive = s.proc.exitCode === null && s.proc.signalCode === null;
    errorLogs = s.logs.filter((l) => typeof l.level === 'number' && (l.level as number) >= 50).length;
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { figures, alive, errorLogs, asUser: root ? 'nobody' : 'the current user' };
}

interface Tally {
  cluster: { ok: number; wrong: number; lat: number[] };
  outside: { noerror: number; servfail: number; other: number; lat: number[] };
}
const tally = (): Tally => ({ cluster: { ok: 0, wrong: 0, lat: [] }, outside: { noerror: 0, servfail: 0, other: 0, lat: [] } });

/**
 * Questions sent at a fixed rate (perSecond cluster plus perSecond outside names, each outside
 * name new), each answer recorded with its round trip under the phase it was sent in.
 */
export class PacedLoad {
  private readonly sock = dgram.createSocket('udp4');
  private readonly sent = new Map<number, { at: number; phase: number; c?: (typeof GOOD_CASES)[number] }>();
  private id = 0;
  private timer: NodeJS.Timeout | null = null;
  private n = 0;
  /** The phase questions sent now belong to. */
  phase = 0;
  private readonly tallies = new Map<number, Tally>();

  constructor(private readonly port: number) {
    this.sock.on('message', (m) => {
      const s = this.sent.get(m.readUInt16BE(0));
      if (!s) return;
      this.sent.delete(m.readUInt16BE(0));
      const ms = performance.now() - s.at;
      let t = this.tallies.get(s.phase);
      if (!t) this.tallies.set(s.phase, (t = tally()));
      if (s.c) {
        if (answersCase(m, s.c)) {
          t.cluster.ok++;
          t.cluster.lat.push(ms);
        } else t.cluster.wrong++;
      } else {
        const rcode = m[3] & 0x0f;
        if (rcode === 0) t.outside.noerror++;
        else if (rcode === 2) t.outside.servfail++;
        else t.outside.other++;
        t.outside.lat.push(ms);
      }
    });
  }

  async start(perSecondEach: number): Promise<void> {
    await new Promise<void>((r) => this.sock.bind(0, HOST, () => r()));
    const tick = 10;
    let carry = 0;
    this.timer = setInterval(() => {
      carry += (perSecondEach * tick) / 1000;
      for (; carry >= 1; carry--) {
        const c = GOOD_CASES[this.n % GOOD_CASES.length];
        this.send(buildQuery(c.qname, c.qtype), c);
        this.send(buildQuery(`q${this.n}.outside.example`, 'A'));
        this.n++;
      }
    }, tick);
  }

  private send(q: Buffer, c?: (typeof GOOD_CASES)[number]): void {
    this.id = (this.id + 1) & 0xffff;
    q.writeUInt16BE(this.id, 0);
    this.sent.set(this.id, { at: performance.now(), phase: this.phase, c });
    this.sock.send(q, this.port, HOST);
  }

  /** A phase's results once every question of it is answered or 5 s old (then lost). */
  async result(phase: number): Promise<{ cluster: { ok: number; wrong: number; lost: number; p99: number }; outside: { noerror: number; servfail: number; other: number; lost: number; p99: number; max: number } }> {
    const pending = () => [...this.sent.values()].filter((s) => s.phase === phase);
    const end = performance.now() + 6000;
    while (pending().some((s) => s.at > performance.now() - 5000) && performance.now() < end) await sleep(50);
    let lostCluster = 0;
    let lostOutside = 0;
    for (const [id, s] of this.sent) {
      if (s.phase !== phase) continue;
      this.sent.delete(id);
      if (s.c) lostCluster++;
      else lostOutside++;
    }
    const t = this.tallies.get(phase) ?? tally();
    return {
      cluster: { ok: t.cluster.ok, wrong: t.cluster.wrong, lost: lostCluster, p99: percentile(t.cluster.lat, 99) },
      outside: {
        noerror: t.outside.noerror,
        servfail: t.outside.servfail,
        other: t.outside.other,
        lost: lostOutside,
        p99: percentile(t.outside.lat, 99),
        max: t.outside.lat.length ? Math.max(...t.outside.lat) : NaN,
      },
    };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  close(): void {
    this.sock.close();
  }
}

/** PacedLoad in a child process (test/stress/paced.ts), one run per phase. */
class LoadProcess {
  private constructor(private readonly child: ChildProcess) {}

  static async start(): Promise<LoadProcess> {
    const child = fork(fileURLToPath(new URL('./paced.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`load process exited ${code}`)));
    });
    return new LoadProcess(child);
  }

  /** Sends for ms at perSecond cluster plus perSecond outside questions a second; the results once all are in. */
  run(port: number, perSecond: number, ms: number): Promise<LoadFigures> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`load process exited ${code}`));
      this.child.once('exit', onExit);
      this.child.once('message', (m) => {
        this.child.off('exit', onExit);
        resolve(m as LoadFigures);
      });
      this.child.send({ port, perSecond, ms });
    });
  }

  close(): void {
    this.child.kill();
  }
}

export type LoadFigures = Awaited<ReturnType<PacedLoad['result']>>;

export interface UpstreamPhase {
  readonly name: string;
  readonly load: LoadFigures;
  /** Highest clusterdns_forward_in_flight seen. */
  readonly peakInFlight: number;
  /** The server's largest event-loop delay seen (ms). */
  readonly serverLagMaxMs: number;
  /** Counters moved during the phase. */
  readonly dropped: number;
  readonly healthFailures: number;
}

export interface UpstreamFaults {
  readonly phases: UpstreamPhase[];
  readonly maxConcurrent: number;
  readonly timeoutMs: number;
  readonly alive: boolean;
  readonly errorLogs: number;
}

/**
 * Two upstreams, perSecond cluster plus perSecond outside questions (no cache, every one goes
 * upstream), through: both answering; both silent; one dead (its port closed) and one answering;
 * one dead and one answering with a wrong ID (garbage); both answering again.
 */
export async function upstreamFaults(perSecond: number, phaseMs: number, maxConcurrent = 1000): Promise<UpstreamFaults> {
  const a = await startUpstream();
  const b: TestUpstream = await startUpstream();
  let aClosed = false;
  const timeoutMs = 2000;
  const s = await startServe([
    '--manifests',
    FIXTURE_DIR,
    '--ttl',
    '5',
    '--upstream',
    `127.0.0.1:${a.port},127.0.0.1:${b.port}`,
    '--cache-size',
    '0',
    '--max-concurrent',
    String(maxConcurrent),
    '--upstream-timeout',
    String(timeoutMs),
  ]);
  const to = `127.0.0.1:${a.port},127.0.0.1:${b.port}`;
  const phases: UpstreamPhase[] = [];
  const load = await LoadProcess.start();
  const counter = (name: string) => metric(s.httpPort, `${name}{to="${to}"}`).then((v) => (Number.isNaN(v) ? 0 : v));
  const phase = async (name: string, setup: () => Promise<void> | void) => {
    await setup();
    // The questions come from a process of their own, so that this one (which also plays the
    // upstreams) being busy does not skew their timing; a fresh socket each phase.
    const running = load.run(s.dnsPort, perSecond, phaseMs);
    const dropped0 = await counter('clusterdns_forward_dropped_replies_total');
    const hc0 = await counter('coredns_forward_healthcheck_failures_total');
    let peak = 0;
    let lagMax = 0;
    let done = false;
    running.then(
      () => (done = true),
      () => (done = true),
    );
    // Each scrape also restarts the server's event-loop delay histogram: the largest delay seen.
    while (!done) {
      const text = await (await fetch(`http://${HOST}:${s.httpPort}/metrics`)).text();
      peak = Math.max(peak, seriesValue(text, `clusterdns_forward_in_flight{to="${to}"}`) || 0);
      lagMax = Math.max(lagMax, seriesValue(text, 'nodejs_eventloop_lag_max_seconds') * 1000 || 0);
      await sleep(200);
    }
    const result = await running;
    phases.push({
      name,
      load: result,
      peakInFlight: peak,
      serverLagMaxMs: lagMax,
      dropped: (await counter('clusterdns_forward_dropped_replies_total')) - dropped0,
      healthFailures: (await counter('coredns_forward_healthcheck_failures_total')) - hc0,
    });
  };
  const set = (mode: Mode) => () => {
    a.mode = mode;
    b.mode = mode;
  };
  let alive = false;
  let errorLogs = 0;
  try {
    await phase('both answering', set('answer'));
    await phase('both silent', set('silent'));
    await phase('one dead, one answering', async () => {
      aClosed = true;
      await a.close();
      b.mode = 'answer';
    });
    await phase('one dead, one answering garbage (wrong IDs)', () => {
      b.mode = 'wrong-id';
    });
    await phase('one dead, the other answering again', () => {
      b.mode = 'answer';
    });
  } finally {
    load.close();
    alive = s.proc.exitCode === null && s.proc.signalCode === null;
    errorLogs = s.logs.filter((l) => typeof l.level === 'number' && (l.level as number) >= 50).length;
    await s.stop();
    await b.close();
    if (!aClosed) await a.close();
  }
  return { phases, maxConcurrent, timeoutMs, alive, errorLogs };
}
