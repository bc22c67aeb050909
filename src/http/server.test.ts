import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { pino } from 'pino';
import { HttpServer } from './server.js';

/**
 * The HTTP port's limits, on real sockets, with short deadlines so the test takes a second;
 * `clusterdns serve` uses the defaults (10 s, 100 connections), checked in test/integration.
 */

async function start(limits: { headersMs: number; requestMs: number; maxConnections: number }) {
  const s = new HttpServer({ listen: { host: '127.0.0.1', port: 0 }, logger: pino({ level: 'silent' }), isReady: () => true, limits });
  const a = await s.start();
  return { s, port: a.port };
}

interface Held {
  readonly sock: net.Socket;
  closed: boolean;
  data: string;
}

function hold(port: number, send = ''): Promise<Held> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const h: Held = { sock, closed: false, data: '' };
    sock.on('data', (c) => (h.data += c.toString()));
    sock.on('close', () => (h.closed = true));
    sock.on('error', () => undefined);
    sock.once('connect', () => {
      if (send) sock.write(send);
      resolve(h);
    });
    sock.once('error', reject);
  });
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a client that never finishes its headers is answered 408 and cut off', async (t) => {
  const { s, port } = await start({ headersMs: 300, requestMs: 300, maxConnections: 10 });
  t.after(() => s.stop());
  const slow = await hold(port, 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ');
  const t0 = Date.now();
  await until('slow client closed', () => slow.closed);
  assert.match(slow.data, /^HTTP\/1\.1 408/);
  t.diagnostic(`closed after ${Date.now() - t0} ms (headers deadline 300 ms)`);
  assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
});

test('at the connection cap, the connection open longest makes room: /health still answers', async (t) => {
  const { s, port } = await start({ headersMs: 60_000, requestMs: 60_000, maxConnections: 5 });
  t.after(() => s.stop());
  const held: Held[] = [];
  for (let i = 0; i < 10; i++) {
    held.push(await hold(port, i % 2 === 0 ? 'GET / HTTP/1.1\r\n' : ''));
    // Let the server see each connection before the next, so "oldest" is well defined.
    await until(`connection ${i} seen`, () => s.evicted >= i - 4 || i < 5, 5_000);
  }
  await until('five oldest closed', () => held.filter((h) => h.closed).length >= 5);
  assert.deepEqual(
    held.map((h) => h.closed),
    [true, true, true, true, true, false, false, false, false, false],
    'the five opened first are the ones closed',
  );
  const r = await fetch(`http://127.0.0.1:${port}/health`, { headers: { connection: 'close' } });
  assert.equal(r.status, 200);
  assert.equal(await r.text(), 'OK\n');
  await until('one more closed for the probe', () => held.filter((h) => h.closed).length === 6);
  assert.ok(held[5].closed, 'the oldest remaining one made room');
  for (const h of held) h.sock.destroy();
});
