#!/usr/bin/env node
// Writes the manifests under deploy/ from the built command line: `npm run deploy:render`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist/cli/main.js');
const { RENDERED, TEMPLATES } = await import(join(root, 'dist/deploy/files.js'));
const { template, DEFAULT_ETCD_IMAGE, DEFAULT_ETCD_PREFIX, DEFAULT_IMAGE } = await import(join(root, 'dist/deploy/render.js'));
const { VERSION } = await import(join(root, 'dist/cli/version.js'));

const write = (path, text) => {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
  console.log(`wrote ${path}`);
};
for (const f of RENDERED) write(f.path, execFileSync(cli, ['render', ...f.args], { encoding: 'utf8' }));
for (const t of TEMPLATES) {
  write(t.path, template({ mode: t.mode, pods: 'insecure', image: DEFAULT_IMAGE(VERSION), etcdImage: DEFAULT_ETCD_IMAGE, etcdPrefix: DEFAULT_ETCD_PREFIX }, VERSION));
}
