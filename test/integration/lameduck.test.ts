import { test } from 'node:test';
import assert from 'node:assert/strict';
import { query } from '../helpers/dns-client.js';
import { startServe } from '../helpers/serve-process.js';
import { FIXTURE_DIR } from '../helpers/spec-cases.js';
import { startUpstream } from '../helpers/upstream.js';

/** SIGTERM: /ready fails at once, answers go on for --lameduck seconds, nothing in flight is dropped. */

test('lame duck on SIGTERM: not ready, still answering, then a clean exit', async (t) => {
  const a = await startUpstream();
  a.delayMs = 500;
  t.after(() => a.close());
  const s = await startServe(['--manifests', FIXTURE_DIR, '--upstream', `127.0.0.1:${a.port}`, '--lameduck', '2']);
  t.after(() => s.stop());
  const base = `http://127.0.0.1:${s.httpPort}`;
  assert.equal((await fetch(`${base}/ready`)).status, 200);
  const exited = new Promise<number | null>((r) => s.proc.once('exit', (c) => r(c)));
  const inFlight = query(s.dnsPort, 'slow.example.com', 'A', { timeoutMs: 3000 });
  s.proc.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal((await fetch(`${base}/ready`)).status, 503, 'not ready at once');
  assert.equal((await fetch(`${base}/health`)).status, 200, 'still alive');
  assert.equal((await query(s.dnsPort, 'kubernetes.default.svc.cluster.local', 'A')).answer.length, 1, 'still answering');
  assert.equal((await inFlight).answer.length, 1, 'the question in flight got its answer');
  assert.equal(await exited, 0);
  assert.ok(s.logs.some((l) => l.msg === 'lame duck: not ready, still answering' && l.lameduckSeconds === 2));
});

test('stopping waits for replies still being worked out', async (t) => {
  const a = await startUpstream();
  a.delayMs = 600;
  t.after(() => a.close());
  const s = await startServe(['--manifests', FIXTURE_DIR, '--upstream', `127.0.0.1:${a.port}`, '--lameduck', '0']);
  const exited = new Promise<number | null>((r) => s.proc.once('exit', (c) => r(c)));
  const inFlight = query(s.dnsPort, 'slow.example.com', 'A', { timeoutMs: 3000 });
  await new Promise((r) => setTimeout(r, 100));
  s.proc.kill('SIGTERM');
  assert.equal((await inFlight).answer.length, 1);
  assert.equal(await exited, 0);
});
