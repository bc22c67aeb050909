import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { query } from '../helpers/dns-client.js';
import { runCli, startServe } from '../helpers/serve-process.js';
import { FIXTURE_DIR } from '../helpers/spec-cases.js';

/** --config FILE and `clusterdns lint FILE`: keys are the long flags; flags > environment > file > defaults. */

function file(t: { after(fn: () => void): void }, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'clusterdns.yaml'), text);
  return join(dir, 'clusterdns.yaml');
}

test('settings come from the file unless a flag or the environment gives them', async (t) => {
  const path = file(t, `domain: corp.internal\nmanifests: ${FIXTURE_DIR}\nttl: 7\npods: insecure\nupstream: none\n`);
  const fromFile = await startServe(['--config', path]);
  t.after(() => fromFile.stop());
  assert.deepEqual((await query(fromFile.dnsPort, 'kubernetes.default.svc.corp.internal', 'A')).answer, ['kubernetes.default.svc.corp.internal. 7 IN A 10.96.0.1']);
  assert.equal((await query(fromFile.dnsPort, '1-2-3-4.x.pod.corp.internal', 'A')).answer.length, 1, 'pods: insecure from the file');
  const flagWins = await startServe(['--config', path, '--ttl', '9'], 10_000, { ...process.env, DNS_DOMAIN: 'env.internal' });
  t.after(() => flagWins.stop());
  assert.deepEqual((await query(flagWins.dnsPort, 'kubernetes.default.svc.env.internal', 'A')).answer, ['kubernetes.default.svc.env.internal. 9 IN A 10.96.0.1']);
});

test('clusterdns lint names each problem with file:line:col, key and reason', (t) => {
  const good = file(t, `domain: cluster.local\nlisten: [127.0.0.1:53, "[::1]:53"]\nstub-domain:\n  corp.example: [10.1.2.3]\nautopath: false\n`);
  const ok = runCli(['lint', good]);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /ok \(4 settings\)/);
  const bad = file(t, `ttl: 99999\npods: always\nlisten: 127.0.0.1\nautopath: "yes"\nno-such-flag: 1\n`);
  const r = runCli(['lint', bad]);
  assert.equal(r.status, 1);
  const lines = r.stdout.trim().split('\n');
  const expected = [
    /:1:\d+: ttl: expected an integer 0-3600, got '99999'$/,
    /:2:\d+: pods: expected one of disabled, insecure, verified, got 'always'$/,
    /:3:\d+: listen: expected HOST:PORT, got '127.0.0.1'$/,
    /:4:\d+: autopath: expected true or false$/,
    /:5:\d+: no-such-flag: not a setting/,
  ];
  for (const re of expected) assert.ok(lines.some((l) => re.test(l) && l.startsWith(bad)), `${re} in:\n${r.stdout}`);
  const syntax = runCli(['lint', file(t, 'ttl: [1,\n')]);
  assert.equal(syntax.status, 1);
  assert.match(syntax.stdout, /:\d+:\d+: YAML: /);
  // serve refuses a bad file with one line and exit 2.
  const serve = runCli(['serve', '--config', bad]);
  assert.equal(serve.status, 2);
  assert.equal(serve.stderr.trim().split('\n').length, 1);
  assert.match(serve.stderr, /--config: .*clusterdns\.yaml:\d+:\d+: /);
});

test('hot reload: a changed file or SIGHUP swaps the configuration in without dropping a query; a bad one is refused', async (t) => {
  const { startUpstream } = await import('../helpers/upstream.js');
  const a = await startUpstream();
  const b = await startUpstream();
  t.after(() => Promise.all([a.close(), b.close()]));
  const settings = (upstream: number, extra = '') => `manifests: ${FIXTURE_DIR}\nupstream: 127.0.0.1:${upstream}\ncache-size: 0\n${extra}`;
  const path = file(t, settings(a.port));
  const { writeFileSync: write } = await import('node:fs');
  const s = await startServe(['--config', path, '--upstream-timeout', '300'], 10_000, process.env);
  t.after(() => s.stop());
  const asked = async (up: { received: string[] }, name: string) => {
    const r = await query(s.dnsPort, name, 'A', { timeoutMs: 3000 });
    return r.rcode === 'NOERROR' && up.received.includes(name);
  };
  const until = async (what: string, check: () => Promise<boolean>) => {
    const end = Date.now() + 10_000;
    while (Date.now() < end) if (await check()) return;
    assert.fail(`${what}: not within 10 s`);
  };
  const status = async () => (await (await fetch(`http://127.0.0.1:${s.httpPort}/config`)).json()) as { hash: string; reloads: number; lastReloadError: string };
  const before = await status();
  assert.ok(await asked(a, 'one.example.com'));
  // Cluster answers go on while the file changes.
  let dropped = 0;
  let running = true;
  const load = (async () => {
    while (running) if ((await query(s.dnsPort, 'kubernetes.default.svc.cluster.local', 'A', { timeoutMs: 2000 })).answer.length !== 1) dropped++;
  })();
  write(path, settings(b.port));
  let n = 0;
  await until('file change applied', () => asked(b, `two${n++}.example.com`));
  const after = await status();
  assert.notEqual(after.hash, before.hash);
  assert.equal(after.reloads, 1);
  // A bad value: logged, refused, the running configuration stays.
  write(path, settings(a.port, 'max-concurrent: 0\n'));
  await until('bad file reported', async () => (await status()).lastReloadError !== '');
  assert.match((await status()).lastReloadError, /max-concurrent/);
  assert.ok(await asked(b, 'three.example.com'), 'still forwarding to the last good upstream');
  // Fixed, and applied on SIGHUP as well.
  write(path, settings(a.port));
  s.proc.kill('SIGHUP');
  await until('SIGHUP reload applied', () => asked(a, `four${n++}.example.com`));
  running = false;
  await load;
  assert.equal(dropped, 0, 'no query dropped across reloads');
  assert.equal((await status()).lastReloadError, '');
});
