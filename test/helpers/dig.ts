import { execFile, spawnSync } from 'node:child_process';
import type { Reply } from './dns-client.js';

/**
 * dig (Debian bind9-dnsutils) as an outside client. Its output is read back into the same
 * shape as our own client's replies, so the same case tables apply.
 */

export function requireDig(): void {
  const r = spawnSync('dig', ['-v'], { encoding: 'utf8' });
  if (r.error) throw new Error("dig is not installed: run 'apt-get install -y bind9-dnsutils' (npm test does it when run as root)");
}

export function dig(port: number, name: string, type: string, extra: readonly string[] = []): Reply & { flags: string[]; output: string } {
  const args = ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', '+nocmd', '+noquestion', '+nostats', ...extra, name, type];
  const r = spawnSync('dig', args, { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`dig ${args.join(' ')} exited ${r.status}: ${r.stdout}${r.stderr}`);
  return parseDig(r.stdout);
}

/** dig without blocking the event loop: for tests whose upstream lives in the test process itself. */
export function digAsync(port: number, name: string, type: string, extra: readonly string[] = []): Promise<ReturnType<typeof parseDig>> {
  const args = ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', '+nocmd', '+noquestion', '+nostats', ...extra, name, type];
  return new Promise((resolve, reject) => {
    execFile('dig', args, { encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`dig ${args.join(' ')} failed: ${err.message}${stdout}${stderr}`));
      else resolve(parseDig(stdout));
    });
  });
}

export function parseDig(out: string): Reply & { flags: string[]; output: string } {
  const status = /status: ([A-Z]+)/.exec(out)?.[1] ?? '';
  const flags = (/;; flags: ([a-z ]+);/.exec(out)?.[1] ?? '').trim().split(/\s+/);
  const sections: Record<string, string[]> = { ANSWER: [], AUTHORITY: [], ADDITIONAL: [] };
  let current: string | null = null;
  for (const line of out.split('\n')) {
    const head = /^;; (\w+) SECTION:/.exec(line);
    if (head) {
      current = head[1];
      continue;
    }
    if (line.startsWith(';') || line.trim() === '') {
      if (line.trim() === '') current = null;
      continue;
    }
    if (current && sections[current]) sections[current].push(normalise(line));
  }
  return {
    raw: Buffer.alloc(0),
    packet: {} as Reply['packet'],
    rcode: status,
    tc: flags.includes('tc'),
    aa: flags.includes('aa'),
    answer: sections.ANSWER,
    ns: sections.AUTHORITY,
    extra: sections.ADDITIONAL,
    flags,
    output: out,
  };
}

function normalise(line: string): string {
  const f = line.trim().split(/\s+/);
  if (f[3] === 'SOA') f[6] = 'SERIAL';
  return f.join(' ');
}
