import { test } from 'node:test';
import assert from 'node:assert/strict';
import { query } from '../helpers/dns-client.js';
import { startServe } from '../helpers/serve-process.js';
import { FIXTURE_DIR } from '../helpers/spec-cases.js';

/** `serve --workers N`: several processes on the same addresses, one HTTP port, restarts, clean stop. */

async function until(what: string, check: () => Promise<boolean>, deadlineMs = 10_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`${what}: not seen within ${deadlineMs} ms`);
}

test('--workers 2 answers over UDP and TCP, replaces a worker that dies, and stops cleanly', async (t) => {
  const s = await startServe(['--manifests', FIXTURE_DIR, '--workers', '2']);
  t.after(() => s.stop());
  const name = 'kubernetes.default.svc.cluster.local';
  const workerPids = () => s.logs.filter((l) => l.msg === 'worker serving').map((l) => l.pid as number);
  // Workers write their own lines; the primary's may come first.
  await until('both workers report serving', async () => workerPids().length === 2);
  for (let i = 0; i < 20; i++) {
    assert.equal((await query(s.dnsPort, name, 'A')).answer.length, 1);
    assert.equal((await query(s.dnsPort, name, 'A', { transport: 'tcp' })).answer.length, 1);
  }
  assert.equal((await fetch(`http://127.0.0.1:${s.httpPort}/ready`)).status, 200);

  process.kill(workerPids()[0], 'SIGKILL');
  await until('a third worker serves', async () => workerPids().length === 3);
  for (let i = 0; i < 20; i++) assert.equal((await query(s.dnsPort, name, 'A')).answer.length, 1);

  const exit = new Promise<number | null>((r) => s.proc.once('exit', (c) => r(c)));
  s.proc.kill('SIGTERM');
  assert.equal(await exit, 0);
  for (const pid of workerPids().slice(1)) {
    assert.throws(() => process.kill(pid, 0), /ESRCH/, `worker ${pid} has exited`);
  }
});
