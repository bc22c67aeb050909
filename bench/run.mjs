#!/usr/bin/env node
// clusterdns benchmark: serves the shared synthetic cluster with clusterdns and, side by side in the
// same interleaved run, with the anchors nsd and dnsmasq; drives dnsperf against each on 127.0.0.1 and
// prints figures and clusterdns/anchor ratios. Never a pass/fail test.
//
//   npm run bench -- [--rounds N] [--seconds S] [--rate QPS] [--no-build]
//
// Needs ../shared/bench (anchors.sh, gen_zone.py). Results go to bench/results/<YYYY-MM-DD>T<HHMM>.json.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import net from 'node:net';
import dgram from 'node:dgram';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const T0 = Date.now();
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = path.resolve(REPO, '..', 'shared', 'bench');
const ANCHORS_SH = path.join(SHARED, 'anchors.sh');
const HOST = '127.0.0.1';
const ANCHORS = ['nsd', 'dnsmasq'];
const SERVERS = ['clusterdns', ...ANCHORS];
const BIG_NAME = 'hl-big';
const BIG_NS = 'ns-00';
const BIG_ENDPOINTS = 100;

// ---------------------------------------------------------------- arguments

function usage(code) {
  console.log(`usage: npm run bench -- [--rounds N] [--seconds S] [--rate QPS] [--no-build]
  --rounds N    interleaved rounds of unlimited-rate runs (default 3)
  --seconds S   seconds per dnsperf run (default 10)
  --rate QPS    fixed query rate of the latency runs (default 20000)
  --no-build    use dist/ as it is, even when older than src/`);
  process.exit(code);
}

function parseArgs(argv) {
  const o = { rounds: 3, seconds: 10, rate: 20000, build: true };
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
    else if (flag === '--help' || flag === '-h') usage(0);
    else {
      console.error(`bench: unknown argument '${a}'`);
      usage(2);
    }
  }
  return o;
}

// ---------------------------------------------------------------- processes

const children = new Set(); // every child process still running, by handle
const started = { clusterdns: null, anchors: [] }; // what cleanup must stop
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

/** Starts clusterdns on 127.0.0.1:0 and resolves with its pid and bound port once it logs "serving". */
function startClusterdns(dir) {
  return new Promise((resolve, reject) => {
    const args = [path.join(REPO, 'dist/cli/main.js'), 'serve', '--manifests', dir, '--listen', `${HOST}:0`, '--http', `${HOST}:0`, '--ttl', '30'];
    const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    started.clusterdns = child;
    children.add(child);
    const tail = [];
    let buf = '';
    let done = false;
    const keep = (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
    };
    const fail = (why) => {
      if (done) return;
      done = true;
      reject(new Error(`clusterdns did not start: ${why}\n${tail.join('\n')}`));
    };
    const timer = setTimeout(() => fail('no "serving" line within 30 s'), 30_000);
    // Keep reading stdout for the whole run: a full pipe would block the server.
    child.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        keep(line);
        if (done) continue;
        let rec;
        try {
          rec = JSON.parse(line);
        } catch {
          continue;
        }
        if (rec.msg === 'serving') {
          done = true;
          clearTimeout(timer);
          const port = rec.listen?.[0]?.port;
          if (!port) reject(new Error(`clusterdns "serving" line has no port: ${line}`));
          else resolve({ pid: child.pid, port, serving: rec, tail });
        }
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
  });
}

async function stopClusterdns() {
  const c = started.clusterdns;
  started.clusterdns = null;
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(t);
}

/** Stops everything this run started. Safe to call more than once. */
function cleanup() {
  cleaning ??= (async () => {
    for (const c of children) if (c !== started.clusterdns) c.kill('SIGTERM');
    await stopClusterdns();
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
  if (started.clusterdns && started.clusterdns.exitCode === null) started.clusterdns.kill('SIGKILL');
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
    options: { rounds: opts.rounds, seconds: opts.seconds, rate: opts.rate },
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

    const cd = await startClusterdns(served);
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
      const c = byServer.clusterdns;
      console.log(
        `${pad(r + 1, 5)}  round ratios clusterdns/nsd: qps ${fx(ratio(c.qps, byServer.nsd.qps))} cpu/q ${fx(ratio(c.cpu_us_per_q, byServer.nsd.cpu_us_per_q))}` +
          ` | clusterdns/dnsmasq: qps ${fx(ratio(c.qps, byServer.dnsmasq.qps))} cpu/q ${fx(ratio(c.cpu_us_per_q, byServer.dnsmasq.cpu_us_per_q))}`,
      );
    }
    result.runs = runs;
    const med = {};
    for (const s of SERVERS) {
      const rs = runs.filter((x) => x.server === s);
      med[s] = Object.fromEntries(['qps', 'cpu_us_per_q', 'avg_ms', 'max_ms', 'lost_pct', 'rss_kb', 'pss_kb', 'srv_cores', 'cli_cores'].map((k) => [k, median(rs.map((x) => x[k]))]));
    }
    result.medians = med;
    const ratios = {};
    for (const a of ANCHORS) {
      ratios[`clusterdns/${a}`] = {
        qps: ratio(med.clusterdns.qps, med[a].qps),
        cpu_us_per_q: ratio(med.clusterdns.cpu_us_per_q, med[a].cpu_us_per_q),
        avg_ms: ratio(med.clusterdns.avg_ms, med[a].avg_ms),
        rss_kb: ratio(med.clusterdns.rss_kb, med[a].rss_kb),
        pss_kb: ratio(med.clusterdns.pss_kb, med[a].pss_kb),
      };
    }
    result.ratios = ratios;

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

    // ---- summary
    section(`summary: medians of ${opts.rounds} interleaved round(s), ${opts.seconds} s each (nproc ${result.machine.nproc}, node ${process.version})`);
    console.log(HEAD);
    for (const s of SERVERS) console.log(row(s, med[s]));
    console.log('');
    console.log(`${padr('ratio', 20)} ${pad('qps', 7)} ${pad('cpu/q', 7)} ${pad('avg_ms', 7)} ${pad('rss', 7)} ${pad('pss', 7)}`);
    for (const a of ANCHORS) {
      const q = ratios[`clusterdns/${a}`];
      console.log(`${padr(`clusterdns/${a}`, 20)} ${pad(fx(q.qps), 7)} ${pad(fx(q.cpu_us_per_q), 7)} ${pad(fx(q.avg_ms), 7)} ${pad(fx(q.rss_kb), 7)} ${pad(fx(q.pss_kb), 7)}`);
    }
    console.log(
      `fixed ${opts.rate} QPS: avg_ms clusterdns ${f(fixed.clusterdns.avg_ms, 3)} / nsd ${f(fixed.nsd.avg_ms, 3)} = ${fx(result.fixed_rate.ratio_avg_ms_clusterdns_nsd)};` +
        ` lost ${SERVERS.map((s) => `${s} ${f(fixed[s].lost)}`).join(', ')}`,
    );
    console.log(`tcp: qps clusterdns ${f(tcp.clusterdns.qps)} / nsd ${f(tcp.nsd.qps)} = ${fx(result.tcp.ratio_qps_clusterdns_nsd)}; cpu/q ${fx(result.tcp.ratio_cpu_us_per_q_clusterdns_nsd)}`);
    console.log(
      `truncation: udp ${trunc.udp_noedns_A.tc ? 'tc' : 'NO tc'} (${trunc.udp_noedns_A.answer} A in ${trunc.udp_noedns_A.msg_size} B), tcp ${trunc.tcp_A.answer}/${big.endpoints} A; check ${result.check.ok ? 'ok' : 'FAILED'}`,
    );
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
