import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

/**
 * Runs the built command line (dist/, as `npx clusterdns` does) as a child process and
 * reads the bound ports from its "serving" log line, so tests can listen on port 0.
 */

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface Served {
  readonly proc: ChildProcess;
  readonly dnsPort: number;
  readonly httpPort: number;
  /** Every log line so far, parsed. */
  readonly logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

function requireBuild(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first (npm test does it)`);
}

/**
 * Starts `clusterdns serve` and resolves once it logs `until`: "serving" (sources loaded), or
 * "listening" (sockets bound, sources still loading: for the time before the first sync).
 * user: run the server as this uid/gid (a test running as root, to have file modes apply to the server).
 */
export async function startServe(
  args: readonly string[],
  timeoutMs = 10_000,
  env: NodeJS.ProcessEnv = process.env,
  user?: { uid: number; gid: number },
  until: 'serving' | 'listening' = 'serving',
): Promise<Served> {
  requireBuild();
  // Tests never forward to the machine's own resolvers: only to upstreams they start on loopback.
  // A test with a config file sets `upstream` in the file itself.
  const upstream = args.includes('--upstream') || args.includes('--config') ? [] : ['--upstream', 'none'];
  // Tests stop servers with SIGTERM: no lame-duck wait unless a test asks for one.
  if (!args.includes('--lameduck')) upstream.push('--lameduck', '0');
  // The command line itself, as users run it: its first line sets the V8 flags it serves with.
  const proc = spawn(CLI, ['serve', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', ...upstream, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...user,
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  proc.stderr!.on('data', (c) => (stderr += c));
  const lines = createInterface({ input: proc.stdout! });
  const ready = new Promise<{ dns: number; http: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before serving; stderr: ${stderr}`));
    });
    lines.on('line', (line) => {
      const rec = logRecord(line);
      if (rec === null) return;
      logs.push(rec);
      if (rec.msg === 'serving' || (until === 'listening' && rec.msg === 'listening; loading sources')) {
        clearTimeout(timer);
        const listen = rec.listen as { port: number }[];
        const http = rec.http as { port: number };
        resolve({ dns: listen[0].port, http: http.port });
      }
    });
  });
  const ports = await ready;
  return {
    proc,
    dnsPort: ports.dns,
    httpPort: ports.http,
    logs,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

/** Runs the CLI to completion (for flag and help tests). */
export function runCli(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  requireBuild();
  const r = spawnSync(CLI, [...args], { cwd: ROOT, encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** One JSON log line of a clusterdns process as an object; null for anything else it prints. */
export function logRecord(line: string): Record<string, unknown> | null {
  try {
    const rec: unknown = JSON.parse(line);
    return rec !== null && typeof rec === 'object' ? (rec as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
