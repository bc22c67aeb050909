#!/usr/bin/env node
// clusterdns benchmark: serves the shared synthetic cluster with clusterdns and, side by side in the
// same interleaved run, with the anchors nsd and dnsmasq and a bare Node UDP echo (node-floor); drives
// dnsperf against each on 127.0.0.1 and prints figures and clusterdns/anchor ratios. Then, if `serve`
// has --workers, one run per worker count; then forwarding (cache hits beside a dnsmasq caching
// forwarder, queries per pod lookup of an outside name); then a large cluster (scale). Never a
// pass/fail test.
//
//   npm run bench -- [--rounds N] [--seconds S] [--rate QPS] [--no-build] [--no-forward] [--scale | --no-scale]
//
// Needs ../shared/bench (anchors.sh, gen_zone.py). Results go to bench/results/<YYYY-MM-DD>T<HHMM>.json.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import dgram from 'node:dgram';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { generateScale } from './gen-scale.mjs';
import { programmingStep, profileStep } from './steps.mjs';

const T0 = Date.now();
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = path.resolve(REPO, '..', 'shared', 'bench');
const ANCHORS_SH = path.join(SHARED, 'anchors.sh');
const CLI = path.join(REPO, 'dist/cli/main.js');
const FLOOR_SERVER = path.join(REPO, 'bench', 'floor-server.mjs');
const HOST = '127.0.0.1';
const ANCHORS = ['nsd', 'dnsmasq']; // started through anchors.sh
const FLOOR = 'node-floor'; // bench/floor-server.mjs: Node's UDP path and nothing else
const BASES = [...ANCHORS, FLOOR]; // what clusterdns is divided by
const SERVERS = ['clusterdns', ...BASES];
const BIG_NAME = 'hl-big';
const BIG_NS = 'ns-00';
const BIG_ENDPOINTS = 100;
const WORKER_COUNTS = [1, 2];
const SCALE_LIMIT_S = 180; // the scale server must answer within this, or the step gives up
const SCALE_SECONDS = 5;
// CoreDNS's published memory estimate for its kubernetes plugin: (Pods + Services) / 1000 + 54 MB.
const coreDnsMb = (pods, services) => (pods + services) / 1000 + 54;
// Forwarding: outside names served by a dnsmasq "authority" on loopback, asked through clusterdns.
const FWD_NAMES = 1000;
const FWD_TTL = 3600;
const FWD_MIN_ROUNDS = 2;
const fwdName = (i) => `host-${String(i).padStart(4, '0')}.example.com`;
const fwdAddr = (i) => `198.18.${i >> 8}.${i & 255}`; // RFC 2544 benchmarking range
const LOOKUP_NAME = 'www.example.com';
const LOOKUP_ADDR = '192.0.2.80';
const POD_NS = 'default';
const POD_IP = HOST; // the pod of the autopath run: queries from 127.0.0.1 come from it
const SEARCH = [`${POD_NS}.svc.cluster.local`, 'svc.cluster.local', 'cluster.local']; // a pod's resolv.conf
const NDOTS = 5;
const LOOKUP_REPEATS = 200; // timed lookups after the first, within LOOKUP_LIMIT_MS
const LOOKUP_LIMIT_MS = 10_000;
const FWD_FORWARDER = 'dnsmasq-fwd';
const FWD_SERVERS = ['clusterdns', FWD_FORWARDER];

// ---------------------------------------------------------------- arguments

function usage(code) {
  console.log(`usage: npm run bench -- [--rounds N] [--seconds S] [--rate QPS] [--no-build] [--no-forward] [--scale | --no-scale]
  --rounds N    interleaved rounds of unlimited-rate runs (default 3)
  --seconds S   seconds per dnsperf run (default 10)
  --rate QPS    fixed query rate of the latency runs (default 20000)
  --no-build    use dist/ as it is, even when older than src/
  --no-forward  skip the forwarding step (outside names through --upstream, beside a dnsmasq forwarder)
  --scale       run only the scale step (20,000 Services, 100,000 endpoints, 50,000 Pods)
  --no-scale    skip the scale step that otherwise ends a full run
  --no-kubernetes  skip the propagation step of serve --kubernetes (fake API server, 1,000 Service changes)`);
  process.exit(code);
}

function parseArgs(argv) {
  const o = { rounds: 3, seconds: 10, rate: 20000, build: true, forward: true, scale: true, scaleOnly: false, kubernetes: true };
  const int = (name, v, min, max) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      console.error(`bench: ${name} must be an integer from ${min} to ${max}, got '${v}'`);
      process.exit(2);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? a.split(/=(.*)/s, 2) : [a, undefined];
    const next = () => inline ?? argv[++i];
    if (flag === '--rounds') o.rounds = int('--rounds', next(), 1, 20);
    else if (flag === '--seconds') o.seconds = int('--seconds', next(), 1, 60);
    else if (flag === '--rate') o.rate = int('--rate', next(), 100, 200000);
    else if (flag === '--no-build') o.build = false;
    else if (flag === '--no-forward') o.forward = false;
    else if (flag === '--no-kubernetes') o.kubernetes = false;
    else if (flag === '--scale') o.scaleOnly = true;
    else if (flag === '--no-scale') o.scale = false;
    else if (flag === '--help' || flag === '-h') usage(0);
    else {
      console.error(`bench: unknown argument '${a}'`);
      usage(2);
    }
  }
  if (o.scaleOnly && !o.scale) {
    console.error('bench: --scale and --no-scale contradict each other');
    process.exit(2);
  }
  return o;
}

// ---------------------------------------------------------------- processes

const children = new Set(); // every child process still running, by handle
const started = { anchors: [] }; // anchors cleanup must stop (by anchors.sh stop)
const managed = new Set(); // servers started by spawnServer, until stopServer
let anchorEnv = process.env;
let cleaning = null;
let interrupted = false; // after Ctrl-C, start nothing new but the stops

/** Runs a command to completion (bounded by timeoutMs); never rejects. */
function run(cmd, args, { timeoutMs = 60_000, env = process.env, cwd = REPO, always = false } = {}) {
  return new Promise((resolve) => {
    if (interrupted && !always) return resolve({ code: -1, out: '', err: 'interrupted', timedOut: false });
    let out = '';
    let err = '';
    let timedOut = false;
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 3000).unref();
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code: -1, out, err: err + String(e), timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code: code ?? (signal ? 128 : -1), out, err, timedOut });
    });
  });
}

const anchors = (args, timeoutMs) => run('bash', [ANCHORS_SH, ...args], { env: anchorEnv, timeoutMs, always: args[0] === 'stop' });

