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
  const path = file(t, `domain: corp.internal\nmanifests: ${FIXTURE_DIR}\nttl: 7\npods: insecure\n`);
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
