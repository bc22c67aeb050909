import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { query } from './dns-client.js';

/**
 * dnsmasq (Debian dnsmasq-base) as an independent upstream on loopback: it answers the names
 * given with fixed addresses and nothing else (no resolv.conf, no hosts file, no other network).
 */
export interface Dnsmasq {
  readonly port: number;
  readonly proc: ChildProcess;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function startDnsmasq(addresses: Record<string, string>, probe: string): Promise<Dnsmasq> {
  const port = await freePort();
  const args = [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    `--port=${port}`,
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    '--no-resolv',
    '--no-hosts',
    '--user=root',
    '--pid-file=',
    ...Object.entries(addresses).map(([name, ip]) => `--address=/${name}/${ip}`),
  ];
  const proc = spawn('dnsmasq', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (c) => (stderr += c));
  const spawnError = new Promise<never>((_, reject) => {
    proc.once('error', (e) => reject(new Error(`cannot start dnsmasq (${e.message}): install it with 'apt-get install -y dnsmasq-base'`)));
    proc.once('exit', (code) => reject(new Error(`dnsmasq exited with ${code}: ${stderr}`)));
  });
  const ready = (async () => {
    const end = Date.now() + 10_000;
    for (;;) {
      try {
        if ((await query(port, probe, 'A', { timeoutMs: 200 })).answer.length > 0) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > end) throw new Error(`dnsmasq on port ${port} did not answer ${probe}: ${stderr}`);
    }
  })();
  await Promise.race([ready, spawnError]);
  spawnError.catch(() => undefined);
  return {
    port,
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}