/** A loopback port free for both UDP and TCP at the time of asking. */
async function freePort(taken) {
  for (let tries = 0; tries < 50; tries++) {
    const port = await new Promise((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, HOST, () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
    if (taken.has(port)) continue;
    const udpFree = await new Promise((resolve) => {
      const u = dgram.createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, HOST, () => u.close(() => resolve(true)));
    });
    if (udpFree) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free loopback port found');
}

/** /proc/PID/stat fields after the command name (index 0 is field 3, the state). */
function statFields(pid) {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop().split(' ');
  } catch {
    return null;
  }
}

/** The process's start time in ticks since boot: with the pid, it names one process for sure. */
const startTime = (pid) => statFields(pid)?.[19] ?? null;

/**
 * Spawns a server process and keeps track of it until stopServer. With `log`, stdout is read as
 * clusterdns's JSON log: every "serving" record is kept, and `serving` resolves with the first one
 * (or rejects when the process exits first or `servingTimeoutMs` passes).
 */
function spawnServer(label, cmd, args, { log = false, servingTimeoutMs = 30_000 } = {}) {
  const child = spawn(cmd, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const entry = { label, child, pid: child.pid, tail: [], servingLines: [], workerServingLines: 0, serving: null, firstServingAt: null, spawnedAt: process.hrtime.bigint() };
  managed.add(entry);
  children.add(child);
  const keep = (line) => {
    entry.tail.push(line);
    if (entry.tail.length > 20) entry.tail.shift();
  };
  let resolveServing;
  let rejectServing;
  entry.serving = new Promise((res, rej) => ((resolveServing = res), (rejectServing = rej)));
  entry.serving.catch(() => {}); // a caller that does not wait for it must not see an unhandled rejection
  let done = false;
  const fail = (why) => {
    if (done) return;
    done = true;
    rejectServing(new Error(`${label} did not start: ${why}\n${entry.tail.join('\n')}`));
  };
  const timer = log ? setTimeout(() => fail(`no "serving" line within ${servingTimeoutMs / 1000} s`), servingTimeoutMs) : null;
  let buf = '';
  // Keep reading stdout for the whole run: a full pipe would block the server.
  child.stdout.on('data', (d) => {
    if (!log) return;
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      keep(line);
      let rec;
      try {
        rec = JSON.parse(line);
      } catch {
        continue;
      }
      if (rec.msg === 'worker serving') entry.workerServingLines++;
      if (rec.msg !== 'serving') continue;
      entry.servingLines.push(rec);
      if (done) continue;
      done = true;
      clearTimeout(timer);
      entry.firstServingAt = process.hrtime.bigint();
      resolveServing(rec);
    }
  });
  child.stderr.on('data', (d) => String(d).split('\n').filter(Boolean).forEach(keep));
  child.on('error', (e) => {
    clearTimeout(timer);
    fail(String(e));
  });
  child.on('exit', (code, signal) => {
    children.delete(child);
    clearTimeout(timer);
    fail(`exited with ${code ?? signal}`);
  });
  return entry;
}

/** Starts clusterdns and resolves with its pid and port once it logs "serving" (the first such line). */
async function startClusterdns(label, dir, { listen = `${HOST}:0`, http: httpAddr = `${HOST}:0`, upstream = 'none', extra = [] } = {}) {
  // --upstream is always given: names outside the cluster never go to the machine's resolv.conf servers.
  const args = [CLI, 'serve', '--manifests', dir, '--listen', listen, '--http', httpAddr, '--ttl', '30', '--upstream', upstream, ...extra];
  // Run the command line itself, as users do: its first line sets the V8 flags it serves with.
  const entry = spawnServer(label, CLI, args.slice(1), { log: true });
  let rec;
  try {
    rec = await entry.serving;
  } catch (e) {
    await stopServer(entry);
    throw e;
  }
  const port = rec.listen?.[0]?.port ?? Number(listen.split(':').pop());
  if (!port) throw new Error(`${label} "serving" line has no port: ${JSON.stringify(rec)}`);
  return { entry, pid: entry.pid, port, serving: rec };
}

/**
 * Stops a server started by spawnServer: SIGTERM, SIGKILL after 5 s, and the same for any of its
 * descendants (a server with several worker processes) still alive afterwards, each named by pid
 * and start time so that no other process is ever signalled.
 */
async function stopServer(entry) {
  if (!entry || !managed.has(entry)) return;
  managed.delete(entry);
  const c = entry.child;
  const running = () => c.exitCode === null && c.signalCode === null;
  const kids = running()
    ? treePids(c.pid)
        .filter((p) => p !== c.pid)
        .map((p) => ({ pid: p, start: startTime(p) }))
        .filter((k) => k.start !== null)
    : [];
  if (running()) {
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
  }
  const alive = (k) => startTime(k.pid) === k.start;
  for (let i = 0; i < 50 && kids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
  for (const k of kids.filter(alive)) {
    try {
      process.kill(k.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/** Stops everything this run started. Safe to call more than once. */
function cleanup() {
  cleaning ??= (async () => {
    const servers = new Set([...managed].map((e) => e.child));
    for (const c of children) if (!servers.has(c)) c.kill('SIGTERM');
    for (const e of [...managed]) await stopServer(e);
    for (const name of started.anchors.splice(0)) {
      const r = await anchors(['stop', name], 20_000);
      process.stdout.write(`  ${(r.out || r.err).trim()}\n`);
    }
  })();
  return cleaning;
}

function onSignal(sig) {
  interrupted = true;
  console.log(`\n${sig}: stopping the servers this run started`);
  cleanup().finally(() => {
    console.log(`total wall time ${((Date.now() - T0) / 1000).toFixed(1)} s (interrupted)`);
    process.exit(130);
  });
}
process.once('SIGINT', () => onSignal('SIGINT'));
process.once('SIGTERM', () => onSignal('SIGTERM'));
// Last resort if the process dies some other way: synchronous stops.
process.on('exit', () => {
  for (const e of managed) {
    if (e.child.exitCode !== null || e.child.signalCode !== null) continue;
    for (const p of treePids(e.child.pid).reverse()) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  for (const name of started.anchors) spawnSync('bash', [ANCHORS_SH, 'stop', name], { env: anchorEnv, timeout: 10_000 });
});

// ---------------------------------------------------------------- measuring

/** Parses one `anchors.sh bench` line: `LABEL qps=... avg_ms=... max_ms=... ... srv_cpu=... rcodes=...`. */
function parseBenchLine(text) {
  const line = text.split('\n').find((l) => /\bqps=/.test(l));
  if (!line) return null;
  const kv = {};
  for (const m of line.matchAll(/(\w+)=(\S+)/g)) kv[m[1]] = m[2];
  const num = (k) => (kv[k] === undefined || kv[k] === '' ? null : Number(kv[k]));
  const qps = num('qps');
  const srvCores = num('srv_cpu');
  return {
    qps,
    avg_ms: num('avg_ms'),
    max_ms: num('max_ms'),
    sd_ms: num('sd_ms'),
    lost: num('lost'),
    lost_pct: kv.lost_pct !== undefined ? Number(String(kv.lost_pct).replace('%', '')) : null,
    sent: num('sent'),
    srv_cores: srvCores,
    cpu_us_per_q: srvCores !== null && qps ? (srvCores * 1e6) / qps : null,
    cli_cores: num('cli_cpu'),
    rcodes: kv.rcodes ?? null,
    line: line.trim(),
  };
}

/**
 * Memory of a process tree in kB: VmRSS and PSS summed over the tree (`anchors.sh mem`), with the
 * root's /proc/PID/status VmRSS as fallback. PSS splits pages shared between nsd's processes.
 */
async function memKb(pid) {
  const r = await anchors(['mem', String(pid)], 10_000);
  const rss = /rss_kb=(\d+)/.exec(r.out);
  const pss = /pss_kb=(\d+)/.exec(r.out);
  if (rss && Number(rss[1]) > 0) return { rss_kb: Number(rss[1]), pss_kb: pss && Number(pss[1]) > 0 ? Number(pss[1]) : null };
  try {
    const v = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { rss_kb: v ? Number(v[1]) : null, pss_kb: null };
  } catch {
    return { rss_kb: null, pss_kb: null };
  }
}

/** The pid and all its descendants, from /proc (nsd serves from forked children). */
function treePids(root) {
  const parent = new Map();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const after = readFileSync(`/proc/${e}/stat`, 'utf8').split(') ').pop().split(' ');
      parent.set(Number(e), Number(after[1]));
    } catch {
      // the process is gone
    }
  }
  const tree = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [p, pp] of parent) if (!tree.has(p) && tree.has(pp)) (tree.add(p), (grew = true));
  }
  return [...tree];
}

/** utime + stime ticks summed over a process tree. */
function cpuTicks(root) {
  let t = 0;
  for (const pid of treePids(root)) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop().split(' ');
      t += Number(f[11]) + Number(f[12]);
    } catch {
      if (pid === root) return null;
    }
  }
  return t;
}

/** The pid of each server whose CPU and memory are measured (the anchors' recorded pids). */
function anchorPid(benchWork, name) {
  try {
    return Number(readFileSync(path.join(benchWork, 'run', `${name}.pid`), 'utf8').trim());
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- formatting

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const h = v.length >> 1;
  return v.length % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
};
const ratio = (a, b) => (typeof a === 'number' && typeof b === 'number' && b !== 0 ? a / b : null);
const f = (x, d = 0) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));
const fx = (x) => (x === null || x === undefined ? '-' : `${x.toFixed(2)}x`);
const mb = (kb) => (typeof kb === 'number' ? kb / 1024 : null);
const pad = (s, n) => String(s).padStart(n);
const padr = (s, n) => String(s).padEnd(n);

const HEAD = `${padr('server', 11)} ${pad('qps', 8)} ${pad('cpu_us/q', 9)} ${pad('avg_ms', 8)} ${pad('max_ms', 8)} ${pad('lost%', 6)} ${pad('rss_MB', 7)} ${pad('pss_MB', 7)}`;
function row(name, m) {
  return `${padr(name, 11)} ${pad(f(m.qps), 8)} ${pad(f(m.cpu_us_per_q, 1), 9)} ${pad(f(m.avg_ms, 3), 8)} ${pad(f(m.max_ms, 2), 8)} ${pad(f(m.lost_pct, 2), 6)} ${pad(f(mb(m.rss_kb), 1), 7)} ${pad(f(mb(m.pss_kb), 1), 7)}`;
}
const banner = (s) => console.log(`\n${'!'.repeat(78)}\n!! ${s}\n${'!'.repeat(78)}`);
const section = (s) => console.log(`\n== ${s}`);

// ---------------------------------------------------------------- steps

function newestMtime(dir, filter) {
  let newest = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (filter(e.name)) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(dir);
  return newest;
}

async function ensureBuilt(opts, result) {
  const main = path.join(REPO, 'dist/cli/main.js');
  const srcNewest = newestMtime(path.join(REPO, 'src'), (n) => n.endsWith('.ts') && !n.endsWith('.test.ts'));
  const distOldest = existsSync(main) ? statSync(main).mtimeMs : 0;
  const stale = !existsSync(main) || srcNewest > distOldest;
  result.build = { dist_stale: stale, built: false };
  if (!stale) return;
  if (!opts.build && existsSync(main)) {
    console.log('note: dist/ is older than src/ (--no-build): measuring the code in dist/');
    return;
  }
  console.log('building (dist/ is missing or older than src/): npm run build');
  const r = await run('npm', ['run', '--silent', 'build'], { timeoutMs: 180_000 });
  result.build.built = r.code === 0;
  if (r.code !== 0) {
    const msg = (r.out + r.err).trim().split('\n').slice(-10).join('\n');
    if (!existsSync(main)) throw new Error(`npm run build failed and dist/ is missing:\n${msg}`);
    banner('npm run build FAILED: measuring whatever dist/ holds now');
    console.log(msg);
    result.build.error = msg;
  }
}

/** Headless Services and their ready endpoint counts, from EndpointSlices in a manifest. */
function headlessSizes(yamlText) {
  const headless = new Set();
  const sizes = new Map();
  for (const doc of parseAllDocuments(yamlText)) {
    const o = doc.toJS();
    if (!o || typeof o !== 'object') continue;
    const ns = o.metadata?.namespace ?? 'default';
    if (o.kind === 'Service' && o.spec?.clusterIP === 'None') headless.add(`${ns}/${o.metadata.name}`);
    if (o.kind === 'EndpointSlice') {
      const svc = o.metadata?.labels?.['kubernetes.io/service-name'];
      const n = (o.endpoints ?? []).filter((e) => e?.conditions?.ready !== false).reduce((a, e) => a + (e.addresses?.length ?? 0), 0);
      if (svc) sizes.set(`${ns}/${svc}`, (sizes.get(`${ns}/${svc}`) ?? 0) + n);
    }
  }
  return [...headless].map((k) => ({ key: k, endpoints: sizes.get(k) ?? 0 })).sort((a, b) => b.endpoints - a.endpoints);
}

/** A headless Service with `n` ready endpoints (10.243.0.x) in an existing namespace, as one manifest. */
function bigHeadlessManifest(n) {
  const eps = [];
  for (let k = 0; k < n; k++) {
    eps.push(`- addresses:\n  - 10.243.${(k + 1) >> 8}.${(k + 1) & 255}\n  hostname: ${BIG_NAME}-${k}\n  conditions:\n    ready: true\n`);
  }
  return (
    `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${BIG_NAME}\n  namespace: ${BIG_NS}\n` +
    `spec:\n  clusterIP: None\n  clusterIPs:\n  - None\n  selector:\n    app: ${BIG_NAME}\n` +
    `  ports:\n  - name: http\n    port: 80\n    protocol: TCP\n    targetPort: 80\n---\n` +
    `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: ${BIG_NAME}-slice0\n  namespace: ${BIG_NS}\n` +
    `  labels:\n    kubernetes.io/service-name: ${BIG_NAME}\naddressType: IPv4\n` +
    `ports:\n- name: http\n  port: 80\n  protocol: TCP\nendpoints:\n${eps.join('')}`
  );
}

