import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { query } from '../helpers/dns-client.js';
import { ROOT, runCli, startServe } from '../helpers/serve-process.js';
import { FIXTURE_DIR } from '../helpers/spec-cases.js';

/** The `clusterdns serve` command line is a contract: its flags, defaults and errors are pinned here. */

test('--help documents every flag with its default', () => {
  const r = runCli(['serve', '--help']);
  assert.equal(r.status, 0);
  for (const flag of ['--domain', '--listen', '--manifests', '--pods', '--ttl', '--upstream', '--http', '--endpoint-pod-names', '--log-level', '--hints', '--workers', '--lameduck', '--autopath', '--stub-domain', '--policy', '--max-concurrent', '--cache-size', '--serve-stale', '--resolv-conf']) {
    assert.match(r.stdout, new RegExp(`${flag}\\b`), flag);
  }
  for (const d of ['default: "cluster.local"', 'env: DNS_DOMAIN', 'default: 30', 'default: "disabled"', 'default: the nameservers of --resolv-conf', 'default: 0.0.0.0:8080', 'default: 0.0.0.0:53']) {
    assert.ok(r.stdout.replace(/\s+/g, ' ').includes(d), `help shows ${d}`);
  }
});

const bad: readonly { args: string[]; says: RegExp }[] = [
  { args: ['--nope'], says: /unknown option '--nope'/ },
  { args: ['--ttl', 'abc'], says: /--ttl.*expected an integer 0-3600/ },
  { args: ['--ttl', '-1'], says: /--ttl/ },
  { args: ['--pods', 'always'], says: /--pods.*disabled, insecure, verified/ },
  { args: ['--listen', '127.0.0.1'], says: /--listen.*HOST:PORT/ },
  { args: ['--listen', '127.0.0.1:70000'], says: /--listen.*port 0-65535/ },
  { args: ['--listen', 'example.com:53'], says: /--listen.*IP address/ },
  { args: ['--domain', 'a..b'], says: /--domain.*domain name/ },
  { args: ['--upstream', 'dns.example'], says: /--upstream.*IP\[:PORT\]/ },
  { args: ['--http', 'everywhere'], says: /--http.*HOST:PORT/ },
  { args: ['--manifests', '/nonexistent/dir'], says: /--manifests.*not a directory/ },
  { args: ['--log-level', 'loud'], says: /--log-level/ },
];

test('a bad flag or value exits 2 with one line saying which and why', () => {
  for (const c of bad) {
    const args = c.args[0] === '--manifests' ? ['serve', ...c.args] : ['serve', '--manifests', FIXTURE_DIR, ...c.args];
    const r = runCli(args);
    assert.equal(r.status, 2, `${c.args.join(' ')}: exit status`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${c.args.join(' ')}: one line, got ${r.stderr}`);
    assert.match(lines[0], c.says, c.args.join(' '));
  }
  const none = runCli(['serve']);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /--manifests DIR/);
});

test('DNS_DOMAIN sets the domain; --domain overrides it', async (t) => {
  const env = { ...process.env, DNS_DOMAIN: 'corp.internal' };
  const viaEnv = await startServe(['--manifests', FIXTURE_DIR], 10_000, env);
  t.after(() => viaEnv.stop());
  assert.equal((await query(viaEnv.dnsPort, 'kubernetes.default.svc.corp.internal', 'A')).rcode, 'NOERROR');
  assert.equal((await query(viaEnv.dnsPort, 'kubernetes.default.svc.cluster.local', 'A')).rcode, 'REFUSED');
  const viaFlag = await startServe(['--manifests', FIXTURE_DIR, '--domain', 'Other.Example.'], 10_000, env);
  t.after(() => viaFlag.stop());
  assert.equal((await query(viaFlag.dnsPort, 'kubernetes.default.svc.other.example', 'A')).rcode, 'NOERROR');
});

test('--listen repeats, and takes IPv6', async (t) => {
  const s = await startServe(['--manifests', FIXTURE_DIR, '--listen', '[::1]:0']);
  t.after(() => s.stop());
  const serving = s.logs.find((l) => l.msg === 'serving') as { listen: { host: string; port: number }[] };
  assert.equal(serving.listen.length, 2);
  const v6 = serving.listen.find((l) => l.host === '::1')!;
  const r = await query(v6.port, 'kubernetes.default.svc.cluster.local', 'A', { host: '::1' });
  assert.deepEqual(r.answer, ['kubernetes.default.svc.cluster.local. 30 IN A 10.96.0.1']);
  const tcp = await query(v6.port, 'kubernetes.default.svc.cluster.local', 'A', { host: '::1', transport: 'tcp' });
  assert.equal(tcp.answer.length, 1);
});

test('SIGTERM stops the server cleanly', async () => {
  const s = await startServe(['--manifests', FIXTURE_DIR]);
  const code = new Promise<number | null>((r) => s.proc.once('exit', (c) => r(c)));
  s.proc.kill('SIGTERM');
  assert.equal(await code, 0);
});

test('npx clusterdns runs the package bin in a checkout', async () => {
  const p = spawn('npx', ['--no-install', 'clusterdns', 'serve', '--help'], { cwd: ROOT });
  let out = '';
  p.stdout.on('data', (c) => (out += c));
  const code = await new Promise<number | null>((r) => p.once('exit', r));
  assert.equal(code, 0, out);
  assert.match(out, /--manifests/);
});
