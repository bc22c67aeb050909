import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { specCases } from '../helpers/spec-cases.js';
import { HOST, type Watched } from './lib.js';

/** dnsperf (Debian package dnsperf) against the server: its most, then twice that rate. */

export function haveDnsperf(): boolean {
  return !spawnSync('dnsperf', ['-h'], { encoding: 'utf8' }).error;
}

export const DNSPERF_MISSING = "dnsperf is not installed: run 'apt-get install -y dnsperf'";

/** A dnsperf query file of the case table's cluster names ("name TYPE" lines). */
export function queryFile(): { path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-stress-'));
  const lines = specCases.filter((c) => c.pods === undefined).map((c) => `${c.qname} ${c.qtype}`);
  const path = join(dir, 'queries.txt');
  writeFileSync(path, lines.join('\n') + '\n');
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface PerfRun {
  readonly qps: number;
  readonly sent: number;
  readonly completed: number;
  readonly lost: number;
  readonly avgLatencyMs: number;
  /** Largest VmRSS (KiB) of the server seen while dnsperf ran. */
  readonly peakRssKiB: number;
  readonly output: string;
}

/** Runs dnsperf with these extra arguments, sampling the server's RSS every 100 ms. */
export function dnsperf(w: Watched, file: string, args: readonly string[], limitS: number): Promise<PerfRun> {
  const argv = ['-s', HOST, '-p', String(w.port), '-d', file, '-l', String(limitS), ...args];
  return new Promise((resolve, reject) => {
    const p = spawn('dnsperf', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c) => (out += c));
    p.stderr.on('data', (c) => (out += c));
    let peak = w.rssKiB();
    const sampler = setInterval(() => {
      const r = w.rssKiB();
      if (r > peak) peak = r;
    }, 100);
    // dnsperf stops itself after -l seconds; this is only a backstop.
    const kill = setTimeout(() => p.kill('SIGKILL'), (limitS + 30) * 1000);
    p.on('error', (e) => {
      clearInterval(sampler);
      clearTimeout(kill);
      reject(e);
    });
    p.on('close', (code) => {
      clearInterval(sampler);
      clearTimeout(kill);
      const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
      const run: PerfRun = {
        qps: num(/Queries per second:\s+([\d.]+)/),
        sent: num(/Queries sent:\s+(\d+)/),
        completed: num(/Queries completed:\s+(\d+)/),
        lost: num(/Queries lost:\s+(\d+)/),
        avgLatencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
        peakRssKiB: peak,
        output: out,
      };
      if (code !== 0 || !Number.isFinite(run.qps)) reject(new Error(`dnsperf ${argv.join(' ')} exited ${code}:\n${out}`));
      else resolve(run);
    });
  });
}