/** One dig, summarised: status, flags, section counts, message size. */
async function dig(port, qname, qtype, extra) {
  const r = await run('dig', ['+time=2', '+tries=1', '-p', String(port), `@${HOST}`, qname, qtype, ...extra], { timeoutMs: 15_000 });
  const text = r.out;
  const flags = (/;; flags: ([^;]*);/.exec(text)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
  const count = (s) => Number(new RegExp(`${s}: (\\d+)`).exec(text)?.[1] ?? NaN);
  const answerRecords = text
    .split('\n')
    .filter((l) => l && !l.startsWith(';'))
    .filter((l) => l.split(/\s+/)[3] === qtype).length;
  return {
    args: extra.join(' '),
    status: /status: ([A-Z]+)/.exec(text)?.[1] ?? null,
    flags,
    tc: flags.includes('tc'),
    answer: count('ANSWER'),
    additional: count('ADDITIONAL'),
    answer_records_printed: answerRecords,
    msg_size: Number(/MSG SIZE\s+rcvd: (\d+)/.exec(text)?.[1] ?? NaN),
    ok: r.code === 0,
  };
}

/** dnsperf over TCP, run directly (anchors.sh bench has no transport switch); server CPU read from /proc. */
async function tcpRun(label, port, pid, seconds, dataDir) {
  const hz = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;
  const c0 = cpuTicks(pid);
  const t0 = process.hrtime.bigint();
  const r = await run(
    'dnsperf',
    ['-m', 'tcp', '-s', HOST, '-p', String(port), '-d', path.join(dataDir, 'queries.txt'), '-l', String(seconds), '-c', '10', '-t', '2'],
    { timeoutMs: (seconds + 30) * 1000 },
  );
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c1 = cpuTicks(pid);
  const o = r.out;
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(o)?.[1] ?? NaN);
  const lat = /Average Latency \(s\):\s+([\d.]+)\s+\(min ([\d.]+), max ([\d.]+)\)/.exec(o);
  const lost = /Queries lost:\s+(\d+)\s+\(([\d.]+)%\)/.exec(o);
  const cores = c0 !== null && c1 !== null ? (c1 - c0) / hz / wall : null;
  const m = {
    qps: Number.isFinite(qps) ? qps : null,
    avg_ms: lat ? Number(lat[1]) * 1000 : null,
    max_ms: lat ? Number(lat[3]) * 1000 : null,
    lost: lost ? Number(lost[1]) : null,
    lost_pct: lost ? Number(lost[2]) : null,
    srv_cores: cores,
    cpu_us_per_q: cores !== null && qps ? (cores * 1e6) / qps : null,
    ...(await memKb(pid)),
  };
  if (m.qps === null) m.error = (o + r.err).trim().split('\n').slice(-5).join(' | ');
  return m;
}

// ---------------------------------------------------------------- small DNS and HTTP clients

const QTYPES = { A: 1, SRV: 33, AAAA: 28 };

/** A DNS query message (RD set), for probes. */
function encodeQuery(id, qname, qtype) {
  const parts = [Buffer.from([id >> 8, id & 255, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])];
  for (const l of qname.replace(/\.$/, '').split('.')) parts.push(Buffer.from([l.length]), Buffer.from(l, 'ascii'));
  const t = QTYPES[qtype] ?? Number(qtype);
  parts.push(Buffer.from([0, t >> 8, t & 255, 0, 1]));
  return Buffer.concat(parts);
}

/** Offset just past a (possibly compressed) name, or -1. */
function skipName(b, o) {
  while (o < b.length) {
    const n = b[o];
    if (n === 0) return o + 1;
    if ((n & 0xc0) === 0xc0) return o + 2;
    o += n + 1;
  }
  return -1;
}

/** Just enough of a response: id, rcode, tc, the answer count, the answer types and the A records. */
function parseResponse(b) {
  if (b.length < 12) return null;
  const flags = b.readUInt16BE(2);
  const qd = b.readUInt16BE(4);
  const an = b.readUInt16BE(6);
  let o = 12;
  for (let i = 0; i < qd; i++) {
    o = skipName(b, o);
    if (o < 0) return null;
    o += 4;
  }
  const a = [];
  const types = [];
  for (let i = 0; i < an; i++) {
    o = skipName(b, o);
    if (o < 0 || o + 10 > b.length) break;
    const type = b.readUInt16BE(o);
    const len = b.readUInt16BE(o + 8);
    types.push(type === 1 ? 'A' : type === 5 ? 'CNAME' : String(type));
    o += 10;
    if (type === 1 && len === 4 && o + 4 <= b.length) a.push(`${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`);
    o += len;
  }
  return { id: b.readUInt16BE(0), qr: (flags & 0x8000) !== 0, tc: (flags & 0x0200) !== 0, rcode: flags & 15, an, types, a };
}

/** One UDP query to 127.0.0.1:port; resolves with the parsed response, or null after timeoutMs. */
function udpQuery(port, qname, qtype, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const id = (Math.random() * 65536) | 0;
    const done = (v) => {
      clearTimeout(t);
      sock.close();
      resolve(v);
    };
    const t = setTimeout(() => done(null), timeoutMs);
    sock.on('error', () => done(null));
    sock.on('message', (m) => {
      const r = parseResponse(m);
      if (r && r.id === id) done(r);
    });
    sock.send(encodeQuery(id, qname, qtype), port, HOST);
  });
}

/** Polls until a UDP query gets any response (or limitMs passes); true when it did. */
async function waitAnswering(port, qname, limitMs, check = () => true) {
  const until = Date.now() + limitMs;
  while (Date.now() < until && !interrupted) {
    const r = await udpQuery(port, qname, 'A', 500);
    if (r && check(r)) return true;
    await new Promise((res) => setTimeout(res, 100));
  }
  return false;
}

/** GET http://127.0.0.1:port/path; resolves with the status code, or null on error or after timeoutMs. */
function httpStatus(port, urlPath, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path: urlPath, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? null);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/** VmRSS and VmHWM (peak) of one process, in kB. */
function vmKb(pid) {
  try {
    const t = readFileSync(`/proc/${pid}/status`, 'utf8');
    const v = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(t)?.[1] ?? NaN);
    return { rss_kb: v('VmRSS'), peak_kb: v('VmHWM') };
  } catch {
    return { rss_kb: null, peak_kb: null };
  }
}

const sinceS = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

// ---------------------------------------------------------------- workers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const WHEAD = `${padr('workers', 8)} ${pad('qps', 8)} ${pad('cpu_us/q', 9)} ${pad('cores', 6)} ${pad('avg_ms', 8)} ${pad('lost%', 6)} ${pad('procs', 5)} ${pad('rss_MB', 7)} ${pad('pss_MB', 7)}`;
const wrow = (n, m) =>
  `${padr(n, 8)} ${pad(f(m.qps), 8)} ${pad(f(m.cpu_us_per_q, 1), 9)} ${pad(f(m.srv_cores, 2), 6)} ${pad(f(m.avg_ms, 3), 8)} ${pad(f(m.lost_pct, 2), 6)} ${pad(f(m.procs), 5)} ${pad(f(mb(m.rss_kb), 1), 7)} ${pad(f(mb(m.pss_kb), 1), 7)}`;

/**
 * One saturating run per worker count, when `serve` has --workers: same dnsperf settings as the
 * rounds, server CPU and memory summed over the server's whole process tree.
 */
async function workersStep(opts, served, result) {
  section(`workers: clusterdns serve --workers N, one run each (dnsperf -c 10, unlimited rate, ${opts.seconds} s)`);
  const helpRun = await run(process.execPath, [CLI, 'serve', '--help'], { timeoutMs: 30_000 });
  const help = helpRun.out + helpRun.err;
  if (!/--workers\b/.test(help)) {
    console.log('workers: serve has no --workers flag yet; skipped');
    result.workers = { available: false };
    return help;
  }
  const w = { available: true, runs: {} };
  result.workers = w;
  console.log(WHEAD);
  for (const n of WORKER_COUNTS) {
    if (interrupted) break;
    let cd = null;
    let m;
    try {
      // A port chosen beforehand: every worker binds the same one.
      const port = await freePort(new Set());
      cd = await startClusterdns(`clusterdns --workers ${n}`, served, { listen: `${HOST}:${port}`, http: 'none', extra: ['--workers', String(n)] });
      // The first "serving" line gives the port. It may stand for all workers (it then counts them) or
      // for one; in that case give the others up to 10 s to log theirs. Then check an answer.
      const all = () =>
        Number(cd.serving.workers) >= n || cd.entry.servingLines.length >= n || cd.entry.workerServingLines >= n;
      for (let i = 0; i < 100 && !all(); i++) await sleep(100);
      const ok = await waitAnswering(cd.port, 'svc-0000.ns-00.svc.cluster.local', 10_000, (r) => r.rcode === 0 && r.a.length > 0);
      if (!ok) throw new Error(`no answer on ${HOST}:${cd.port} within 10 s`);
      const procs = treePids(cd.pid).length;
      const b = await anchors(['bench', `workers-${n}`, `${HOST}:${cd.port}`, String(opts.seconds), '0', '10', String(cd.pid)], (opts.seconds + 40) * 1000);
      m = parseBenchLine(b.out) ?? { error: (b.out + b.err).trim() };
      Object.assign(m, await memKb(cd.pid), { procs, serving_lines: cd.entry.servingLines.length, worker_serving_lines: cd.entry.workerServingLines, port: cd.port });
    } catch (e) {
      m = { error: (e instanceof Error ? e.message : String(e)).split('\n')[0] };
    } finally {
      if (cd) await stopServer(cd.entry);
    }
    w.runs[n] = m;
    console.log(`${wrow(n, m)}${m.error ? `  ERROR ${m.error}` : ''}`);
  }
  const [a, b] = WORKER_COUNTS.map((n) => w.runs[n]);
  if (a && b) {
    w.ratio_qps = ratio(b.qps, a.qps);
    w.ratio_cpu_us_per_q = ratio(b.cpu_us_per_q, a.cpu_us_per_q);
    console.log(`workers ${WORKER_COUNTS[1]}/${WORKER_COUNTS[0]}: qps ${fx(w.ratio_qps)} cpu/q ${fx(w.ratio_cpu_us_per_q)}`);
  }
  return help;
}

