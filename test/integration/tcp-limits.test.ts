import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildQuery, query } from '../helpers/dns-client.js';
import { startServe } from '../helpers/serve-process.js';
import { FIXTURE_DIR } from '../helpers/spec-cases.js';

/** TCP clients that hold connections, send slowly or never read are cut off; others are served. */

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

function closed(sock: net.Socket, withinMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (sock.destroyed || sock.readyState === 'closed') return resolve(true);
    const timer = setTimeout(() => resolve(false), withinMs);
    sock.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

test('past --tcp-max-connections, the connection idle longest makes room for a new one', async (t) => {
  const s = await startServe(['--manifests', FIXTURE_DIR, '--tcp-max-connections', '3']);
  t.after(() => s.stop());
  const held: net.Socket[] = [];
  for (let i = 0; i < 3; i++) {
    held.push(await connect(s.dnsPort));
    await new Promise((r) => setTimeout(r, 50));
  }
  // Connections that only hold slots cannot lock new clients out: the oldest goes.
  const r = await query(s.dnsPort, 'kubernetes.default.svc.cluster.local', 'A', { transport: 'tcp' });
  assert.equal(r.answer.length, 1, 'a new TCP client is served');
  assert.ok(await closed(held[0], 2000), 'the connection idle longest was closed');
  assert.equal(await closed(held[2], 200), false, 'the newest held connection stays');
  assert.equal((await query(s.dnsPort, 'kubernetes.default.svc.cluster.local', 'A')).answer.length, 1, 'UDP still served');
  for (const h of held) h.destroy();
});

test('idle and slow-loris connections are closed after their timeouts', async (t) => {
  const s = await startServe(['--manifests', FIXTURE_DIR, '--tcp-idle-timeout', '300', '--tcp-read-timeout', '200']);
  t.after(() => s.stop());
  const idle = await connect(s.dnsPort);
  assert.ok(await closed(idle, 3000), 'idle connection closed');
  const slow = await connect(s.dnsPort);
  const q = buildQuery('kubernetes.default.svc.cluster.local', 'A');
  const frame = Buffer.concat([Buffer.from([0, q.length]), q]);
  // Half a message, then a byte every 100 ms: never idle, never done.
  slow.write(frame.subarray(0, 5));
  let i = 5;
  const drip = setInterval(() => {
    if (i < frame.length - 1 && !slow.destroyed) slow.write(frame.subarray(i, ++i));
  }, 100);
  t.after(() => clearInterval(drip));
  assert.ok(await closed(slow, 3000), 'slow-loris connection closed');
  clearInterval(drip);
});

test('a client that never reads its replies is closed once they pile up', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-tcp-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const endpoints = Array.from({ length: 200 }, (_, i) => `  - { addresses: [10.1.${i >> 8}.${i & 255}] }`).join('\n');
  writeFileSync(
    join(dir, 'big.yaml'),
    `apiVersion: v1\nkind: Service\nmetadata: { name: big, namespace: default }\nspec: { clusterIP: None }\n---\n` +
      `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: { name: big-1, namespace: default, labels: { kubernetes.io/service-name: big } }\n` +
      `addressType: IPv4\nendpoints:\n${endpoints}\n`,
  );
  const s = await startServe(['--manifests', dir]);
  t.after(() => s.stop());
  const sock = await connect(s.dnsPort);
  sock.pause();
  sock.on('error', () => undefined);
  const q = buildQuery('big.default.svc.cluster.local', 'A');
  const frame = Buffer.concat([Buffer.from([0, q.length]), q]);
  // About 3.3 KB per reply: 20,000 replies are 66 MB, past what socket buffers hold and the 256 KiB cap.
  sock.write(Buffer.concat(Array.from({ length: 20_000 }, () => frame)));
  // Give the server time to fill what the sockets hold, then read what it sent before it hung up.
  await new Promise((r) => setTimeout(r, 2000));
  let received = 0;
  sock.on('data', (c: Buffer) => (received += c.length));
  sock.resume();
  assert.ok(await closed(sock, 10_000), 'closed by the server');
  const reply = (await query(s.dnsPort, 'big.default.svc.cluster.local', 'A', { transport: 'tcp' })).raw.length + 2;
  assert.ok(received < 20_000 * reply, `got ${received} bytes of ${20_000 * reply}: replies stopped once they piled up`);
  assert.equal((await query(s.dnsPort, 'big.default.svc.cluster.local', 'A', { transport: 'tcp' })).answer.length, 200, 'others still served');
});
