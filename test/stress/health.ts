import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { HOST } from './lib.js';

/** /health probes as a kubelet sends them (a new connection each), and a DNS flood from another process. */

export interface HealthProbe {
  readonly lat: number[];
  readonly failed: number;
}

/** One GET /health on a new connection: its round trip (ms), or null if not 200 within timeoutMs. */
export function healthOnce(port: number, timeoutMs = 5000): Promise<number | null> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path: '/health', agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - t0 : null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/** Sequential probes every intervalMs until stop() says so. */
export async function probeHealth(port: number, intervalMs: number, stop: () => boolean): Promise<HealthProbe> {
  const lat: number[] = [];
  let failed = 0;
  while (!stop()) {
    const t = await healthOnce(port);
    if (t === null) failed++;
    else lat.push(t);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return { lat, failed };
}

export interface FloodResult {
  readonly sent: number;
  readonly replies: number;
  readonly seconds: number;
}

/** Runs test/stress/flood.ts in a child process against port for seconds. */
export function flood(port: number, seconds: number, window = 256): Promise<FloodResult> {
  const script = fileURLToPath(new URL('./flood.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', script, String(port), String(seconds), HOST, String(window)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (c) => (out += c));
    p.on('error', reject);
    p.on('close', (code) => {
      try {
        resolve(JSON.parse(out) as FloodResult);
      } catch {
        reject(new Error(`flood exited ${code}: ${out}`));
      }
    });
  });
}

/** n connections to the HTTP port that start a request and never finish its headers. */
export async function holdHttp(port: number, n: number): Promise<{ closedByServer: () => number; close: () => void }> {
  const net = await import('node:net');
  const socks: import('node:net').Socket[] = [];
  let closed = 0;
  let closing = false;
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, HOST);
    s.on('error', () => undefined);
    s.on('close', () => {
      if (!closing) closed++;
    });
    await new Promise((r) => {
      s.once('connect', r);
      s.once('error', r);
    });
    s.write('GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    socks.push(s);
  }
  return {
    closedByServer: () => closed,
    close: () => {
      closing = true;
      for (const s of socks) s.destroy();
    },
  };
}
