#!/usr/bin/env node
// The original addon's layout on one machine: etcd, `clusterdns bridge` (from examples/cluster
// for now) and `clusterdns serve --etcd`, each its own process. Ctrl-C stops all three.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist/cli/main.js');
if (spawnSync('etcd', ['--version'], { stdio: 'ignore' }).error) {
  console.error("etcd is not installed: run 'sudo apt-get install -y etcd-server'");
  process.exit(1);
}
const port = Number(process.env.DEMO_ETCD_CLIENT_PORT ?? 2379);
const endpoint = `http://127.0.0.1:${port}`;
const dataDir = mkdtempSync(join(tmpdir(), 'clusterdns-demo-etcd-'));
const env = { ...process.env };
delete env.ETCD_UNSUPPORTED_ARCH;
const children = [];
const run = (name, cmd, args) => {
  const p = spawn(cmd, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
  p.on('exit', (code, sig) => {
    console.error(`${name} exited (${code ?? sig})`);
    stop(1);
  });
  children.push(p);
  return p;
};
let stopping = false;
function stop(code) {
  if (stopping) return;
  stopping = true;
  for (const c of children.reverse()) c.kill('SIGTERM');
  setTimeout(() => {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(code);
  }, 500);
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

run('etcd', 'etcd', ['--data-dir', dataDir, '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
  '--listen-peer-urls', `http://127.0.0.1:${port + 1}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${port + 1}`,
  '--initial-cluster', `default=http://127.0.0.1:${port + 1}`, '--log-level', 'error', '--logger', 'zap']);
for (let i = 0; ; i++) {
  try {
    const r = await fetch(`${endpoint}/health`);
    if ((await r.json()).health === 'true') break;
  } catch {}
  if (i > 100) {
    console.error(`etcd did not become healthy on ${endpoint}`);
    stop(1);
  }
  await new Promise((r) => setTimeout(r, 100));
}
run('bridge', cli, ['bridge', '--manifests', join(root, 'examples/cluster'), '--etcd', endpoint, '--ttl', '5', '--log-level', 'warn']);
run('serve', cli, ['serve', '--etcd', endpoint, '--listen', '127.0.0.1:5353', '--http', '127.0.0.1:8080', '--ttl', '5', '--upstream', 'none', '--log-level', 'warn']);
console.error(`
etcd on ${endpoint}, the bridge writing examples/cluster into it, serve --etcd answering on 127.0.0.1:5353. Try:
  dig @127.0.0.1 -p 5353 kubernetes.default.svc.cluster.local
  dig @127.0.0.1 -p 5353 _https._tcp.kubernetes.default.svc.cluster.local SRV
  dig @127.0.0.1 -p 5353 -x 10.96.0.1
  ETCDCTL_API=3 etcdctl --endpoints ${endpoint} get --prefix /skydns     (etcdctl: Debian's etcd-client)
Edit a file under examples/cluster/ and the answer changes; Ctrl-C stops everything.
`);
