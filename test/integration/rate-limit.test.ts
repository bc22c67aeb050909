import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildQuery, parseReply, sendTcpMany, type Reply } from '../helpers/dns-client.js';
import { parseDig, requireDig } from '../helpers/dig.js';
import { execFile } from 'node:child_process';
import { startServe } from '../helpers/serve-process.js';
import { FIXTURE_DIR } from '../helpers/spec-cases.js';

/**
 * --rate-limit with real sockets. Source addresses cannot be forged here, so clients bind
 * addresses of the loopback network (127.0.0.0/8 is all local on Linux): 127.0.0.2 and
 * 127.0.0.3 share a /24, 127.1.0.2 is in another. No bound on timing is asserted: the
 * allowance that comes back while a burst is in flight is allowed for from the time it took.
 */

const NAME = 'kubernetes.default.svc.cluster.local';
const RATE = 5;

interface Burst {
  full: number;
  truncated: Reply[];
  ms: number;
}

/** Sends n queries at once from source and collects replies until quiet for 700 ms. */
function burst(port: number, source: string, n: number): Promise<Burst> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    const out: Burst = { full: 0, truncated: [], ms: 0 };
    const t0 = performance.now();
    let quiet: NodeJS.Timeout;
    const done = () => {
      sock.close();
      out.ms = performance.now() - t0;
      resolve(out);
    };
    sock.on('error', reject);
    sock.on('message', (m) => {
      const r = parseReply(m);
      if (r.tc) out.truncated.push(r);
      else if (r.rcode === 'NOERROR' && r.answer.length === 1) out.full++;
      else reject(new Error(`unexpected reply: ${JSON.stringify(r)}`));
      clearTimeout(quiet);
      quiet = setTimeout(done, 700);
    });
    sock.bind(0, source, () => {
      for (let i = 0; i < n; i++) {
        const q = buildQuery(NAME, 'A');
        q.writeUInt16BE(i + 1, 0);
        sock.send(q, port, '127.0.0.1');
      }
      quiet = setTimeout(done, 1500);
    });
  });
}

async function scrape(httpPort: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(clusterdns_ratelimit_\w+) (\S+)$/gm)) out[m[1]] = Number(m[2]);
  return out;
}

function digFrom(port: number, source: string): Promise<ReturnType<typeof parseDig>> {
  const args = ['@127.0.0.1', '-p', String(port), '-b', source, '+time=2', '+tries=2', NAME, 'A'];
  return new Promise((resolve, reject) =>
    execFile('dig', args, { encoding: 'utf8', timeout: 15_000 }, (err, stdout) => (err ? reject(err) : resolve(parseDig(stdout)))),
  );
}

test('--rate-limit: UDP replies per /24 past the limit are dropped, every second one sent truncated; TCP exempt; reloadable', async (t) => {
  requireDig();
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-rrl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'clusterdns.yaml');
  const settings = (extra: string) => `manifests: ${FIXTURE_DIR}\nupstream: none\nttl: 5\n${extra}`;
  writeFileSync(path, settings(`rate-limit: ${RATE}\nrate-limit-slip: 2\n`));
  const s = await startServe(['--config', path]);
  t.after(() => s.stop());

  // Two prefixes at once: each gets its own allowance.
  const [a, b] = await Promise.all([burst(s.dnsPort, '127.0.0.2', 30), burst(s.dnsPort, '127.1.0.2', 30)]);
  // A third address in a's /24 right after: it shares a's allowance.
  const c = await burst(s.dnsPort, '127.0.0.3', 30);
  const refill = (ms: number) => Math.ceil((ms / 1000) * RATE) + 1;
  for (const [who, r] of [['127.0.0.2', a], ['127.1.0.2', b]] as const) {
    assert.ok(r.full >= RATE, `${who}: at least the allowance answered in full, got ${r.full}`);
    assert.ok(r.full <= RATE + refill(r.ms), `${who}: ${r.full} answered in full in ${r.ms.toFixed(0)} ms`);
    // Of the limited ones, every second one comes back truncated.
    const limited = 30 - r.full;
    assert.ok(Math.abs(r.truncated.length - limited / 2) <= 1, `${who}: ${r.truncated.length} truncated of ${limited} limited`);
  }
  assert.ok(c.full <= refill(Math.max(a.ms, b.ms) + c.ms), `127.0.0.3 shares 127.0.0.2's /24: ${c.full} answered in full`);
  // A truncated reply carries the question and nothing else, so the client retries over TCP.
  const tr = a.truncated[0];
  assert.equal(tr.rcode, 'NOERROR');
  assert.deepEqual([tr.answer, tr.ns, tr.packet.questions?.[0]?.name], [[], [], NAME]);
  const m = await scrape(s.httpPort);
  const sent = a.full + b.full + c.full + a.truncated.length + b.truncated.length + c.truncated.length;
  assert.equal(m.clusterdns_ratelimit_slipped_total, a.truncated.length + b.truncated.length + c.truncated.length);
  assert.equal(m.clusterdns_ratelimit_dropped_total, 90 - sent);

  // TCP is exempt: the same exhausted prefix gets every answer over TCP.
  const tcp = (await sendTcpMany(s.dnsPort, Array.from({ length: 20 }, () => buildQuery(NAME, 'A')), 5000)).map(parseReply);
  assert.equal(tcp.filter((r) => r.answer.length === 1).length, 20);

  // Reload with slip 1 (every limited reply truncated): a real client (dig) whose prefix is
  // over the limit is told to retry over TCP and gets its answer there.
  writeFileSync(path, settings(`rate-limit: ${RATE}\nrate-limit-slip: 1\n`));
  const reloaded = async (n: number) => {
    const end = Date.now() + 15_000;
    while (Date.now() < end) {
      if (s.logs.filter((l) => l.msg === 'configuration reloaded').length >= n) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail(`reload ${n} not logged within 15 s`);
  };
  await reloaded(1);
  const d = await burst(s.dnsPort, '127.0.0.4', 30);
  assert.equal(d.full + d.truncated.length, 30, 'slip 1: nothing dropped');
  // Another address of the /24 keeps it over the limit while dig asks.
  const flood = dgram.createSocket('udp4');
  let floodTruncated = 0;
  flood.on('message', (m) => {
    if (parseReply(m).tc) floodTruncated++;
  });
  await new Promise<void>((r) => flood.bind(0, '127.0.0.4', () => r()));
  const q = buildQuery(NAME, 'A');
  const timer = setInterval(() => flood.send(q, s.dnsPort, '127.0.0.1'), 5);
  let viaDig;
  try {
    // The /24 is over its limit once the flood's own replies come back truncated.
    const end = Date.now() + 15_000;
    while (floodTruncated < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.ok(floodTruncated >= 3, 'the flood is limited');
    viaDig = await digFrom(s.dnsPort, '127.0.0.5');
  } finally {
    clearInterval(timer);
    flood.close();
  }
  assert.match(viaDig.output, /Truncated, retrying in TCP mode/);
  assert.deepEqual(viaDig.answer, [`${NAME}. 5 IN A 10.96.0.1`]);

  // Reload with the limit off: every reply goes out.
  writeFileSync(path, settings('rate-limit: 0\n'));
  await reloaded(2);
  const e = await burst(s.dnsPort, '127.0.0.6', 30);
  assert.equal(e.full, 30);
});
