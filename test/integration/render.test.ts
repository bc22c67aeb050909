import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CLI, ROOT, runCli } from '../helpers/serve-process.js';
import { validateObjects } from '../helpers/kube-validate.js';
import { RENDERED, TEMPLATES } from '../../src/deploy/files.js';
import { PLACEHOLDERS } from '../../src/deploy/render.js';

/** `clusterdns render` as users run it, and the manifests committed under deploy/. */

type Obj = Record<string, any>;
const docsOf = (text: string): Obj[] => parseAllDocuments(text).map((d) => d.toJS() as Obj).filter((d) => d !== null);

const bad: readonly { args: string[]; says: RegExp }[] = [
  { args: ['--server-ip', '10.0.0'], says: /--server-ip.*an IPv4 or IPv6 address.*'10\.0\.0'/ },
  { args: ['--server-ip', 'dns.example'], says: /--server-ip.*'dns\.example'/ },
  { args: ['--server-ip', '10.0.0.300'], says: /--server-ip.*'10\.0\.0\.300'/ },
  { args: ['--server-ip', '010.0.0.10'], says: /--server-ip/ },
  { args: ['--server-ip', '0.0.0.0'], says: /--server-ip.*unspecified/ },
  { args: ['--server-ip', '127.0.0.10'], says: /--server-ip.*loopback/ },
  { args: ['--server-ip', '169.254.0.10'], says: /--server-ip.*link-local/ },
  { args: ['--server-ip', '239.0.0.10'], says: /--server-ip.*multicast/ },
  { args: ['--server-ip', '255.255.255.255'], says: /--server-ip.*broadcast/ },
  { args: ['--server-ip', '::1'], says: /--server-ip.*loopback/ },
  { args: ['--server-ip', '10.0.0.10', '--replicas', '0'], says: /--replicas.*expected an integer 1-1000, got '0'/ },
  { args: ['--server-ip', '10.0.0.10', '--replicas', '-1'], says: /--replicas/ },
  { args: ['--server-ip', '10.0.0.10', '--replicas', 'two'], says: /--replicas.*'two'/ },
  { args: ['--server-ip', '10.0.0.10', '--domain', 'cluster..local'], says: /--domain.*domain name.*'cluster\.\.local'/ },
  { args: ['--server-ip', '10.0.0.10', '--domain', 'clu ster.local'], says: /--domain/ },
  { args: ['--server-ip', '10.0.0.10', '--mode', 'sidecar'], says: /--mode.*direct, etcd/ },
  { args: ['--server-ip', '10.0.0.10', '--pods', 'all'], says: /--pods.*disabled, insecure, verified/ },
  { args: ['--server-ip', '10.0.0.10', '--mode', 'etcd', '--pods', 'verified'], says: /--pods verified needs --mode direct/ },
  { args: ['--server-ip', '10.0.0.10', '--etcd-prefix', 'skydns'], says: /--etcd-prefix.*\/skydns/ },
  { args: ['--server-ip', '10.0.0.10', '--image', 'Bad Image'], says: /--image.*container image/ },
  { args: ['--server-ip', '10.0.0.10', '--nope'], says: /unknown option '--nope'/ },
  { args: ['--server-ip', '10.0.0.10', '--allow', '10.244.0.0/33'], says: /--allow/ },
  { args: [], says: /required option '--server-ip <ip>' not specified/ },
];

