import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, renameSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { query } from '../helpers/dns-client.js';
import { startServe } from '../helpers/serve-process.js';

/**
 * The manifest directory is live: edits change answers without a restart, and a broken file
 * never takes answers away. The deadline is generous: the figure that matters (well under a
 * second) is measured by the benchmark, not asserted here.
 */

const NAME = 'web.default.svc.cluster.local';

function service(name: string, ip: string): string {
  return `apiVersion: v1\nkind: Service\nmetadata: { name: ${name}, namespace: default }\nspec: { clusterIP: ${ip}, ports: [{ name: http, port: 80 }] }\n`;
}

async function until(what: string, check: () => Promise<boolean>, deadlineMs = 10_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`${what}: not seen within ${deadlineMs} ms`);
}

const answerOf = async (port: number, name = NAME) => {
  const r = await query(port, name, 'A');
  return r.rcode === 'NOERROR' ? r.answer.map((a) => a.split(' ').pop()).join(',') : r.rcode;
};

test('adding, editing, replacing and deleting files changes the answers; a broken file changes nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-reload-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'base.yaml'), service('kubernetes', '10.96.0.1'));
  const s = await startServe(['--manifests', dir, '--ttl', '5']);
  t.after(() => s.stop());
  const port = s.dnsPort;

  assert.equal(await answerOf(port), 'NXDOMAIN');

  writeFileSync(join(dir, 'web.yaml'), service('web', '10.96.5.1'));
  await until('added file served', async () => (await answerOf(port)) === '10.96.5.1');

  writeFileSync(join(dir, 'web.yaml'), service('web', '10.96.5.2'));
  await until('edited file served', async () => (await answerOf(port)) === '10.96.5.2');

  // An editor's save: write a temporary file, rename it into place.
  writeFileSync(join(dir, '.web.yaml.swp'), service('web', '10.96.5.3'));
  renameSync(join(dir, '.web.yaml.swp'), join(dir, 'web.yaml'));
  await until('renamed-in file served', async () => (await answerOf(port)) === '10.96.5.3');

  // Broken YAML, then an invalid object: the last good answers stay, and the error is logged.
  writeFileSync(join(dir, 'web.yaml'), 'kind: Service\nmetadata: { name: web\n');
  await until('syntax error logged', async () => s.logs.some((l) => l.level === 40 && String(l.file).endsWith('web.yaml')));
  assert.equal(await answerOf(port), '10.96.5.3');
  writeFileSync(join(dir, 'web.yaml'), service('web', '10.96.5.999'));
  await until('invalid object logged', async () => s.logs.some((l) => l.level === 40 && /10\.96\.5\.999/.test(String(l.msg))));
  assert.equal(await answerOf(port), '10.96.5.3');
  // Other files still load while one is broken.
  writeFileSync(join(dir, 'other.yaml'), service('other', '10.96.6.1'));
  await until('other file served', async () => (await answerOf(port, 'other.default.svc.cluster.local')) === '10.96.6.1');
  assert.equal(await answerOf(port), '10.96.5.3');

  // Fixed again: applied.
  writeFileSync(join(dir, 'web.yaml'), service('web', '10.96.5.4'));
  await until('fixed file served', async () => (await answerOf(port)) === '10.96.5.4');

  unlinkSync(join(dir, 'web.yaml'));
  await until('deleted file gone', async () => (await answerOf(port)) === 'NXDOMAIN');
  assert.equal(await answerOf(port, 'kubernetes.default.svc.cluster.local'), '10.96.0.1');
});

test('a query never sees half of a file: a Service and its endpoints change together', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-atomic-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const doc = (n: number) =>
    `apiVersion: v1\nkind: Service\nmetadata: { name: h, namespace: default }\nspec: { clusterIP: None, ports: [{ name: p${n}, port: ${1000 + n} }] }\n---\n` +
    `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: { name: h-1, namespace: default, labels: { kubernetes.io/service-name: h } }\n` +
    `addressType: IPv4\nports: [{ name: p${n}, port: ${1000 + n} }]\nendpoints:\n` +
    Array.from({ length: 20 }, (_, i) => `  - { addresses: [10.9.${n}.${i + 1}] }`).join('\n') +
    '\n';
  writeFileSync(join(dir, 'h.yaml'), doc(0));
  const s = await startServe(['--manifests', dir, '--ttl', '5']);
  t.after(() => s.stop());
  let generation = 0;
  const seen = new Set<string>();
  for (let n = 1; n <= 5; n++) {
    writeFileSync(join(dir, 'h.yaml'), doc(n));
    const end = Date.now() + 10_000;
    while (Date.now() < end) {
      const r = await query(s.dnsPort, 'h.default.svc.cluster.local', 'A', { transport: 'tcp' });
      // Every answer holds all 20 addresses of exactly one version.
      const versions = new Set(r.answer.map((a) => a.split(' ').pop()!.split('.')[2]));
      assert.equal(r.answer.length, 20, 'whole endpoint set');
      assert.equal(versions.size, 1, `one version per answer, saw ${[...versions].join(',')}`);
      seen.add([...versions][0]);
      if (versions.has(String(n))) break;
    }
    generation = n;
  }
  assert.equal(generation, 5);
  assert.ok(seen.has('5'));
});
