import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { validate } from 'dockerfile-utils';
import { ROOT } from '../helpers/serve-process.js';
import { HTTP_PORT, UID } from '../../src/deploy/manifests.js';
import { RENDERED } from '../../src/deploy/files.js';

/**
 * The Dockerfile cannot be built here (no container engine); its structure is checked against
 * the package and the manifests instead, so the image the manifests name runs what they expect.
 */

interface Instruction {
  readonly op: string;
  readonly args: string;
  readonly stage: number;
}

/** Instructions (continuation lines joined, comments dropped), each with its stage's index. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  for (const line of text.replace(/\\\n/g, ' ').split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const [, op, args] = /^(\S+)\s*(.*)$/.exec(t)!;
    if (op.toUpperCase() === 'FROM') stage++;
    out.push({ op: op.toUpperCase(), args, stage });
  }
  return out;
}

const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string>; files: string[]; scripts: Record<string, string> };
const last = Math.max(...dockerfile.map((i) => i.stage));
const final = dockerfile.filter((i) => i.stage === last);

test('Dockerfile: no syntax problems (dockerfile-utils, the checker of the VS Code Dockerfile support)', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  assert.deepEqual(validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`), []);
  // The checker does see mistakes: the same file with one instruction cut short.
  assert.ok(validate(text.replace(/^COPY .*$/m, 'COPY src')).length > 0);
});

test('Dockerfile: multi-stage on Node 20, building in a stage of its own', () => {
  const froms = dockerfile.filter((i) => i.op === 'FROM');
  assert.ok(froms.length >= 2, 'at least a build stage and a runtime stage');
  for (const f of froms) assert.match(f.args, /^node:20[-.\w]*(\s+AS\s+\w+)?$/i, f.args);
  const build = dockerfile.filter((i) => i.stage < last && i.op === 'RUN').map((i) => i.args).join('\n');
  assert.match(build, /npm ci/);
  assert.match(build, /npm run build/);
  assert.match(build, /npm prune --omit=dev/, 'only runtime dependencies go into the image');
  // Whatever the build stage copies from the repository exists.
  for (const c of dockerfile.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))) {
    const sources = c.args.split(/\s+/).slice(0, -1);
    for (const s of sources) assert.ok(existsSync(join(ROOT, s)), `COPY ${s}: exists in the repository`);
  }
});

test('Dockerfile: the runtime stage builds nothing and runs as the manifests\' non-root user', () => {
  for (const r of final.filter((i) => i.op === 'RUN')) assert.doesNotMatch(r.args, /npm (ci|install|run)|tsc/, `no build step in the runtime stage: ${r.args}`);
  const copies = final.filter((i) => i.op === 'COPY');
  assert.ok(copies.every((c) => c.args.startsWith('--from=')), 'the runtime stage copies only from the build stage');
  assert.ok(copies.some((c) => /\/dist\s/.test(c.args)), 'dist/ is copied');
  assert.ok(copies.some((c) => /\/node_modules\s/.test(c.args)), 'node_modules/ is copied');
  assert.ok(copies.some((c) => /\/package\.json\s/.test(c.args)), 'package.json is copied (the version comes from it)');
  const user = final.filter((i) => i.op === 'USER').at(-1);
  assert.ok(user, 'a USER');
  assert.equal(user.args, `${UID}:${UID}`, 'a numeric user, the one the manifests run as (runAsNonRoot can only check a number)');
  assert.ok(final.some((i) => i.op === 'RUN' && /setcap cap_net_bind_service=\+ep/.test(i.args)), 'node may bind port 53 with only NET_BIND_SERVICE');
});

test('Dockerfile: the entrypoint is the package\'s command, with the V8 flags of its first line', () => {
  const entry = final.find((i) => i.op === 'ENTRYPOINT');
  assert.ok(entry, 'an ENTRYPOINT');
  const argv = JSON.parse(entry.args) as string[];
  assert.equal(argv[0], 'node');
  const script = argv.at(-1)!;
  const workdir = final.filter((i) => i.op === 'WORKDIR').at(-1)!.args;
  assert.ok(script.startsWith(`${workdir}/`), `${script} is under the WORKDIR ${workdir}`);
  const rel = script.slice(workdir.length + 1);
  assert.equal(pkg.bin.clusterdns, rel, 'the same file as the package\'s bin');
  assert.ok(pkg.files.some((f) => rel === f || rel.startsWith(`${f}/`)), `${rel} is in the package's files`);
  assert.ok(rel.startsWith('dist/') && existsSync(join(ROOT, 'src', rel.slice('dist/'.length).replace(/\.js$/, '.ts'))), `${rel} is built from a source file`);
  // `node FILE` skips the file's #! line: the flags it sets are given here instead.
  const shebang = readFileSync(join(ROOT, 'src/cli/main.ts'), 'utf8').split('\n')[0];
  const flags = shebang.replace(/^#!\/usr\/bin\/env -S node\s*/, '').split(/\s+/).filter(Boolean);
  assert.deepEqual(argv.slice(1, -1), flags);
});

test('Dockerfile: exposes the ports the manifests use, and builds the image tag they name', () => {
  const exposed = final.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/)).sort();
  assert.deepEqual(exposed, ['53/tcp', '53/udp', `${HTTP_PORT}/tcp`].sort());
  for (const f of RENDERED) {
    const docs = parseAllDocuments(readFileSync(join(ROOT, f.path), 'utf8')).map((d) => d.toJS()).filter(Boolean);
    const images = docs.flatMap((d: any) => d.spec?.template?.spec?.containers ?? []).filter((c: any) => !c.name.startsWith('etcd')).map((c: any) => c.image);
    assert.ok(images.length > 0);
    for (const image of images) assert.equal(image, `clusterdns:${pkg.version}`, `${f.path} names the image this Dockerfile builds (docker build -t clusterdns:${pkg.version} .)`);
  }
  const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
  for (const p of ['node_modules', 'dist']) assert.ok(ignore.includes(p), `.dockerignore keeps the local ${p} out of the build`);
});
