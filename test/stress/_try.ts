import { startWatched, mib } from '/work/main/test/stress/lib.ts';
import { runFuzz } from '/work/main/test/stress/fuzz.ts';
const w = await startWatched();
const before = w.rssKiB();
const n = Number(process.argv[2] ?? 100000);
const r = await runFuzz(w, { packets: n, seed: 1, lanes: Number(process.argv[3] ?? 4), window: Number(process.argv[4] ?? 256), goodEvery: 1000, dropTimeoutMs: 1000 });
console.log(JSON.stringify({ ...r, rate: r.sent / r.seconds, before: mib(before), after: mib(w.rssKiB()), alive: w.alive(), stderr: w.stderr() }, null, 1));
await w.stop();
