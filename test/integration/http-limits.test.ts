import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServe } from '../helpers/serve-process.js';
import { FIXTURE_DIR } from '../helpers/spec-cases.js';

/**
 * The HTTP port of `clusterdns serve` with its defaults: 150 connections that hold it (more
 * than the cap of 100) do not keep /health from answering, and a client that never finishes
 * its headers is cut off (the 10 s header deadline; waited for generously).
 */

test('HTTP port: held connections past the cap do not lock /health out; unfinished headers are cut off', async (t) => {
  const s = await startServe(['--manifests', FIXTURE_DIR]);
  t.after(() => s.stop());
  const socks: { sock: net.Socket; closed: boolean; data: string }[] = [];
  t.after(() => socks.forEach((h) => h.sock.destroy()));
  for (let i = 0; i < 150; i++) {
    const h = { sock: net.connect(s.httpPort, '127.0.0.1'), closed: false, data: '' };
    h.sock.on('data', (c) => (h.data += c.toString()));
    h.sock.on('close', () => (h.closed = true));
    h.sock.on('error', () => undefined);
    await new Promise((r) => h.sock.once('connect', r));
    h.sock.write('GET /health HTTP/1.1\r\nHost: x\r\n');
    socks.push(h);
  }
  const r = await fetch(`http://127.0.0.1:${s.httpPort}/health`, { headers: { connection: 'close' } });
  assert.equal(r.status, 200);
  const t0 = Date.now();
  while (socks.some((h) => !h.closed) && Date.now() - t0 < 30_000) await new Promise((res) => setTimeout(res, 100));
  const open = socks.filter((h) => !h.closed).length;
  assert.equal(open, 0, `${open} of 150 unfinished requests still open after ${Date.now() - t0} ms`);
  t.diagnostic(`all 150 closed ${Date.now() - t0} ms after the probe; ${socks.filter((h) => h.data.startsWith('HTTP/1.1 408')).length} got 408`);
  assert.ok(socks.some((h) => h.data.startsWith('HTTP/1.1 408')), 'the ones kept got 408 Request Timeout');
});
