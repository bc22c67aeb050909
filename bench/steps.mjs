// Two benchmark steps that need a server of their own: the time from a manifest change to the
// new answer while the server is under load, and a CPU profile of the server under load.
// bench/run.mjs passes in the process helpers it owns (spawning, dnsperf, queries), so that every
// server started here is stopped by its cleanup too.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const PROG_NS = 'ns-00';
const PROG_NAME = 'bench-prog';
const PROG_EDITS = 40;
const PROG_GAP_MS = 150;
const PROG_LIMIT_MS = 5000;

/** One Service whose cluster IP changes with every edit: 10.254.<n / 250>.<n % 250 + 1>. */
function progManifest(n) {
  const ip = `10.254.${Math.floor(n / 250)}.${(n % 250) + 1}`;
  return {
    ip,
    text: `apiVersion: v1
kind: Service
metadata:
  name: ${PROG_NAME}
  namespace: ${PROG_NS}
spec:
  clusterIP: ${ip}
  ports:
  - name: http
    port: 80
    protocol: TCP
`,
  };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Change to answer under load: a fixed-rate dnsperf run against a clusterdns whose manifest
 * directory gets PROG_EDITS edits (each written to a temporary file and renamed over the old one,
 * as editors and ConfigMap updates do); for each, the time from the rename to the first UDP answer
 * carrying the new address, asked for back to back.
 */
export async function programmingStep(h, { served, tmp, rate, seconds }) {
  const dir = path.join(tmp, 'programming');
  mkdirSync(dir);
  for (const f of readdirSync(served)) copyFileSync(path.join(served, f), path.join(dir, f));
  const file = path.join(dir, 'zz-bench-prog.yaml');
  writeFileSync(file, progManifest(0).text);
  const qname = `${PROG_NAME}.${PROG_NS}.svc.cluster.local`;
  const out = { qname, edits: PROG_EDITS, rate, samples_ms: [], missed: 0 };
  const cd = await h.startClusterdns('clusterdns (programming)', dir);
  try {
    const loadSeconds = Math.max(seconds, Math.ceil((PROG_EDITS * (PROG_GAP_MS + 50)) / 1000) + 2);
    const load = h.anchors(['bench', 'clusterdns-programming', `${h.HOST}:${cd.port}`, String(loadSeconds), String(rate), '10', String(cd.pid)], (loadSeconds + 40) * 1000);
    await new Promise((r) => setTimeout(r, 500)); // dnsperf under way
    for (let n = 1; n <= PROG_EDITS && !h.interrupted(); n++) {
      const { ip, text } = progManifest(n);
      writeFileSync(`${file}.tmp`, text);
      const t0 = process.hrtime.bigint();
      renameSync(`${file}.tmp`, file);
      let ms = null;
      while (Number(process.hrtime.bigint() - t0) / 1e6 < PROG_LIMIT_MS) {
        const r = await h.udpQuery(cd.port, qname, 'A', 200);
        if (r && r.a.includes(ip)) {
          ms = Number(process.hrtime.bigint() - t0) / 1e6;
          break;
        }
      }
      if (ms === null) out.missed++;
      else out.samples_ms.push(ms);
      await new Promise((r) => setTimeout(r, PROG_GAP_MS));
    }
    const b = await load;
    out.load = h.parseBenchLine(b.out) ?? { error: (b.out + b.err).trim() };
  } finally {
    await h.stopServer(cd.entry);
  }
  const s = [...out.samples_ms].sort((a, b) => a - b);
  out.p50_ms = percentile(s, 50);
  out.p99_ms = percentile(s, 99);
  out.max_ms = s.length ? s[s.length - 1] : null;
  return out;
}

/**
 * Where the time goes: clusterdns run under `node --cpu-prof` for one unlimited-rate dnsperf run,
 * stopped cleanly so the profile is written; self time summed per function and printed as the top
 * entries with their share of all samples.
 */
export async function profileStep(h, { served, tmp, seconds, top = 15 }) {
  const profDir = path.join(tmp, 'profile');
  mkdirSync(profDir);
  const args = ['--max-semi-space-size=2', '--heap-growing-percent=25', '--expose-gc', '--cpu-prof', `--cpu-prof-dir=${profDir}`, h.CLI, 'serve', '--manifests', served, '--listen', `${h.HOST}:0`, '--http', 'none', '--ttl', '30', '--upstream', 'none', '--lameduck', '0'];
  const entry = h.spawnServer('clusterdns (profile)', process.execPath, args, { log: true });
  let bench;
  try {
    const rec = await entry.serving;
    const port = rec.listen?.[0]?.port;
    const b = await h.anchors(['bench', 'clusterdns-profile', `${h.HOST}:${port}`, String(seconds), '0', '10', String(entry.pid)], (seconds + 40) * 1000);
    bench = h.parseBenchLine(b.out) ?? { error: (b.out + b.err).trim() };
  } finally {
    await h.stopServer(entry);
  }
  const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) return { error: 'no .cpuprofile was written (the server did not exit cleanly)', bench };
  const prof = JSON.parse(readFileSync(path.join(profDir, files[0]), 'utf8'));
  const self = new Map();
  let total = 0;
  for (const n of prof.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    total += hits;
    const cf = n.callFrame;
    const where = cf.url ? `${path.relative(h.REPO, cf.url.replace(/^file:\/\//, ''))}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + hits);
  }
  const entries = [...self].sort((a, b) => b[1] - a[1]).slice(0, top).map(([fn, hits]) => ({ fn, self_pct: (100 * hits) / total }));
  return { samples: total, bench, top: entries };
}
