import { spawn, type ChildProcess } from 'node:child_process';
import { CLI, ROOT } from '../helpers/serve-process.js';
import { FIXTURE_DIR, TTL } from '../helpers/spec-cases.js';
import { ClusterLoad } from './faults.js';
import { GOOD_CASES, Rng, UdpProbe, sleep } from './lib.js';

/**
 * Crash-only: the server is killed with SIGKILL at random moments (while it starts, and while
 * it answers a query load) and started again on the same port; each time, the time from the
 * start to its first correct answer is measured. Nothing is cleaned up between a kill and the
 * next start: there is no state on disk to recover.
 */

export interface CrashRound {
  /** ms from spawn to the first correct answer on the port. */
  readonly firstAnswerMs: number;
  /** ms after the first answer at which it was killed (under load); -1 when killed while starting. */
  readonly killedAfterMs: number;
  readonly load: { ok: number; wrong: number; lost: number };
}

function start(port: number): ChildProcess {
  return spawn(CLI, ['serve', '--listen', `127.0.0.1:${port}`, '--http', '127.0.0.1:0', '--manifests', FIXTURE_DIR, '--ttl', String(TTL), '--upstream', 'none', '--lameduck', '0'], {
    cwd: ROOT,
    stdio: 'ignore',
  });
}

function kill9(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.kill('SIGKILL');
  });
}

/** Polls the port every 5 ms until a cluster name is answered correctly; ms since t0. */
async function firstAnswer(port: number, t0: number, timeoutMs = 20_000): Promise<number> {
  const probe = new UdpProbe(port);
  await probe.ready();
  try {
    const c = GOOD_CASES[0];
    while (performance.now() - t0 < timeoutMs) {
      const r = await probe.askCase(c, 5);
      if (r.ok) return performance.now() - t0;
      if (!r.answered) continue;
      await sleep(5);
    }
    throw new Error(`no correct answer on port ${port} within ${timeoutMs} ms of the start`);
  } finally {
    probe.close();
  }
}

/**
 * rounds kills under load at random moments (seeded), each after a kill while starting, on
 * one port: that of a first server started on port 0.
 */
export async function crashRestarts(port: number, rounds: number, seed = 0xc0ffee): Promise<CrashRound[]> {
  const rng = new Rng(seed);
  const out: CrashRound[] = [];
  for (let i = 0; i < rounds; i++) {
    // Killed while starting (before or just after it binds).
    const early = start(port);
    await sleep(rng.int(400));
    await kill9(early);
    // Started again, answering; killed at a random moment under load.
    const t0 = performance.now();
    const p = start(port);
    try {
      const firstAnswerMs = await firstAnswer(port, t0);
      const load = new ClusterLoad(port, 0);
      const killedAfterMs = 100 + rng.int(1000);
      await sleep(killedAfterMs);
      await kill9(p);
      await load.stop();
      out.push({ firstAnswerMs, killedAfterMs, load: load.take() });
    } finally {
      await kill9(p);
    }
  }
  return out;
}

/** A free UDP+TCP port pair on loopback: a server started on port 0 tells it, then is killed. */
export async function freePort(): Promise<number> {
  const { startServe } = await import('../helpers/serve-process.js');
  const s = await startServe(['--manifests', FIXTURE_DIR]);
  const port = s.dnsPort;
  await kill9(s.proc);
  return port;
}