test('render: a bad flag or value exits 2 with one line saying which and why, and prints nothing', () => {
  for (const c of bad) {
    const r = runCli(['render', ...c.args]);
    assert.equal(r.status, 2, `${c.args.join(' ')}: exit status (stderr: ${r.stderr})`);
    assert.equal(r.stdout, '', `${c.args.join(' ')}: nothing on stdout`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${c.args.join(' ')}: one line, got ${r.stderr}`);
    assert.match(lines[0], c.says, c.args.join(' '));
  }
});

test('render: the issue\'s command line prints every object, valid, and the first line reproduces it', () => {
  for (const mode of ['direct', 'etcd']) {
    const r = runCli(['render', '--domain', 'cluster.local', '--server-ip', '10.0.0.10', '--replicas', '2', '--mode', mode]);
    assert.equal(r.status, 0, r.stderr);
    const docs = docsOf(r.stdout);
    assert.deepEqual(docs.map((d) => d.kind).sort(), ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
    assert.deepEqual(validateObjects(docs), []);
    const svc = docs.find((d) => d.kind === 'Service')!;
    assert.equal(svc.spec.clusterIP, '10.0.0.10');
    assert.equal(docs.find((d) => d.kind === 'Deployment')!.spec.replicas, 2);
    const first = r.stdout.split('\n')[0];
    const m = /^# clusterdns [^:]+: clusterdns (render .*) \| kubectl apply -f -$/.exec(first);
    assert.ok(m, first);
    assert.equal(runCli(m[1].split(' ')).stdout, r.stdout, 'the command in the first line prints the same');
  }
});

test('render: DNS_DOMAIN, DNS_SERVER_IP and DNS_REPLICAS (the original sed variables) work as flags do; flags win', () => {
  const env = { ...process.env, DNS_DOMAIN: 'corp.example', DNS_SERVER_IP: '172.20.0.10', DNS_REPLICAS: '3' };
  const run = (args: string[]) => spawnSync(CLI, ['render', ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 10_000 });
  const viaEnv = run([]);
  assert.equal(viaEnv.status, 0, viaEnv.stderr);
  const docs = docsOf(viaEnv.stdout);
  assert.equal(docs.find((d) => d.kind === 'Service')!.spec.clusterIP, '172.20.0.10');
  assert.equal(docs.find((d) => d.kind === 'Deployment')!.spec.replicas, 3);
  assert.match(docs.find((d) => d.kind === 'ConfigMap')!.data['config.yaml'], /^domain: corp\.example$/m);
  const viaFlag = docsOf(run(['--replicas', '5']).stdout);
  assert.equal(viaFlag.find((d) => d.kind === 'Deployment')!.spec.replicas, 5);
  const badEnv = spawnSync(CLI, ['render'], { cwd: ROOT, env: { ...env, DNS_SERVER_IP: 'ten' }, encoding: 'utf8', timeout: 10_000 });
  assert.equal(badEnv.status, 2);
  assert.match(badEnv.stderr, /--server-ip.*'ten'/);
});

test('render: the config file in the ConfigMap passes clusterdns lint, in both modes and families', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-render-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const args of [
    ['--server-ip', '10.0.0.10'],
    ['--server-ip', '10.0.0.10', '--mode', 'etcd', '--domain', 'corp.example'],
    ['--server-ip', 'fd00::a', '--pods', 'verified'],
    ['--server-ip', '10.0.0.10', '--allow', '10.244.0.0/16, 10.0.0.0/24'],
  ]) {
    const r = runCli(['render', ...args]);
    assert.equal(r.status, 0, r.stderr);
    const file = join(dir, 'config.yaml');
    writeFileSync(file, docsOf(r.stdout).find((d) => d.kind === 'ConfigMap')!.data['config.yaml']);
    const lint = runCli(['lint', file]);
    assert.equal(lint.status, 0, `${args.join(' ')}: ${lint.stdout}${lint.stderr}`);
    assert.match(lint.stdout, /: ok \(\d+ settings\)/);
  }
});

test('render --allow: the config answers only the given ranges; without it, no range is set', () => {
  const config = (args: string[]) => {
    const r = runCli(['render', '--server-ip', '10.0.0.10', ...args]);
    assert.equal(r.status, 0, r.stderr);
    return docsOf(r.stdout).find((d) => d.kind === 'ConfigMap')!.data['config.yaml'] as string;
  };
  assert.match(config(['--allow', '10.244.0.0/16,fd00::/8']), /^allow: "10\.244\.0\.0\/16,fd00::\/8"$/m);
  assert.doesNotMatch(config([]), /^allow:/m);
});

test('deploy/: each committed manifest is exactly what render prints (run npm run deploy:render after a change)', () => {
  for (const f of RENDERED) {
    const r = runCli(['render', ...f.args]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(ROOT, f.path), 'utf8'), r.stdout, `${f.path} differs from clusterdns render ${f.args.join(' ')}: run npm run deploy:render`);
  }
});

test('deploy/templates: sed of the placeholders gives what render prints', () => {
  for (const t of TEMPLATES) {
    const text = readFileSync(join(ROOT, t.path), 'utf8');
    for (const p of Object.values(PLACEHOLDERS)) assert.ok(text.includes(p), `${t.path} has ${p}`);
    for (const [domain, ip, replicas] of [['cluster.local', '10.0.0.10', '1'], ['k8s.corp.example', '10.96.0.10', '4']]) {
      const sed = spawnSync('sed', ['-e', `s/{DNS_DOMAIN}/${domain}/g`, '-e', `s/{DNS_SERVER_IP}/${ip}/g`, '-e', `s/{DNS_REPLICAS}/${replicas}/g`, join(ROOT, t.path)], { encoding: 'utf8' });
      assert.equal(sed.status, 0, sed.stderr);
      const r = runCli(['render', '--domain', domain, '--server-ip', ip, '--replicas', replicas, '--mode', t.mode]);
      const body = (s: string) => s.slice(s.indexOf('\n---\n'));
      assert.equal(body(sed.stdout), body(r.stdout), `${t.path} with ${domain} ${ip} ${replicas}: run npm run deploy:render`);
      assert.deepEqual(validateObjects(docsOf(sed.stdout)), []);
    }
  }
});

test('render --mode etcd: the etcd container\'s command starts a real etcd that answers on loopback', async (t) => {
  const r = runCli(['render', '--server-ip', '10.0.0.10', '--mode', 'etcd']);
  assert.equal(r.status, 0, r.stderr);
  const pod = docsOf(r.stdout).find((d) => d.kind === 'Deployment')!.spec.template.spec;
  const etcd = pod.containers.find((c: Obj) => c.name === 'etcd');
  const [bin, ...args] = etcd.command as string[];
  assert.equal(bin, 'etcd');
  // The same flags, with a temporary data directory and free ports in place of the pod's.
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-etcd-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const free = async () => {
    const s = net.createServer();
    await new Promise<void>((res) => s.listen(0, '127.0.0.1', () => res()));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise((res) => s.close(res));
    return port;
  };
  const [client, peer] = [await free(), await free()];
  const mount = etcd.volumeMounts[0].mountPath as string;
  const local = args.map((a) => a.replace(mount, dir).replaceAll(':2379', `:${client}`).replaceAll(':2380', `:${peer}`));
  const proc = spawn('etcd', local, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (c) => (stderr = (stderr + c).slice(-4000)));
  proc.on('error', (e) => (stderr += `\n${e.message}: install etcd with 'apt-get install -y etcd-server'`));
  t.after(() => proc.kill('SIGKILL'));
  const end = Date.now() + 20_000;
  let health = '';
  while (Date.now() < end && proc.exitCode === null) {
    health = await fetch(`http://127.0.0.1:${client}/health`).then((res) => res.text(), () => '');
    if (health.includes('"health":"true"')) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.match(health, /"health":"true"/, `etcd with the rendered flags is healthy; its stderr: ${stderr}`);
  // Only on loopback: the pod's own address does not reach it.
  const other = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal);
  if (other) {
    const reached = await fetch(`http://${other.address}:${client}/health`, { signal: AbortSignal.timeout(2000) }).then(() => true, () => false);
    assert.equal(reached, false, `etcd answers on ${other.address}`);
  }
});