// ---------------------------------------------------------------- forwarding

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
const rcodeName = (n) => RCODE_NAMES[n] ?? `RCODE${n}`;

/** A dnsmasq config on 127.0.0.1:port that reads nothing of the machine's (no resolv.conf, no /etc/hosts). */
function writeDnsmasqConf(file, port, lines) {
  const base = [`listen-address=${HOST}`, 'bind-interfaces', `port=${port}`, 'no-resolv', 'no-hosts', 'no-poll', 'pid-file=', 'log-facility=-'];
  if (process.getuid?.() === 0) base.push('user=root');
  writeFileSync(file, [...base, ...lines].join('\n') + '\n');
}

/** Starts `dnsmasq -k -C conf` (it stays in the foreground: its pid is the server's) and waits for a right answer. */
async function startDnsmasq(label, conf, port) {
  const entry = spawnServer(label, 'dnsmasq', ['-k', '-C', conf]);
  const ok = await waitAnswering(port, fwdName(1), 10_000, (r) => r.rcode === 0 && r.a.includes(fwdAddr(1)));
  if (!ok) {
    const tail = entry.tail.join('\n');
    await stopServer(entry);
    throw new Error(`${label} (dnsmasq) did not answer ${fwdName(1)} on ${HOST}:${port} within 10 s\n${tail}`);
  }
  return { entry, pid: entry.pid, port };
}

/** `dig NAME A` on one server: the A records of the answer with their TTLs, and the status. */
async function digA(port, qname) {
  const r = await run('dig', ['+time=2', '+tries=1', '-p', String(port), `@${HOST}`, qname, 'A', '+noall', '+comments', '+answer'], { timeoutMs: 15_000 });
  const recs = r.out
    .split('\n')
    .filter((l) => l && !l.startsWith(';'))
    .map((l) => l.split(/\s+/))
    .filter((w) => w[3] === 'A')
    .map((w) => ({ ttl: Number(w[1]), addr: w[4] }));
  return { status: /status: ([A-Z]+)/.exec(r.out)?.[1] ?? null, a: recs.map((x) => x.addr), ttl: recs[0]?.ttl ?? null };
}

/** One pass of dnsperf over a query file (-n 1), at most 50 outstanding: fills a cache. */
async function warmPass(port, queryFile) {
  const r = await run('dnsperf', ['-s', HOST, '-p', String(port), '-d', queryFile, '-n', '1', '-c', '1', '-q', '50', '-t', '2', '-l', '60'], { timeoutMs: 90_000 });
  const num = (re) => Number(re.exec(r.out)?.[1] ?? NaN);
  const m = {
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    rcodes: (/Response codes:\s*(.*)/.exec(r.out)?.[1] ?? '').replace(/ /g, '') || null,
  };
  for (const k of ['sent', 'completed', 'lost']) if (!Number.isFinite(m[k])) m[k] = null;
  if (m.completed === null) m.error = (r.out + r.err).trim().split('\n').slice(-5).join(' | ');
  return m;
}

/** The names a stub resolver tries for `name`, in order: with ndots:5, the search list first unless the name has 5 dots. */
function searchOrder(name) {
  const dots = name.split('.').length - 1;
  const withSearch = SEARCH.map((d) => `${name}.${d}`);
  return dots >= NDOTS ? [name, ...withSearch] : [...withSearch, name];
}

/**
 * One lookup of `name` as glibc's resolver does it for an A question (res_nsearch): the candidates of
 * searchOrder one after another, on to the next after NXDOMAIN, NOERROR without records or SERVFAIL,
 * stopping at the first NOERROR with records (or any other failure). Every query goes to 127.0.0.1:port.
 */
async function lookupLikeGlibc(port, name) {
  const t0 = process.hrtime.bigint();
  const steps = [];
  let answer = null;
  for (const qname of searchOrder(name)) {
    const tq = process.hrtime.bigint();
    const r = await udpQuery(port, qname, 'A', 2000);
    const step = { qname, rcode: r ? rcodeName(r.rcode) : 'timeout', answers: r?.an ?? 0, types: r?.types ?? [], a: r?.a ?? [], ms: sinceS(tq) * 1000 };
    steps.push(step);
    if (!r) break;
    if (r.rcode === 0 && r.an > 0) {
      answer = step;
      break;
    }
    if (!(r.rcode === 3 || r.rcode === 0 || r.rcode === 2)) break;
  }
  return { queries: steps.length, ms: sinceS(t0) * 1000, answered: answer !== null, answer, steps };
}

/** The first lookup (the outside name not cached yet), then up to LOOKUP_REPEATS more, timed. */
async function countLookups(port, name, expectAddr) {
  const first = await lookupLikeGlibc(port, name);
  const times = [];
  const queries = [];
  const until = Date.now() + LOOKUP_LIMIT_MS;
  for (let i = 0; i < LOOKUP_REPEATS && Date.now() < until && !interrupted; i++) {
    const l = await lookupLikeGlibc(port, name);
    times.push(l.ms);
    queries.push(l.queries);
    if (!l.answered) break;
  }
  const last = first.steps.at(-1);
  const before = first.steps.slice(0, -1);
  const byRcode = {};
  for (const s of before) byRcode[s.rcode] = (byRcode[s.rcode] ?? 0) + 1;
  const how = [...Object.entries(byRcode).map(([k, v]) => `${v} ${k}`), first.answered ? `1 answer` : `1 ${last?.rcode ?? '-'}`].join(' + ');
  return {
    name,
    search: SEARCH,
    ndots: NDOTS,
    queries: first.queries,
    breakdown: how,
    answered: first.answered,
    correct: first.answered && first.answer.a.includes(expectAddr),
    answer_types: first.answer?.types ?? [],
    first_ms: first.ms,
    steps: first.steps,
    repeats: times.length,
    repeat_queries_mean: queries.length ? queries.reduce((a, b) => a + b, 0) / queries.length : null,
    repeat_ms_mean: times.length ? times.reduce((a, b) => a + b, 0) / times.length : null,
    repeat_ms_median: median(times),
  };
}

const lookupLine = (l) => {
  if (!l) return '-';
  if (l.error) return `ERROR ${l.error}`;
  const chain = l.answer_types.length ? ` [${l.answer_types.join(' ')}]` : '';
  return (
    `${l.queries} (${l.breakdown}${chain})${l.correct ? '' : ' WRONG ANSWER'}; first lookup ${f(l.first_ms, 2)} ms (not cached),` +
    ` then ${f(l.repeat_ms_mean, 3)} ms mean over ${l.repeats} lookups`
  );
};

/**
 * Names outside the cluster domain, forwarded: a dnsmasq "authority" answers FWD_NAMES names; clusterdns
 * (--upstream to it) and a dnsmasq caching forwarder in front of the same authority are warmed with one
 * pass and measured on cache hits, interleaved. Then the queries a pod's resolver sends for one
 * outside name, without and (when serve has it) with --autopath.
 */
