import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CLI, logRecord, ROOT } from './serve-process.js';

/** `clusterdns bridge` as users run it, with its JSON log lines collected for the tests to wait on. */
export interface BridgeProcess {
  readonly proc: ChildProcess;
  readonly logs: Record<string, unknown>[];
  /** Resolves when a log line matching msg appears (already seen counts). */
  waitFor(msg: string | RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function startBridgeProcess(args: readonly string[]): BridgeProcess {
  const proc = spawn(CLI, ['bridge', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  const waiters: { match: (r: Record<string, unknown>) => boolean; resolve: (r: Record<string, unknown>) => void }[] = [];
  let stderr = '';
  proc.stderr!.on('data', (c) => (stderr += c));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const rec = logRecord(line);
    if (rec === null) return;
    logs.push(rec);
    for (const w of [...waiters]) {
      if (w.match(rec)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(rec);
      }
    }
  });
  const matcher = (msg: string | RegExp) => (r: Record<string, unknown>) => (typeof msg === 'string' ? r.msg === msg : msg.test(String(r.msg)));
  return {
    proc,
    logs,
    waitFor(msg, timeoutMs = 30_000) {
      const m = matcher(msg);
      const seen = logs.find(m);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`bridge: no '${String(msg)}' within ${timeoutMs} ms; stderr: ${stderr}; logs: ${JSON.stringify(logs.slice(-5))}`)), timeoutMs);
        waiters.push({ match: m, resolve: (r) => (clearTimeout(timer), resolve(r)) });
        proc.once('exit', (code) => reject(new Error(`bridge exited with ${code}; stderr: ${stderr}`)));
      });
    },
    stop(signal = 'SIGTERM') {
      return new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill(signal);
      });
    },
  };
}

/** Polls until check returns a truthy value; returns it, or throws what it last said. */
export async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
