// Propagation through `serve --kubernetes`: from the fake API server emitting a Service
// ADDED/MODIFIED event to the first DNS answer that reflects it, over 1,000 changes while other
// names are queried in the background. Prints p50/p99 beside an anchor measured in the same run
// (one UDP query round trip to the same server). A measurement, never a pass/fail test.
//
//   npm run build && node --import tsx bench/k8s-propagation.ts [--changes N]
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FakeApiServer } from '../test/helpers/fake-apiserver.js';
import { FIXTURE_DIR } from '../test/helpers/spec-cases.js';
import { encodeQuery } from '../src/dns/wire.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO, 'dist/cli/main.js');
const at = process.argv.indexOf('--changes');
const CHANGES = at > 0 ? Number(process.argv[at + 1]) : 1000;

const api = await FakeApiServer.start({ maxWatchSeconds: 3600 });
api.loadDirectory(FIXTURE_DIR);
for (let i = 0; i < 1000; i++) api.put({ kind: 'Service', metadata: { name: `base-${i}`, namespace: 'ns1' }, spec: { clusterIP: `10.99.${i >> 8}.${i & 255}`, ports: [{ name: 'http', port: 80 }] } });
const proc = spawn(CLI, ['serve', '--kubernetes', '--kubeconfig', api.writeKubeconfig(), '--listen', '127.0.0.1:0', '--http', 'none', '--upstream', 'none', '--ttl', '5'], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise<number>((resolve) => {
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    try {
      const r = JSON.parse(l);
      if (r.msg === 'serving') resolve(r.listen[0].port);
    } catch {
      // not a log line
    }
  });
});

/** One UDP socket; replies matched by ID. Returns the answer's first A address, or the rcode. */
const sock = dgram.createSocket('udp4');
await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
const pending = new Map<number, (b: Buffer) => void>();
sock.on('message', (b) => pending.get(b.readUInt16BE(0))?.(b));
let id = 0;
function ask(name: string): Promise<string> {
  id = (id + 1) & 0xffff;
  const q = encodeQuery({ id, name, type: 1, rd: true, edns: null });
  return new Promise((resolve) => {
    const timer = setTimeout(() => (pending.delete(q.readUInt16BE(0)), resolve('timeout')), 2000);
    pending.set(q.readUInt16BE(0), (b) => {
      clearTimeout(timer);
      pending.delete(q.readUInt16BE(0));
      const rcode = b[3] & 15;
      const ancount = b.readUInt16BE(6);
      resolve(rcode !== 0 || ancount === 0 ? `rcode${rcode}` : [...b.subarray(b.length - 4)].join('.'));
    });
    sock.send(q, port, '127.0.0.1');
  });
}

// Background load: other names, 8 queries in flight at all times.
let loading = true;
let background = 0;
const load = Promise.all(
  Array.from({ length: 8 }, async (_, k) => {
    for (let i = k; loading; i += 8) {
      await ask(`base-${i % 1000}.ns1.svc.cluster.local`);
      background++;
    }
  }),
);

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

// Anchor: the round trip of a query whose answer is already there.
const rtts: number[] = [];
for (let i = 0; i < 1000; i++) {
  const t = process.hrtime.bigint();
  await ask('base-1.ns1.svc.cluster.local');
  rtts.push(Number(process.hrtime.bigint() - t) / 1e6);
}

const times: number[] = [];
const t0 = Date.now();
for (let i = 0; i < CHANGES; i++) {
  const name = `moving-${i % 50}`;
  const ip = `10.100.${(i >> 8) & 255}.${i & 255}`;
  const t = process.hrtime.bigint();
  api.put({ kind: 'Service', metadata: { name, namespace: 'ns1' }, spec: { clusterIP: ip, ports: [{ name: 'http', port: 80 }] } });
  while ((await ask(`${name}.ns1.svc.cluster.local`)) !== ip) {
    if (Number(process.hrtime.bigint() - t) > 5e9) throw new Error(`${name} never became ${ip}`);
  }
  times.push(Number(process.hrtime.bigint() - t) / 1e6);
}
const seconds = (Date.now() - t0) / 1000;
loading = false;
await load;
console.log(
  `propagation over ${CHANGES} Service changes (ADDED then MODIFIED) under ${Math.round(background / seconds)} background queries/s: ` +
    `p50 ${pct(times, 50).toFixed(2)} ms, p99 ${pct(times, 99).toFixed(2)} ms, max ${Math.max(...times).toFixed(2)} ms ` +
    `(anchor: one query round trip p50 ${pct(rtts, 50).toFixed(3)} ms, p99 ${pct(rtts, 99).toFixed(3)} ms)`,
);
sock.close();
proc.kill('SIGTERM');
await api.stop();
process.exit(0);