async function forwardStep(opts, served, tmp, result, help) {
  const rounds = Math.max(FWD_MIN_ROUNDS, opts.rounds);
  section(
    `forwarding: ${int(FWD_NAMES)} outside names (TTL ${FWD_TTL}) from a dnsmasq authority; cache hits of clusterdns --upstream and a dnsmasq caching forwarder,` +
      ` ${rounds} interleaved round(s) x ${opts.seconds} s, dnsperf -c 10, unlimited rate`,
  );
  const fw = { names: FWD_NAMES, ttl: FWD_TTL, rounds, seconds: opts.seconds };
  result.forward = fw;
  const dir = path.join(tmp, 'forward');
  mkdirSync(dir, { recursive: true });
  const hosts = [];
  const queries = [];
  for (let i = 1; i <= FWD_NAMES; i++) {
    hosts.push(`${fwdAddr(i)} ${fwdName(i)}`);
    queries.push(`${fwdName(i)} A`);
  }
  hosts.push(`${LOOKUP_ADDR} ${LOOKUP_NAME}`);
  writeFileSync(path.join(dir, 'hosts'), hosts.join('\n') + '\n');
  writeFileSync(path.join(dir, 'queries.txt'), queries.join('\n') + '\n');
  const queryFile = path.join(dir, 'queries.txt');

  const stops = [];
  try {
    const taken = new Set();
    const authPort = await freePort(taken);
    writeDnsmasqConf(path.join(dir, 'authority.conf'), authPort, [`addn-hosts=${path.join(dir, 'hosts')}`, `local-ttl=${FWD_TTL}`]);
    const auth = await startDnsmasq('authority', path.join(dir, 'authority.conf'), authPort);
    stops.push(auth.entry);
    fw.authority = { port: authPort, pid: auth.pid, command: `dnsmasq -k -C authority.conf (addn-hosts, local-ttl=${FWD_TTL}, no-resolv)` };
    console.log(`authority: dnsmasq pid ${auth.pid} on ${HOST}:${authPort}, ${int(FWD_NAMES)} names ${fwdName(1)} .. ${fwdName(FWD_NAMES)} plus ${LOOKUP_NAME}, TTL ${FWD_TTL}`);

    const fwdPort = await freePort(taken);
    writeDnsmasqConf(path.join(dir, 'forwarder.conf'), fwdPort, [`server=${HOST}#${authPort}`, 'cache-size=10000']);
    const fwd = await startDnsmasq(FWD_FORWARDER, path.join(dir, 'forwarder.conf'), fwdPort);
    stops.push(fwd.entry);
    console.log(`${FWD_FORWARDER}: dnsmasq pid ${fwd.pid} on ${HOST}:${fwdPort} (server=${HOST}#${authPort} cache-size=10000 no-resolv)`);

    const cd = await startClusterdns('clusterdns (forward)', served, { upstream: `${HOST}:${authPort}` });
    stops.push(cd.entry);
    console.log(`clusterdns pid ${cd.pid} on ${HOST}:${cd.port} (--upstream ${HOST}:${authPort}, --cache-size default)`);
    const ports = { clusterdns: cd.port, [FWD_FORWARDER]: fwdPort };
    const pids = { clusterdns: cd.pid, [FWD_FORWARDER]: fwd.pid };
    fw.servers = Object.fromEntries(FWD_SERVERS.map((s) => [s, { port: ports[s], pid: pids[s] }]));

    // Right answers first, from both.
    const sample = [1, 2, Math.ceil(FWD_NAMES / 2), FWD_NAMES];
    fw.check = {};
    let bad = 0;
    for (const s of FWD_SERVERS) {
      const got = [];
      for (const i of sample) {
        const d = await digA(ports[s], fwdName(i));
        const ok = d.status === 'NOERROR' && d.a.length === 1 && d.a[0] === fwdAddr(i);
        if (!ok) bad++;
        got.push({ qname: fwdName(i), want: fwdAddr(i), ...d, ok });
      }
      fw.check[s] = got;
      console.log(`check ${padr(s, 11)} ${got.map((g) => `${g.qname.split('.')[0]} ${g.ok ? 'ok' : `WRONG (${g.status} ${g.a.join(',') || '-'})`} ttl ${g.ttl ?? '-'}`).join(', ')}`);
    }
    fw.check_ok = bad === 0;
    if (bad) banner(`forwarding answer check FAILED (${bad} wrong): the figures below measure wrong answers`);

    // One pass over the names fills both caches.
    fw.warm = {};
    for (const s of FWD_SERVERS) {
      const w = await warmPass(ports[s], queryFile);
      fw.warm[s] = w;
      console.log(`warm  ${padr(s, 11)} one pass: ${f(w.completed)}/${f(w.sent)} answered, lost ${f(w.lost)}, rcodes ${w.rcodes ?? '-'}${w.error ? `  ERROR ${w.error}` : ''}`);
    }

    // Interleaved rounds on cache hits; the authority's CPU over them shows whether any query missed.
    console.log(`round  ${HEAD}`);
    const hz = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;
    const authTicks0 = cpuTicks(auth.pid);
    const runs = [];
    for (let r = 0; r < rounds && !interrupted; r++) {
      const order = FWD_SERVERS.map((_, i) => FWD_SERVERS[(i + r) % FWD_SERVERS.length]);
      const byServer = {};
      for (const s of order) {
        const b = await run('bash', [ANCHORS_SH, 'bench', `fwd-${s}-r${r + 1}`, `${HOST}:${ports[s]}`, String(opts.seconds), '0', '10', String(pids[s])], {
          env: { ...anchorEnv, DATA: dir },
          timeoutMs: (opts.seconds + 40) * 1000,
        });
        const m = parseBenchLine(b.out) ?? { error: (b.out + b.err).trim() };
        Object.assign(m, await memKb(pids[s]));
        m.server = s;
        m.round = r + 1;
        runs.push(m);
        byServer[s] = m;
        if (interrupted) break;
        console.log(`${pad(r + 1, 5)}  ${row(s, m)}  rcodes ${m.rcodes ?? '-'}${m.error ? `  ERROR ${m.error}` : ''}`);
      }
      if (interrupted) break;
      const c = byServer.clusterdns;
      const d = byServer[FWD_FORWARDER];
      console.log(`${pad(r + 1, 5)}  round ratios clusterdns/${FWD_FORWARDER}: qps ${fx(ratio(c?.qps, d?.qps))} cpu/q ${fx(ratio(c?.cpu_us_per_q, d?.cpu_us_per_q))}`);
    }
    const authTicks1 = cpuTicks(auth.pid);
    fw.authority.cpu_s_during_runs = authTicks0 !== null && authTicks1 !== null ? (authTicks1 - authTicks0) / hz : null;
    fw.runs = runs;
    fw.medians = {};
    for (const s of FWD_SERVERS) {
      const rs = runs.filter((x) => x.server === s);
      fw.medians[s] = Object.fromEntries(['qps', 'cpu_us_per_q', 'avg_ms', 'max_ms', 'lost_pct', 'rss_kb', 'pss_kb', 'srv_cores', 'cli_cores'].map((k) => [k, median(rs.map((x) => x[k]))]));
    }
    const mc = fw.medians.clusterdns;
    const md = fw.medians[FWD_FORWARDER];
    fw.ratios = {
      [`clusterdns/${FWD_FORWARDER}`]: {
        qps: ratio(mc.qps, md.qps),
        cpu_us_per_q: ratio(mc.cpu_us_per_q, md.cpu_us_per_q),
        avg_ms: ratio(mc.avg_ms, md.avg_ms),
        rss_kb: ratio(mc.rss_kb, md.rss_kb),
      },
    };
    console.log(`authority CPU during the rounds: ${f(fw.authority.cpu_s_during_runs, 2)} s (near 0: the rounds were cache hits)`);

    // Queries per pod lookup of an outside name, as a pod's resolver sends them.
    section(`forwarding: queries per lookup of ${LOOKUP_NAME} by a pod in namespace ${POD_NS} (search ${SEARCH.join(' ')}, ndots:${NDOTS}, A only)`);
    fw.lookup = await countLookups(cd.port, LOOKUP_NAME, LOOKUP_ADDR);
    for (const s of fw.lookup.steps) console.log(`  ${padr(s.qname, 48)} ${padr(s.rcode, 8)} answers ${s.answers}${s.types.length ? ` [${s.types.join(' ')}]` : ''} ${f(s.ms, 2)} ms`);
    console.log(`queries per lookup of ${LOOKUP_NAME}: ${lookupLine(fw.lookup)}`);
    await stopServer(cd.entry);

    if (!/--autopath\b/.test(help)) {
      fw.autopath = { available: false };
      console.log('autopath: serve has no --autopath flag yet; skipped');
    } else {
      // The same cluster plus one Pod in `default` whose IP is 127.0.0.1: the queries of this run are its.
      const apDir = path.join(tmp, 'manifests-autopath');
      mkdirSync(apDir, { recursive: true });
      for (const e of readdirSync(served)) copyFileSync(path.join(served, e), path.join(apDir, e));
      writeFileSync(path.join(apDir, 'zz-bench-pod.yaml'), benchPodManifest());
      fw.autopath = { available: true, pod: { namespace: POD_NS, name: 'bench-client', ip: POD_IP } };
      let ap = null;
      try {
        ap = await startClusterdns('clusterdns (autopath)', apDir, { upstream: `${HOST}:${authPort}`, extra: ['--pods', 'verified', '--autopath'] });
        stops.push(ap.entry);
        console.log(`clusterdns --pods verified --autopath pid ${ap.pid} on ${HOST}:${ap.port} (Pod ${POD_NS}/bench-client at ${POD_IP})`);
        Object.assign(fw.autopath, await countLookups(ap.port, LOOKUP_NAME, LOOKUP_ADDR));
        for (const s of fw.autopath.steps) console.log(`  ${padr(s.qname, 48)} ${padr(s.rcode, 8)} answers ${s.answers}${s.types.length ? ` [${s.types.join(' ')}]` : ''} ${f(s.ms, 2)} ms`);
        fw.autopath.ratio_queries = ratio(fw.autopath.queries, fw.lookup.queries);
        fw.autopath.ratio_repeat_ms = ratio(fw.autopath.repeat_ms_mean, fw.lookup.repeat_ms_mean);
        console.log(`autopath: queries per lookup of ${LOOKUP_NAME}: ${lookupLine(fw.autopath)}`);
      } catch (e) {
        fw.autopath.error = (e instanceof Error ? e.message : String(e)).split('\n')[0];
        banner(`autopath: ${fw.autopath.error}`);
      } finally {
        if (ap) await stopServer(ap.entry);
      }
    }
  } catch (e) {
    fw.error = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    banner(`forwarding step stopped: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    for (const e of stops.reverse()) await stopServer(e);
  }
  if (!fw.error) {
    console.log('');
    forwardSummary(fw);
  }
}

/** A Namespace `default` and one running Pod in it whose IP is POD_IP. */
function benchPodManifest() {
  return (
    `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${POD_NS}\n---\n` +
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: bench-client\n  namespace: ${POD_NS}\n` +
    `spec:\n  containers:\n  - name: client\n    image: busybox\n  dnsPolicy: ClusterFirst\n` +
    `status:\n  phase: Running\n  podIP: ${POD_IP}\n  podIPs:\n  - ip: ${POD_IP}\n`
  );
}

function forwardSummary(fw) {
  if (!fw) return;
  if (fw.error) {
    console.log(`forward: ${fw.error}`);
    return;
  }
  console.log(
    `forward: ${int(fw.names)} names *.example.com (TTL ${fw.ttl}) from a dnsmasq authority, cache hits, medians of ${fw.rounds} round(s) x ${fw.seconds} s, dnsperf -c 10` +
      `${fw.check_ok ? '' : ' (answer check FAILED)'}`,
  );
  console.log(`forward ${HEAD}`);
  for (const s of FWD_SERVERS) console.log(`forward ${row(s, fw.medians[s])}`);
  const q = fw.ratios[`clusterdns/${FWD_FORWARDER}`];
  console.log(`forward clusterdns/${FWD_FORWARDER}: qps ${fx(q.qps)} cpu/q ${fx(q.cpu_us_per_q)} avg_ms ${fx(q.avg_ms)} rss ${fx(q.rss_kb)}; authority CPU during the rounds ${f(fw.authority.cpu_s_during_runs, 2)} s`);
  console.log(`queries per lookup of ${LOOKUP_NAME}: ${lookupLine(fw.lookup)}`);
  const ap = fw.autopath;
  if (!ap?.available) console.log('autopath: serve has no --autopath flag yet; skipped');
  else if (ap.error) console.log(`autopath: ${ap.error}`);
  else console.log(`autopath: queries per lookup of ${LOOKUP_NAME}: ${lookupLine(ap)}; autopath/plain: queries ${fx(ap.ratio_queries)} time ${fx(ap.ratio_repeat_ms)}`);
}

// ---------------------------------------------------------------- kubernetes

/** bench/k8s-propagation.ts: 1,000 Service changes through the fake API server, p50/p99 to the first answer reflecting each. */
function kubernetesStep(result) {
  section('kubernetes: propagation from a Service ADDED/MODIFIED event of the API to the first DNS answer that reflects it');
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'bench', 'k8s-propagation.ts')], { cwd: REPO, encoding: 'utf8', timeout: 300_000 });
  const line = String(r.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('propagation')).at(-1);
  if (r.status !== 0 || !line) {
    result.kubernetes = { error: `exit ${r.status}: ${String(r.stderr ?? '').trim().split('\n').at(-1) ?? ''}` };
    console.log(`kubernetes: ${result.kubernetes.error}`);
    return;
  }
  const num = (re) => Number(re.exec(line)?.[1]);
  result.kubernetes = { line, p50_ms: num(/p50 ([\d.]+) ms/), p99_ms: num(/p99 ([\d.]+) ms/) };
  console.log(line);
}

