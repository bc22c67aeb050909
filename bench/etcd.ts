/**
 * etcd benchmark (not a pass/fail test): propagation of a change through
 * manifests -> bridge -> etcd -> serve --etcd, p50/p99 over N changes, beside the same change
 * through manifests -> serve (the direct mode) as the anchor measured in the same run; and the
 * bridge's reconcile of a 20,000-Service cluster (bench/gen-scale.mjs) into an empty etcd, the
 * no-op reconcile of a restarted bridge, and serve --etcd's first read of those keys.
 *
 *   npm run bench:etcd -- [--changes 1000] [--no-scale]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { EtcdServer } from '../test/helpers/etcd.js';
import { startBridgeProcess } from '../test/helpers/bridge-process.js';
import { startServe } from '../test/helpers/serve-process.js';
import { query } from '../test/helpers/dns-client.js';
// @ts-expect-error: a JavaScript module without types
import { generateScale } from './gen-scale.mjs';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const CHANGES = arg('--changes', 1000);
const SCALE = !process.argv.includes('--no-scale');

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const svcYaml = (ip: string) => `apiVersion: v1\nkind: Service\nmetadata: { name: prop, namespace: default }\nspec: { clusterIP: ${ip}, ports: [{ name: http, port: 80 }] }\n`;
const ipOf = (i: number) => `10.100.${(i >> 8) & 255}.${i & 255}`;

async function propagation(dir: string, port: number, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 1; i <= n; i++) {
    const ip = ipOf(i);
    const want = `prop.default.svc.cluster.local. 5 IN A ${ip}`;
    const t0 = performance.now();
    writeFileSync(join(dir, 'prop.yaml'), svcYaml(ip));
    for (;;) {
      const r = await query(port, 'prop.default.svc.cluster.local', 'A');
      if (r.answer[0] === want) break;
      if (performance.now() - t0 > 30_000) throw new Error(`change ${i} not seen within 30 s`);
      await new Promise((r) => setTimeout(r, 2));
    }
    out.push(performance.now() - t0);
  }
  return out;
}

const line = (what: string, xs: number[]) => `${what}: p50 ${pct(xs, 50).toFixed(0)} ms, p99 ${pct(xs, 99).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms over ${xs.length} changes`;

const results: Record<string, unknown> = { changes: CHANGES };
const etcd = await EtcdServer.launch();
const cleanup: (() => unknown)[] = [() => etcd.close()];
try {
  if (CHANGES > 0) {
    const dir = mkdtempSync(join(tmpdir(), 'clusterdns-bench-etcd-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'prop.yaml'), svcYaml(ipOf(0)));
    const bridge = startBridgeProcess(['--manifests', dir, '--etcd', etcd.endpoint, '--ttl', '5', '--log-level', 'warn']);
    cleanup.push(() => bridge.stop());
    const viaEtcd = await startServe(['--etcd', etcd.endpoint, '--ttl', '5']);
    cleanup.push(() => viaEtcd.stop());
    const direct = await startServe(['--manifests', dir, '--ttl', '5']);
    cleanup.push(() => direct.stop());
    // Interleaved halves, so both paths see the same machine load.
    const half = Math.ceil(CHANGES / 2);
    const etcdTimes = [...(await propagation(dir, viaEtcd.dnsPort, half))];
    const directTimes = [...(await propagation(dir, direct.dnsPort, half))];
    etcdTimes.push(...(await propagation(dir, viaEtcd.dnsPort, CHANGES - half)));
    directTimes.push(...(await propagation(dir, direct.dnsPort, CHANGES - half)));
    console.log(line('propagation manifests -> bridge -> etcd -> serve --etcd', etcdTimes));
    console.log(line('anchor: manifests -> serve (direct)          ', directTimes));
    results.propagation = { p50: pct(etcdTimes, 50), p99: pct(etcdTimes, 99), anchorP50: pct(directTimes, 50), anchorP99: pct(directTimes, 99) };
    await bridge.stop();
    await viaEtcd.stop();
    await direct.stop();
  }

  if (SCALE) {
    const scale = mkdtempSync(join(tmpdir(), 'clusterdns-bench-scale-'));
    cleanup.push(() => rmSync(scale, { recursive: true, force: true }));
    generateScale(scale, { pods: 0 });
    const manifests = join(scale, 'manifests');
    const big = await EtcdServer.launch();
    cleanup.push(() => big.close());
    const timeOf = (r: Record<string, unknown>) => Number(r.time);
    const b1 = startBridgeProcess(['--manifests', manifests, '--etcd', big.endpoint]);
    const loaded = await b1.waitFor('bridging', 300_000);
    const synced = await b1.waitFor('etcd in sync', 300_000);
    const client = new Etcd3({ hosts: big.endpoint });
    const keys = await client.getAll().prefix('/skydns/').count();
    client.close();
    const first = timeOf(synced) - timeOf(loaded);
    console.log(`reconcile 20,000 Services into an empty etcd: ${first} ms (${keys} keys; manifests loaded before this)`);
    await b1.stop();
    const b2 = startBridgeProcess(['--manifests', manifests, '--etcd', big.endpoint]);
    const loaded2 = await b2.waitFor('bridging', 300_000);
    const synced2 = await b2.waitFor('etcd in sync', 300_000);
    const again = timeOf(synced2) - timeOf(loaded2);
    console.log(`reconcile again after a restart (read ${keys} keys, nothing to write): ${again} ms`);
    await b2.stop();
    const t0 = Date.now();
    const s = await startServe(['--etcd', big.endpoint], 300_000);
    const read = Date.now() - t0;
    console.log(`serve --etcd start with ${keys} keys (process start, read, records built): ${read} ms`);
    await s.stop();
    results.scale = { services: 20_000, keys, reconcileMs: first, noopReconcileMs: again, serveStartMs: read };
  }
  console.log(JSON.stringify(results));
} finally {
  for (const c of cleanup.reverse()) await c();
}
