#!/usr/bin/env node
// Makes sure the system tools the tests drive are installed: installs them with apt-get
// when running as root on Debian, otherwise stops with one line saying how.
import { spawnSync } from 'node:child_process';

const tools = [
  { command: 'dig', args: ['-v'], pkg: 'bind9-dnsutils' },
  // An independent resolver for the forwarding tests to forward to.
  { command: 'dnsmasq', args: ['--version'], pkg: 'dnsmasq-base' },
  // A second outside client, for the EDNS compliance cases (DNS Flag Day).
  { command: 'kdig', args: ['-V'], pkg: 'knot-dnsutils' },
  // A real etcd for `serve --etcd`, `bridge` and the rendered etcd-mode pod (started by the tests on loopback ports).
  { command: 'etcd', args: ['--version'], pkg: 'etcd-server' },
  // A real browser for the status page test (driven by playwright-core, headless).
  { command: 'chromium', args: ['--version'], pkg: 'chromium' },
];

const has = (t) => !spawnSync(t.command, t.args, { stdio: 'ignore' }).error;
const missing = tools.filter((t) => !has(t));
if (missing.length === 0) process.exit(0);

const pkgs = missing.map((t) => t.pkg).join(' ');
const canApt = process.getuid?.() === 0 && !spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).error;
if (!canApt) {
  console.error(`missing ${missing.map((t) => t.command).join(', ')}: install with 'sudo apt-get install -y ${pkgs}', then run the tests again`);
  process.exit(1);
}
console.error(`installing ${pkgs} for the tests (apt-get)`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
let r = spawnSync('apt-get', ['install', '-y', '-q', ...missing.map((t) => t.pkg)], { stdio: 'inherit', env });
if (r.status !== 0) {
  spawnSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
  r = spawnSync('apt-get', ['install', '-y', '-q', ...missing.map((t) => t.pkg)], { stdio: 'inherit', env });
}
const still = missing.filter((t) => !has(t));
if (r.status !== 0 || still.length > 0) {
  console.error(`could not install ${pkgs}: run 'apt-get update && apt-get install -y ${pkgs}' and try again`);
  process.exit(1);
}