// ---------------------------------------------------------------- scale

const int = (n) => n.toLocaleString('en-US');

/**
 * A large cluster from manifests: time to the first correct answers for names at the end of the data
 * and to /ready, memory after load and after a short saturating run, beside CoreDNS's estimate.
 */
async function scaleStep(tmp, result) {
  const dir = path.join(tmp, 'scale');
  const tg = process.hrtime.bigint();
  const d = generateScale(dir);
  const c = d.counts;
  const estimate = coreDnsMb(c.pods, c.services);
  const sc = {
    counts: c,
    files: d.files,
    manifest_mb: d.bytes / 1048576,
    generate_s: sinceS(tg),
    limit_s: SCALE_LIMIT_S,
    coredns_estimate_mb: estimate,
    coredns_formula: `(pods + services) / 1000 + 54 = (${c.pods} + ${c.services}) / 1000 + 54 = ${estimate} MB`,
  };
  result.scale = sc;
  section(
    `scale: ${int(c.services)} Services (${int(c.clusterip_services)} ClusterIP, ${int(c.headless_services)} headless), ${int(c.endpoints)} endpoints, ` +
      `${int(c.pods)} Pods in ${c.namespaces} namespaces`,
  );
  console.log(`generated ${int(c.objects)} objects in ${d.files} files (${sc.manifest_mb.toFixed(1)} MB of YAML) in ${sc.generate_s.toFixed(1)} s`);

  const taken = new Set();
  const port = await freePort(taken);
  const httpPort = await freePort(taken);
  const args = [CLI, 'serve', '--manifests', d.manifests, '--pods', 'verified', '--listen', `${HOST}:${port}`, '--http', `${HOST}:${httpPort}`, '--ttl', '30', '--upstream', 'none'];
  sc.command = `clusterdns serve --manifests DIR --pods verified --listen ${HOST}:${port} --http ${HOST}:${httpPort} --ttl 30`;
  const entry = spawnServer('clusterdns (scale)', CLI, args.slice(1), { log: true, servingTimeoutMs: SCALE_LIMIT_S * 1000 });
  const t0 = entry.spawnedAt;
  const exited = () => entry.child.exitCode !== null || entry.child.signalCode !== null;
  try {
    // Every 50 ms: a UDP query for each probe name not answered correctly yet, and GET /ready until 200.
    const probes = d.probes.map((p) => ({ ...p, answered_s: null }));
    const byId = new Map();
    let nextId = 1;
    let readyS = null;
    let readyBusy = false;
    const sock = dgram.createSocket('udp4');
    sock.on('error', () => {});
    sock.on('message', (msg) => {
      const r = parseResponse(msg);
      const p = r && byId.get(r.id);
      if (p && p.answered_s === null && r.rcode === 0 && r.a.includes(p.want)) p.answered_s = sinceS(t0);
    });
    await new Promise((r) => sock.bind(0, HOST, r));
    const deadline = t0 + BigInt(SCALE_LIMIT_S) * 1_000_000_000n;
    while (!interrupted && !exited() && process.hrtime.bigint() < deadline && (probes.some((p) => p.answered_s === null) || readyS === null)) {
      for (const p of probes) {
        if (p.answered_s !== null) continue;
        const id = nextId++ & 0xffff;
        byId.set(id, p);
        sock.send(encodeQuery(id, p.qname, p.qtype), port, HOST);
      }
      if (readyS === null && !readyBusy) {
        readyBusy = true;
        httpStatus(httpPort, '/ready', 1000).then((st) => {
          if (st === 200 && readyS === null) readyS = sinceS(t0);
          readyBusy = false;
        });
      }
      await sleep(50);
    }
    sock.close();
    sc.probes = probes.map(({ qname, qtype, want, what, answered_s }) => ({ qname, qtype, want, what, answered_s }));
    sc.ready_s = readyS;
    sc.serving_s = entry.firstServingAt ? Number(entry.firstServingAt - t0) / 1e9 : null;
    const srv = entry.servingLines[0];
    if (srv) sc.serving = { objects: srv.objects ?? null, names: srv.names ?? null };
    const missing = probes.filter((p) => p.answered_s === null);
    if (missing.length > 0 || readyS === null) {
      const why = interrupted
        ? 'interrupted'
        : exited()
          ? `the server exited (${entry.child.exitCode ?? entry.child.signalCode})`
          : `gave up after ${SCALE_LIMIT_S} s`;
      sc.error =
        `scale: no correct answer for ${missing.map((p) => p.qname).join(', ') || '-'}` + `${readyS === null ? ' and /ready never 200' : ''}: ${why}`;
      banner(sc.error);
      console.log(entry.tail.slice(-5).join('\n'));
      return;
    }
    sc.first_answer_s = Math.max(...probes.map((p) => p.answered_s));
    sc.after_load = vmKb(entry.pid);
    console.log(
      `first correct answer ${sc.first_answer_s.toFixed(2)} s after spawn (all ${probes.length} names below); /ready 200 at ${readyS.toFixed(2)} s;` +
        ` "serving" logged at ${f(sc.serving_s, 2)} s (${srv?.objects ?? '-'} objects, ${srv?.names ?? '-'} names)`,
    );
    for (const p of probes) console.log(`  ${pad(p.answered_s.toFixed(2), 6)} s  ${p.qname} ${p.qtype} ${p.want}  (${p.what})`);

    // A short saturating run over a query mix of the scale data.
    const b = await run('bash', [ANCHORS_SH, 'bench', 'scale', `${HOST}:${port}`, String(SCALE_SECONDS), '0', '10', String(entry.pid)], {
      env: { ...anchorEnv, DATA: dir },
      timeoutMs: (SCALE_SECONDS + 40) * 1000,
    });
    sc.run = parseBenchLine(b.out) ?? { error: (b.out + b.err).trim() };
    sc.run.seconds = SCALE_SECONDS;
    sc.after_run = vmKb(entry.pid);
    sc.ratio_rss_after_load = ratio(mb(sc.after_load.rss_kb), estimate);
    sc.ratio_rss_after_run = ratio(mb(sc.after_run.rss_kb), estimate);
    sc.ratio_peak = ratio(mb(sc.after_run.peak_kb), estimate);
    const r = sc.run;
    console.log(
      `dnsperf ${SCALE_SECONDS} s, -c 10, unlimited (${d.query_lines} queries: A of Services, endpoints and Pods, SRV, 5% NXDOMAIN):` +
        ` qps ${f(r.qps)} cpu_us/q ${f(r.cpu_us_per_q, 1)} avg_ms ${f(r.avg_ms, 3)} lost% ${f(r.lost_pct, 2)} rcodes ${r.rcodes ?? '-'}${r.error ? `  ERROR ${r.error}` : ''}`,
    );
    console.log(`${padr('memory', 16)} ${pad('rss_MB', 7)} ${pad('peak_MB', 8)} ${pad(`rss/${estimate}MB`, 11)} ${pad(`peak/${estimate}MB`, 12)}`);
    for (const [k, v] of [
      ['after load', sc.after_load],
      [`after ${SCALE_SECONDS} s run`, sc.after_run],
    ]) {
      console.log(
        `${padr(k, 16)} ${pad(f(mb(v.rss_kb), 1), 7)} ${pad(f(mb(v.peak_kb), 1), 8)} ${pad(fx(ratio(mb(v.rss_kb), estimate)), 11)} ${pad(fx(ratio(mb(v.peak_kb), estimate)), 12)}`,
      );
    }
    console.log(`CoreDNS's published memory estimate: ${sc.coredns_formula}`);
  } finally {
    await stopServer(entry);
  }
  if (!interrupted) scaleKubernetes(sc);
}

/**
 * The same cluster through the Kubernetes API source: bench/k8s-relist-memory.ts serves it from the
 * fake API server of the tests and runs serve --kubernetes against it (time to sync, RSS after it,
 * and the peaks of a 410 relist and of a resync against the steady state).
 */
function scaleKubernetes(sc) {
  section('scale through the Kubernetes API source (fake API server of the tests; bench/k8s-relist-memory.ts)');
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'bench', 'k8s-relist-memory.ts')], { cwd: REPO, encoding: 'utf8', timeout: 600_000 });
  const out = String(r.stdout ?? '');
  for (const l of out.trim().split('\n')) if (!l.startsWith('RESULT ')) console.log(l);
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) {
    sc.kubernetes = { error: `exit ${r.status ?? r.signal}: ${String(r.stderr ?? '').trim().split('\n').at(-1) ?? ''}` };
    console.log(`scale (kubernetes): ${sc.kubernetes.error}`);
    return;
  }
  const k = JSON.parse(line.slice('RESULT '.length));
  k.ratio_rss_steady = ratio(mb(k.steady_kb), sc.coredns_estimate_mb);
  sc.kubernetes = k;
}

function scaleSummary(sc) {
  if (!sc) return;
  const c = sc.counts;
  if (sc.error) {
    console.log(`scale: ${sc.error}`);
    return;
  }
  console.log(
    `scale: ${int(c.services)} Services, ${int(c.endpoints)} endpoints, ${int(c.pods)} Pods: first correct answer ${sc.first_answer_s.toFixed(2)} s,` +
      ` /ready ${sc.ready_s.toFixed(2)} s; ${SCALE_SECONDS} s run qps ${f(sc.run?.qps)} cpu_us/q ${f(sc.run?.cpu_us_per_q, 1)}`,
  );
  console.log(
    `scale memory: RSS after load ${f(mb(sc.after_load.rss_kb))} MB, after run ${f(mb(sc.after_run.rss_kb))} MB, peak ${f(mb(sc.after_run.peak_kb))} MB;` +
      ` CoreDNS estimate (${int(c.pods)} + ${int(c.services)}) / 1000 + 54 = ${sc.coredns_estimate_mb} MB:` +
      ` RSS/${sc.coredns_estimate_mb} MB after load ${fx(sc.ratio_rss_after_load)}, after run ${fx(sc.ratio_rss_after_run)}, peak/${sc.coredns_estimate_mb} MB ${fx(sc.ratio_peak)}`,
  );
  const k = sc.kubernetes;
  if (k?.error) console.log(`scale (kubernetes API): ${k.error}`);
  else if (k) {
    console.log(
      `scale (kubernetes API): synced ${f(k.synced_s, 2)} s; RSS at sync ${f(mb(k.rss_at_sync_kb))} MB, steady ${f(mb(k.steady_kb))} MB` +
        ` (RSS/${sc.coredns_estimate_mb} MB ${fx(k.ratio_rss_steady)}); worst relist peak ${fx(k.worst_relist_ratio)} of steady`,
    );
  }
}

