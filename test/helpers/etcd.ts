import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real etcd server (Debian's etcd-server) on loopback ports for tests: a free client and
 * peer port (found by binding port 0 first), a temporary data directory, health awaited.
 * stop() and start() keep the ports and the data, so a test can take etcd away and bring
 * it back; close() removes everything.
 */

export function requireEtcd(): void {
  if (spawnSync('etcd', ['--version'], { stdio: 'ignore' }).error) {
    throw new Error("etcd is not installed: run 'sudo apt-get install -y etcd-server' (npm test does it as root), then run the tests again");
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export class EtcdServer {
  private proc: ChildProcess | null = null;
  private output = '';

  private constructor(
    readonly clientPort: number,
    readonly peerPort: number,
    readonly dataDir: string,
  ) {}

  static async launch(): Promise<EtcdServer> {
    requireEtcd();
    const dir = mkdtempSync(join(tmpdir(), 'clusterdns-etcd-'));
    const e = new EtcdServer(await freePort(), await freePort(), dir);
    await e.start();
    return e;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  get running(): boolean {
    return this.proc !== null;
  }

  async start(timeoutMs = 30_000): Promise<void> {
    if (this.proc) return;
    const client = this.endpoint;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const env = { ...process.env };
    delete env.ETCD_UNSUPPORTED_ARCH;
    this.output = '';
    const proc = spawn(
      'etcd',
      [
        '--name', 'test',
        '--data-dir', this.dataDir,
        '--listen-client-urls', client,
        '--advertise-client-urls', client,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `test=${peer}`,
        '--initial-cluster-state', 'new',
        '--log-level', 'error',
        '--logger', 'zap',
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.proc = proc;
    proc.stdout!.on('data', (c) => (this.output = (this.output + c).slice(-4000)));
    proc.stderr!.on('data', (c) => (this.output = (this.output + c).slice(-4000)));
    proc.once('exit', () => {
      if (this.proc === proc) this.proc = null;
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.proc !== proc) throw new Error(`etcd exited at start: ${this.output}`);
      try {
        const res = await fetch(`${client}/health`, { signal: AbortSignal.timeout(1000) });
        const body = (await res.json()) as { health?: string };
        if (body.health === 'true') return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`etcd not healthy within ${timeoutMs} ms: ${this.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Kills etcd (SIGKILL: the way a crash or a partition looks to clients). */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
    this.proc = null;
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
