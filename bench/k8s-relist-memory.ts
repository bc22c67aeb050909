// Peak memory of `serve --kubernetes` during relists, against its steady state, for the large
// synthetic cluster (bench/gen-scale.mjs: 20,000 Services, 100,000 endpoints, 50,000 Pods) held
// by the fake API server of the tests. A measurement, never a pass/fail test.
//
//   npm run build && node --import tsx bench/k8s-relist-memory.ts [--scale 1]
//
// Steady state: RSS a few seconds after the first sync. Then, for each relist (410 Gone for every
// watch at once, and a resync), the peak RSS is reset (/proc/PID/clear_refs) and read back
// (VmHWM) once the relists are done, and RSS is also sampled every 10 ms meanwhile.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FakeApiServer } from '../test/helpers/fake-apiserver.js';
import { generateScale } from './gen-scale.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO, 'dist/cli/main.js');
const scaleArg = process.argv.indexOf('--scale');
const scale = scaleArg > 0 ? Number(process.argv[scaleArg + 1]) : 1;

const kb = (pid: number, field: 'VmRSS' | 'VmHWM') => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
const mb = (k: number) => (k / 1024).toFixed(1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(path.join(tmpdir(), 'clusterdns-k8s-mem-'));
const t0 = Date.now();
const gen = generateScale(dir, {
  clusterIP: 15_000 * scale,
  headless: 5_000 * scale,
  pods: 50_000 * scale,
});
const api = await FakeApiServer.start({ maxWatchSeconds: 3600 });
api.loadDirectory(gen.manifests);
console.log(`fake API holds ${gen.counts.services} Services, ${gen.counts.endpoints} endpoints, ${gen.counts.pods} Pods (${((Date.now() - t0) / 1000).toFixed(1)} s to generate and load)`);

const resyncS = 40;
const proc = spawn(CLI, ['serve', '--kubernetes', '--kubeconfig', api.writeKubeconfig(), '--pods', 'verified', '--listen', '127.0.0.1:0', '--http', 'none', '--upstream', 'none', '--resync', String(resyncS), '--startup-timeout', '600'], { stdio: ['ignore', 'pipe', 'inherit'] });
const pid = proc.pid!;
const logs: Record<string, any>[] = [];
createInterface({ input: proc.stdout! }).on('line', (l) => {
  try {
    logs.push(JSON.parse(l));
  } catch {
    // not a log line
  }
});
const waitFor = async (pred: (l: Record<string, any>) => boolean, from = 0) => {
  while (!logs.slice(from).some(pred)) await sleep(20);
};
const relistsDone = (from: number, reason: string) => waitFor(() => logs.slice(from).filter((l) => l.event === 'relist' && l.reason === reason).length >= 4);

const tStart = Date.now();
await waitFor((l) => l.event === 'synced');
const syncedS = (Date.now() - tStart) / 1000;
const loadPeak = kb(pid, 'VmHWM');
const afterSync = kb(pid, 'VmRSS');
console.log(`synced in ${syncedS.toFixed(1)} s; RSS at sync ${mb(afterSync)} MB, initial-load peak RSS ${mb(loadPeak)} MB`);
await sleep(5000);
const steady = kb(pid, 'VmRSS');
console.log(`steady state RSS ${mb(steady)} MB`);

async function measure(what: string, trigger: () => void, reason: string): Promise<number> {
  writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
  let sampled = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      sampled = Math.max(sampled, kb(pid, 'VmRSS'));
      await sleep(10);
    }
  })();
  const from = logs.length;
  const t = Date.now();
  trigger();
  await relistsDone(from, reason);
  sampling = false;
  await sampler;
  const peak = Math.max(kb(pid, 'VmHWM'), sampled);
  console.log(`${what}: relisted in ${((Date.now() - t) / 1000).toFixed(1)} s, peak RSS ${mb(peak)} MB = ${(peak / steady).toFixed(2)}x steady (sampled max ${mb(sampled)} MB)`);
  return peak;
}

const peaks = [await measure('410 Gone on every watch', () => api.expireWatches(), 'expired')];
// Change 1% of the ClusterIP Services with their events lost, so the resync has differences to apply.
const changed = 150 * scale;
api.dropNextEvents(changed);
for (let i = 0; i < changed; i++) {
  const name = `svc-${String(i * 100).padStart(5, '0')}`;
  const ns = `ns-${String(Math.floor((i * 100) / (150 * scale))).padStart(3, '0')}`;
  const old = api.get('Service', ns, name);
  if (old) api.put({ ...old, spec: { ...old.spec, ports: [...old.spec.ports, { name: 'extra', port: 8443, protocol: 'TCP' }] } });
}
peaks.push(await measure(`periodic resync (--resync ${resyncS}, ${changed} lost changes)`, () => undefined, 'resync'));
const repaired = logs.filter((l) => l.event === 'relist' && l.reason === 'resync' && l.resource === 'services').at(-1);
console.log(`the resync of services applied ${repaired?.upserts} upserts and ${repaired?.deletes} deletes`);
const worst = Math.max(...peaks);
console.log(`worst relist peak ${mb(worst)} MB vs steady ${mb(steady)} MB: ${(worst / steady).toFixed(2)}x`);
// One line for bench/run.mjs, which runs this as the scale step of the Kubernetes API source.
const counts = { services: gen.counts.services, endpoints: gen.counts.endpoints, pods: gen.counts.pods };
console.log(`RESULT ${JSON.stringify({ counts, synced_s: syncedS, rss_at_sync_kb: afterSync, load_peak_kb: loadPeak, steady_kb: steady, relist_peaks_kb: peaks, worst_relist_ratio: worst / steady })}`);
proc.kill('SIGTERM');
await api.stop();
process.exit(0);