// ---------------------------------------------------------------- main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(ANCHORS_SH)) {
    console.log(`bench: ${SHARED} is missing (it holds anchors.sh): nothing to compare against`);
    process.exit(1);
  }
  const benchWork = process.env.BENCH_WORK || path.join(process.env.TMPDIR || '/tmp', 'clusterdns-anchors');
  const dataDir = process.env.DATA || path.join(benchWork, 'data');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'clusterdns-bench-'));
  // Pid files and configs of the anchors started here go to a folder of this run, so a concurrent run
  // sharing BENCH_WORK never sees (or stops) them; the data stays the shared one.
  anchorEnv = { ...process.env, BENCH_WORK: path.join(tmp, 'anchors'), DATA: dataDir };
  const runWork = anchorEnv.BENCH_WORK;

  const result = {
    started: new Date(T0).toISOString(),
    options: { rounds: opts.rounds, seconds: opts.seconds, rate: opts.rate, forward: opts.forward, scale: opts.scale, scale_only: opts.scaleOnly },
    machine: {
      nproc: Number(spawnSync('nproc').stdout?.toString().trim()) || os.cpus().length,
      cpu_model: os.cpus()[0]?.model ?? null,
      loadavg_start: os.loadavg(),
      mem_total_mb: Math.round(os.totalmem() / 1048576),
      kernel: os.release(),
    },
    node: process.version,
    clusterdns: { version: JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).version },
  };

  try {
    section('setup');
    await ensureBuilt(opts, result);
    const setup = await run('bash', [ANCHORS_SH, 'setup'], { timeoutMs: 20 * 60_000 });
    console.log((setup.out.trim().split('\n').pop() ?? '').trim());
    if (setup.code !== 0) throw new Error(`anchors.sh setup failed (${setup.code}):\n${(setup.out + setup.err).trim().split('\n').slice(-10).join('\n')}`);
    const vers = spawnSync('dpkg-query', ['-W', '-f=${Package} ${Version}\\n', 'nsd', 'dnsmasq-base', 'dnsperf', 'bind9-dnsutils']);
    result.anchors_versions = Object.fromEntries(
      String(vers.stdout ?? '')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ')),
    );

    if (opts.scaleOnly) {
      await scaleStep(tmp, result);
      section('summary');
      scaleSummary(result.scale);
      return;
    }

    // The served directory: the shared cluster, plus one large headless Service if none is over 512 bytes.
    const served = path.join(tmp, 'manifests');
    mkdirSync(served);
    copyFileSync(path.join(dataDir, 'k8s.yaml'), path.join(served, 'k8s.yaml'));
    const sizes = headlessSizes(readFileSync(path.join(served, 'k8s.yaml'), 'utf8'));
    let big = sizes[0] ? { ...sizes[0], generated: false } : null;
    if (!big || big.endpoints < 40) {
      writeFileSync(path.join(served, 'zz-bench-big-headless.yaml'), bigHeadlessManifest(BIG_ENDPOINTS));
      big = { key: `${BIG_NS}/${BIG_NAME}`, endpoints: BIG_ENDPOINTS, generated: true };
    }
    const [bigNs, bigName] = big.key.split('/');
    const bigQname = `${bigName}.${bigNs}.svc.cluster.local`;

    const cd = await startClusterdns('clusterdns', served);
    console.log(`clusterdns pid ${cd.pid} on ${HOST}:${cd.port} (${cd.serving.objects} objects, ${cd.serving.names} names)`);
    const taken = new Set([cd.port]);
    const ports = { clusterdns: cd.port };
    const pids = { clusterdns: cd.pid };
    for (const name of ANCHORS) {
      ports[name] = await freePort(taken);
      const r = await anchors(['start', name, String(ports[name])], 30_000);
      console.log(r.out.trim() || r.err.trim());
      if (/already running/.test(r.out)) throw new Error(`${name} is already running under ${runWork}`);
      if (r.code !== 0) throw new Error(`anchors.sh start ${name} failed:\n${(r.out + r.err).trim()}`);
      started.anchors.push(name);
      pids[name] = anchorPid(runWork, name);
    }
    ports[FLOOR] = await freePort(taken);
    const floor = spawnServer(FLOOR, process.execPath, [FLOOR_SERVER, String(ports[FLOOR])]);
    if (!(await waitAnswering(ports[FLOOR], 'svc-0000.ns-00.svc.cluster.local', 10_000, (r) => r.qr))) {
      throw new Error(`${FLOOR} (bench/floor-server.mjs) did not answer on ${HOST}:${ports[FLOOR]} within 10 s\n${floor.tail.join('\n')}`);
    }
    pids[FLOOR] = floor.pid;
    console.log(`${FLOOR} started pid ${floor.pid} on ${HOST}:${ports[FLOOR]} (bench/floor-server.mjs: each datagram sent back with QR set)`);
    result.servers = {};
    for (const s of SERVERS) result.servers[s] = { port: ports[s], pid: pids[s], idle: await memKb(pids[s]) };

    // ---- correctness first
    section(`check: 200 answers against expected.tsv (clusterdns on ${HOST}:${cd.port})`);
    const chk = await anchors(['check', `${HOST}:${cd.port}`], 180_000);
    const chkText = (chk.out + chk.err).trim();
    console.log(chkText);
    result.check = { ok: chk.code === 0, output: chkText };
    if (chk.code !== 0) banner('clusterdns FAILED the answer check: the figures below measure wrong answers (see MISMATCH lines above)');

    // ---- interleaved unlimited-rate rounds
    section(`throughput: ${opts.rounds} interleaved round(s) x ${SERVERS.length} servers x ${opts.seconds} s, dnsperf -c 10, unlimited rate`);
    console.log(`round  ${HEAD}`);
    const runs = [];
    for (let r = 0; r < opts.rounds; r++) {
      const order = SERVERS.map((_, i) => SERVERS[(i + r) % SERVERS.length]);
      const byServer = {};
      for (const s of order) {
        const b = await anchors(['bench', `${s}-r${r + 1}`, `${HOST}:${ports[s]}`, String(opts.seconds), '0', '10', String(pids[s])], (opts.seconds + 40) * 1000);
        const m = parseBenchLine(b.out) ?? { error: (b.out + b.err).trim() };
        Object.assign(m, await memKb(pids[s]));
        m.server = s;
        m.round = r + 1;
        runs.push(m);
        byServer[s] = m;
        if (interrupted) break;
        console.log(`${pad(r + 1, 5)}  ${row(s, m)}${m.error ? `  ERROR ${m.error}` : ''}`);
      }
      if (interrupted) break;
      const c = byServer.clusterdns;
      const parts = BASES.map((a) => `clusterdns/${a}: qps ${fx(ratio(c?.qps, byServer[a]?.qps))} cpu/q ${fx(ratio(c?.cpu_us_per_q, byServer[a]?.cpu_us_per_q))}`);
      console.log(`${pad(r + 1, 5)}  round ratios ${parts.join(' | ')}`);
    }
    result.runs = runs;
    const med = {};
    for (const s of SERVERS) {
      const rs = runs.filter((x) => x.server === s);
      med[s] = Object.fromEntries(['qps', 'cpu_us_per_q', 'avg_ms', 'max_ms', 'lost_pct', 'rss_kb', 'pss_kb', 'srv_cores', 'cli_cores'].map((k) => [k, median(rs.map((x) => x[k]))]));
    }
    result.medians = med;
    const ratios = {};
    for (const a of BASES) {
      ratios[`clusterdns/${a}`] = {
        qps: ratio(med.clusterdns.qps, med[a].qps),
        cpu_us_per_q: ratio(med.clusterdns.cpu_us_per_q, med[a].cpu_us_per_q),
        avg_ms: ratio(med.clusterdns.avg_ms, med[a].avg_ms),
        rss_kb: ratio(med.clusterdns.rss_kb, med[a].rss_kb),
        pss_kb: ratio(med.clusterdns.pss_kb, med[a].pss_kb),
      };
    }
    result.ratios = ratios;
    // How much of clusterdns's CPU per query Node's UDP path alone accounts for.
    const floorUs = med[FLOOR].cpu_us_per_q;
    const cdUs = med.clusterdns.cpu_us_per_q;
    result.node_floor = {
      cpu_us_per_q: floorUs,
      clusterdns_cpu_us_per_q: cdUs,
      share_of_clusterdns: ratio(floorUs, cdUs),
      clusterdns_above_floor_us_per_q: typeof floorUs === 'number' && typeof cdUs === 'number' ? cdUs - floorUs : null,
    };

    // ---- fixed rate
    section(`latency at a fixed ${opts.rate} QPS (dnsperf -Q ${opts.rate}), ${opts.seconds} s each`);
    console.log(`${padr('server', 11)} ${pad('qps', 8)} ${pad('cpu_us/q', 9)} ${pad('avg_ms', 8)} ${pad('max_ms', 8)} ${pad('lost', 6)} ${pad('lost%', 6)}`);
    const fixed = {};
    for (const s of SERVERS) {
      const b = await anchors(['bench', `${s}-fixed`, `${HOST}:${ports[s]}`, String(opts.seconds), String(opts.rate), '10', String(pids[s])], (opts.seconds + 40) * 1000);
      const m = parseBenchLine(b.out) ?? { error: (b.out + b.err).trim() };
      fixed[s] = m;
      console.log(`${padr(s, 11)} ${pad(f(m.qps), 8)} ${pad(f(m.cpu_us_per_q, 1), 9)} ${pad(f(m.avg_ms, 3), 8)} ${pad(f(m.max_ms, 2), 8)} ${pad(f(m.lost), 6)} ${pad(f(m.lost_pct, 2), 6)}${m.error ? `  ERROR ${m.error}` : ''}`);
    }
    result.fixed_rate = { qps: opts.rate, runs: fixed, ratio_avg_ms_clusterdns_nsd: ratio(fixed.clusterdns.avg_ms, fixed.nsd.avg_ms) };

    // ---- TCP
    section(`TCP: dnsperf -m tcp -c 10, ${opts.seconds} s each (anchors.sh bench has no transport switch: dnsperf run directly)`);
    console.log(`${padr('server', 11)} ${pad('qps', 8)} ${pad('cpu_us/q', 9)} ${pad('avg_ms', 8)} ${pad('max_ms', 8)} ${pad('lost%', 6)}`);
    const tcp = {};
    for (const s of ['clusterdns', 'nsd']) {
      const m = await tcpRun(s, ports[s], pids[s], opts.seconds, dataDir);
      tcp[s] = m;
      console.log(`${padr(s, 11)} ${pad(f(m.qps), 8)} ${pad(f(m.cpu_us_per_q, 1), 9)} ${pad(f(m.avg_ms, 3), 8)} ${pad(f(m.max_ms, 2), 8)} ${pad(f(m.lost_pct, 2), 6)}${m.error ? `  ERROR ${m.error}` : ''}`);
    }
    console.log(`${padr(FLOOR, 11)} (UDP only: no TCP run)`);
    result.tcp = { runs: tcp, ratio_qps_clusterdns_nsd: ratio(tcp.clusterdns.qps, tcp.nsd.qps), ratio_cpu_us_per_q_clusterdns_nsd: ratio(tcp.clusterdns.cpu_us_per_q, tcp.nsd.cpu_us_per_q) };

    // ---- truncation
    section(`truncation: ${bigQname} (headless, ${big.endpoints} endpoints${big.generated ? ', generated for this run' : ''}) on clusterdns`);
    const trunc = {
      qname: bigQname,
      endpoints: big.endpoints,
      generated: big.generated,
      udp_noedns_A: await dig(cd.port, bigQname, 'A', ['+ignore', '+notcp', '+noedns']),
      udp_edns_A: await dig(cd.port, bigQname, 'A', ['+ignore', '+notcp']),
      tcp_A: await dig(cd.port, bigQname, 'A', ['+tcp']),
      tcp_SRV: await dig(cd.port, `_http._tcp.${bigQname}`, 'SRV', ['+tcp']),
    };
    for (const k of ['udp_noedns_A', 'udp_edns_A', 'tcp_A', 'tcp_SRV']) {
      const d = trunc[k];
      console.log(
        `${padr(k, 13)} dig ${padr(d.args, 22)} status ${padr(d.status ?? '-', 8)} tc=${d.tc ? 'yes' : 'no '} answer=${pad(d.answer, 3)} additional=${pad(d.additional, 3)} size=${pad(d.msg_size, 5)} B`,
      );
    }
    trunc.ok = trunc.udp_noedns_A.tc && trunc.udp_edns_A.tc && !trunc.tcp_A.tc && trunc.tcp_A.answer === big.endpoints;
    if (!trunc.ok) banner(`truncation check FAILED: want tc over UDP and all ${big.endpoints} A records over TCP`);
    else console.log(`ok: UDP answers carry tc, TCP carries all ${big.endpoints} A records`);
    result.truncation = trunc;

    // ---- change to answer under load; where the time goes
    const h = { HOST, CLI, REPO, startClusterdns, stopServer, spawnServer, anchors, udpQuery, parseBenchLine, interrupted: () => interrupted };
    section(`programming: manifest change to new answer, under dnsperf -Q ${opts.rate}`);
    const prog = await programmingStep(h, { served, tmp, rate: opts.rate, seconds: opts.seconds });
    result.programming = prog;
    console.log(
      `${prog.samples_ms.length}/${prog.edits} edits answered: p50 ${f(prog.p50_ms, 1)} ms, p99 ${f(prog.p99_ms, 1)} ms, max ${f(prog.max_ms, 1)} ms; ` +
        `load ${f(prog.load?.qps)} QPS, lost ${f(prog.load?.lost_pct, 2)}%`,
    );
    section(`profile: clusterdns under node --cpu-prof, dnsperf unlimited rate, ${opts.seconds} s`);
    const prof = await profileStep(h, { served, tmp, seconds: opts.seconds });
    result.profile = prof;
    if (prof.error) console.log(`profile: ${prof.error}`);
    else {
      console.log(`${f(prof.bench?.qps)} QPS while profiled; ${f(prof.samples)} samples; self time by function:`);
      for (const e of prof.top) console.log(`${pad(f(e.self_pct, 1), 6)}%  ${e.fn}`);
    }

    // ---- workers, then the servers of the rounds are no longer needed
    await stopServer(cd.entry);
    await stopServer(floor);
    const help = await workersStep(opts, served, result);

    // ---- forwarding
    if (opts.forward && !interrupted) await forwardStep(opts, served, tmp, result, help);
    else if (!opts.forward) result.forward = { skipped: true };

    // ---- scale
    if (opts.scale && !interrupted) await scaleStep(tmp, result);

    // ---- kubernetes: propagation from an API event to the DNS answer
    if (opts.kubernetes && !interrupted) kubernetesStep(result);

    // ---- summary
    section(`summary: medians of ${opts.rounds} interleaved round(s), ${opts.seconds} s each (nproc ${result.machine.nproc}, node ${process.version})`);
    console.log(HEAD);
    for (const s of SERVERS) console.log(row(s, med[s]));
    console.log('');
    console.log(`${padr('ratio', 22)} ${pad('qps', 7)} ${pad('cpu/q', 7)} ${pad('avg_ms', 7)} ${pad('rss', 7)} ${pad('pss', 7)}`);
    for (const a of BASES) {
      const q = ratios[`clusterdns/${a}`];
      console.log(`${padr(`clusterdns/${a}`, 22)} ${pad(fx(q.qps), 7)} ${pad(fx(q.cpu_us_per_q), 7)} ${pad(fx(q.avg_ms), 7)} ${pad(fx(q.rss_kb), 7)} ${pad(fx(q.pss_kb), 7)}`);
    }
    const nf = result.node_floor;
    console.log(
      `node-floor: Node's UDP receive+send alone costs ${f(nf.cpu_us_per_q, 1)} µs/q, ${f(nf.share_of_clusterdns === null ? null : nf.share_of_clusterdns * 100)}%` +
        ` of clusterdns's ${f(nf.clusterdns_cpu_us_per_q, 1)} µs/q; clusterdns's own work is the other ${f(nf.clusterdns_above_floor_us_per_q, 1)} µs/q`,
    );
    console.log(
      `fixed ${opts.rate} QPS: avg_ms clusterdns ${f(fixed.clusterdns.avg_ms, 3)} / nsd ${f(fixed.nsd.avg_ms, 3)} = ${fx(result.fixed_rate.ratio_avg_ms_clusterdns_nsd)};` +
        ` lost ${SERVERS.map((s) => `${s} ${f(fixed[s].lost)}`).join(', ')}`,
    );
    console.log(`tcp: qps clusterdns ${f(tcp.clusterdns.qps)} / nsd ${f(tcp.nsd.qps)} = ${fx(result.tcp.ratio_qps_clusterdns_nsd)}; cpu/q ${fx(result.tcp.ratio_cpu_us_per_q_clusterdns_nsd)}`);
    console.log(
      `truncation: udp ${trunc.udp_noedns_A.tc ? 'tc' : 'NO tc'} (${trunc.udp_noedns_A.answer} A in ${trunc.udp_noedns_A.msg_size} B), tcp ${trunc.tcp_A.answer}/${big.endpoints} A; check ${result.check.ok ? 'ok' : 'FAILED'}`,
    );
    const w = result.workers;
    if (!w?.available) console.log('workers: serve has no --workers flag yet; skipped');
    else {
      for (const n of WORKER_COUNTS) {
        const m = w.runs[n];
        if (m) console.log(`workers ${n}: qps ${f(m.qps)} cpu_us/q ${f(m.cpu_us_per_q, 1)} (${f(m.srv_cores, 2)} cores, ${f(m.procs)} process(es))${m.error ? `  ERROR ${m.error}` : ''}`);
      }
      console.log(`workers ${WORKER_COUNTS[1]}/${WORKER_COUNTS[0]}: qps ${fx(w.ratio_qps ?? null)} cpu/q ${fx(w.ratio_cpu_us_per_q ?? null)}`);
    }
    console.log(`programming: change to answer under ${opts.rate} QPS p50 ${f(prog.p50_ms, 1)} ms, p99 ${f(prog.p99_ms, 1)} ms (${prog.samples_ms.length}/${prog.edits} edits, ${prog.missed} missed)`);
    if (!prof.error) console.log(`profile top: ${prof.top.slice(0, 5).map((e) => `${e.fn.split(' ')[0]} ${f(e.self_pct, 1)}%`).join(', ')}`);
    if (opts.forward) forwardSummary(result.forward);
    if (opts.scale) scaleSummary(result.scale);
    if (result.kubernetes) console.log(`kubernetes: ${result.kubernetes.line ?? result.kubernetes.error}`);
  } catch (e) {
    result.error = e instanceof Error ? e.message : String(e);
    banner(`bench stopped early: ${result.error.split('\n')[0]}`);
    if (result.error.includes('\n')) console.log(result.error.split('\n').slice(1).join('\n'));
    process.exitCode = 1;
  } finally {
    section('stopping servers');
    await cleanup();
    result.machine.loadavg_end = os.loadavg();
    result.wall_s = (Date.now() - T0) / 1000;
    const d = new Date(T0);
    const p2 = (n) => String(n).padStart(2, '0');
    const stamp = `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}T${p2(d.getHours())}${p2(d.getMinutes())}`;
    const outDir = path.join(REPO, 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    const out = path.join(outDir, `${stamp}.json`);
    writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
    rmSync(tmp, { recursive: true, force: true });
    console.log(`results: ${path.relative(REPO, out)}`);
    console.log(`total wall time ${result.wall_s.toFixed(1)} s`);
  }
}

await main();
