import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { type ClusterObject, objectKey } from '../../records/objects.js';
import type { ObjectSink } from '../source.js';
import { ManifestDirectoryError, ManifestSource, type ManifestSourceOptions } from './source.js';

type Call =
  | { readonly type: 'reset'; readonly keys: string[] }
  | { readonly type: 'apply'; readonly upserts: string[]; readonly deletes: string[] };

/** Records every batch and keeps the state the batches add up to. */
class RecordingSink implements ObjectSink {
  readonly calls: Call[] = [];
  readonly state = new Map<string, ClusterObject>();
  emptyBatches = 0;

  reset(objects: readonly ClusterObject[]): void {
    this.state.clear();
    for (const o of objects) this.state.set(objectKey(o), o);
    this.calls.push({ type: 'reset', keys: objects.map(objectKey).sort() });
  }

  apply(upserts: readonly ClusterObject[], deletes: readonly string[]): void {
    if (upserts.length === 0 && deletes.length === 0) this.emptyBatches++;
    for (const key of deletes) this.state.delete(key);
    for (const o of upserts) this.state.set(objectKey(o), o);
    this.calls.push({ type: 'apply', upserts: upserts.map(objectKey).sort(), deletes: [...deletes].sort() });
  }

  keys(): string[] {
    return [...this.state.keys()].sort();
  }
}

interface LogLine {
  level: number;
  msg: string;
  file?: string;
  document?: number;
  line?: number;
  reason?: string;
}

const WARN = 40;
const INFO = 30;

async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const ns = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}}\n`;
const service = (name: string, ip: string) =>
  `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}}\nspec:\n  clusterIP: ${ip}\n  ports: [{name: http, port: 80}]\n`;
const BROKEN_PORT = `apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  clusterIP: 10.96.0.1\n  ports: [{port: 0}]\n`;

/** A temporary manifest directory with a running source; stopped and removed by the test's after hook. */
async function setup(
  t: { after(fn: () => Promise<void>): void },
  files: Record<string, string>,
  options: Partial<ManifestSourceOptions> = {},
) {
  const dir = await mkdtemp(join(tmpdir(), 'clusterdns-manifests-'));
  for (const [name, text] of Object.entries(files)) await put(dir, name, text);
  const sink = new RecordingSink();
  const logs: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => logs.push(JSON.parse(s) as LogLine) });
  const source = new ManifestSource({ dir, sink, logger, ...options });
  t.after(async () => {
    await source.stop();
    await rm(dir, { recursive: true, force: true });
  });
  await source.start();
  const warnings = () => logs.filter((l) => l.level === WARN);
  return { dir, sink, logs, warnings, source };
}

async function put(dir: string, name: string, text: string): Promise<void> {
  const path = join(dir, name);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
}

test('initial load: every manifest file, recursively; dotfiles, dot directories and other extensions skipped', async (t) => {
  const { sink, source, warnings } = await setup(t, {
    'a.yaml': ns('prod') + '---\n' + service('web', '10.96.0.1'),
    'sub/deep/b.yml': ns('dev'),
    'c.json': JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'json' } }),
    'README.md': ns('readme'),
    '.a.yaml.swp': ns('swap'),
    '.git/x.yaml': ns('git'),
    'deploy.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n',
  });
  assert.deepEqual(sink.calls, [
    { type: 'reset', keys: ['Namespace//dev', 'Namespace//json', 'Namespace//prod', 'Service/default/web'] },
  ]);
  const status = source.status();
  assert.equal(status.name, 'manifests');
  assert.equal(status.synced, true);
  assert.equal(status.objects, 4);
  assert.equal(status.lastError, '');
  assert.ok(status.lastChange > 0);
  assert.deepEqual(warnings(), []);
});

test('start rejects with the path when the directory is missing or not a directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'clusterdns-manifests-'));
  try {
    const cases = [
      { path: join(dir, 'missing'), reason: /does not exist/ },
      { path: join(dir, 'file.yaml'), reason: /is not a directory/ },
    ];
    await writeFile(join(dir, 'file.yaml'), ns('a'));
    for (const c of cases) {
      const sink = new RecordingSink();
      const source = new ManifestSource({ dir: c.path, sink, logger: pino({ level: 'silent' }) });
      await assert.rejects(source.start(), (err: unknown) => {
        assert.ok(err instanceof ManifestDirectoryError);
        assert.equal(err.code, 'CLUSTERDNS_ERR_MANIFESTS_DIR');
        assert.ok(err.message.includes(c.path), err.message);
        assert.match(err.message, c.reason);
        return true;
      });
      await source.stop();
      assert.deepEqual(sink.calls, []);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

interface ChangeCase {
  readonly name: string;
  readonly files: Record<string, string>;
  readonly change: (dir: string) => Promise<void>;
  /** The one batch the change must produce. */
  readonly upserts: string[];
  readonly deletes: string[];
  readonly state: string[];
}

const changeCases: readonly ChangeCase[] = [
  {
    name: 'add a file',
    files: { 'a.yaml': ns('a') },
    change: (dir) => put(dir, 'b.yaml', ns('b')),
    upserts: ['Namespace//b'],
    deletes: [],
    state: ['Namespace//a', 'Namespace//b'],
  },
  {
    name: 'add a file in a new subdirectory',
    files: { 'a.yaml': ns('a') },
    change: (dir) => put(dir, 'new/dir/b.yaml', ns('b')),
    upserts: ['Namespace//b'],
    deletes: [],
    state: ['Namespace//a', 'Namespace//b'],
  },
  {
    name: 'edit a file: only changed objects are sent, removed ones deleted',
    files: { 'a.yaml': ns('a') + '---\n' + ns('b') + '---\n' + service('web', '10.96.0.1') },
    change: (dir) => put(dir, 'a.yaml', ns('a') + '---\n' + service('web', '10.96.0.2')),
    upserts: ['Service/default/web'],
    deletes: ['Namespace//b'],
    state: ['Namespace//a', 'Service/default/web'],
  },
  {
    name: 'atomic rename into place',
    files: { 'a.yaml': ns('a') },
    change: async (dir) => {
      await writeFile(join(dir, '.a.yaml.tmp'), ns('renamed'));
      await rename(join(dir, '.a.yaml.tmp'), join(dir, 'a.yaml'));
    },
    upserts: ['Namespace//renamed'],
    deletes: ['Namespace//a'],
    state: ['Namespace//renamed'],
  },
  {
    name: 'delete a file',
    files: { 'a.yaml': ns('a'), 'sub/b.yaml': ns('b') },
    change: (dir) => rm(join(dir, 'sub/b.yaml')),
    upserts: [],
    deletes: ['Namespace//b'],
    state: ['Namespace//a'],
  },
  {
    name: 'delete a directory',
    files: { 'a.yaml': ns('a'), 'sub/b.yaml': ns('b'), 'sub/c.yaml': ns('c') },
    change: (dir) => rm(join(dir, 'sub'), { recursive: true }),
    upserts: [],
    deletes: ['Namespace//b', 'Namespace//c'],
    state: ['Namespace//a'],
  },
  {
    name: 'a file moved between directories keeps its objects (new origin)',
    files: { 'a.yaml': ns('a') },
    change: async (dir) => {
      await mkdir(join(dir, 'moved'));
      await rename(join(dir, 'a.yaml'), join(dir, 'moved/a.yaml'));
    },
    upserts: ['Namespace//a'],
    deletes: [],
    state: ['Namespace//a'],
  },
];

for (const watchMode of [true, false]) {
  for (const c of changeCases) {
    const how = watchMode ? 'watch (rescan every 60 s)' : 'rescan only';
    test(`live, ${how}: ${c.name}`, async (t) => {
      // With watching, a long poll interval shows the watch alone delivers the change;
      // without it, a short one shows the rescan does.
      const options = watchMode ? { pollMs: 60_000 } : { watch: false, pollMs: 100 };
      const { dir, sink, warnings } = await setup(t, c.files, options);
      await c.change(dir);
      await waitFor('one batch', () => sink.calls.length >= 2);
      assert.deepEqual(sink.calls.slice(1), [{ type: 'apply', upserts: c.upserts, deletes: c.deletes }]);
      assert.deepEqual(sink.keys(), c.state);
      assert.equal(sink.emptyBatches, 0);
      assert.deepEqual(warnings(), []);
    });
  }
}

test('a broken edit keeps the last good objects, logs each error, and the fixed file is applied', async (t) => {
  const { dir, sink, source, warnings, logs } = await setup(t, {
    'a.yaml': ns('a'),
    'web.yaml': ns('shop') + '---\n' + service('web', '10.96.0.1'),
  });
  const file = join(dir, 'web.yaml');

  // The new version has a valid namespace and an invalid Service: none of it is applied.
  await put(dir, 'web.yaml', ns('other') + '---\n' + BROKEN_PORT + '---\nkind: [\n');
  await waitFor('two warnings', () => warnings().filter((w) => w.document !== undefined).length >= 2);
  const errors = warnings().filter((w) => w.document !== undefined);
  assert.deepEqual(
    errors.map((w) => ({ file: w.file, document: w.document, line: w.line, reason: w.reason })),
    [
      // Lines count from the top of the file.
      { file, document: 2, line: 10, reason: 'Service default/web: spec.ports[0].port: expected integer 1-65535, got 0' },
      { file, document: 3, line: 13, reason: 'YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]' },
    ],
  );
  assert.equal(errors[0].msg, `${file} document 2 (line 10): Service default/web: spec.ports[0].port: expected integer 1-65535, got 0`);
  assert.deepEqual(sink.calls.length, 1, 'nothing applied');
  assert.deepEqual(sink.keys(), ['Namespace//a', 'Namespace//shop', 'Service/default/web']);
  assert.equal(source.status().objects, 3);
  assert.ok(source.status().lastError.startsWith(`${file} document 2 (line 10)`), source.status().lastError);

  // Another file changing meanwhile is applied on its own.
  await put(dir, 'b.yaml', ns('b'));
  await waitFor('b applied', () => sink.calls.length === 2);
  assert.deepEqual(sink.calls[1], { type: 'apply', upserts: ['Namespace//b'], deletes: [] });

  // Fixed: the new version replaces the last good one.
  await put(dir, 'web.yaml', ns('other') + '---\n' + service('web', '10.96.0.9'));
  await waitFor('fix applied', () => sink.calls.length === 3);
  assert.deepEqual(sink.calls[2], {
    type: 'apply',
    upserts: ['Namespace//other', 'Service/default/web'],
    deletes: ['Namespace//shop'],
  });
  const web = sink.state.get('Service/default/web');
  assert.ok(web?.kind === 'Service');
  assert.deepEqual(web.clusterIPs, ['10.96.0.9']);
  assert.equal(source.status().lastError, '');
  assert.ok(logs.some((l) => l.level === INFO && l.msg === `manifest file ${file} is valid again`));
});

test('first load: a file with a broken document contributes its valid objects', async (t) => {
  const { dir, sink, source, warnings } = await setup(t, {
    'a.yaml': ns('a') + '---\n' + BROKEN_PORT + '---\n' + ns('c'),
  });
  assert.deepEqual(sink.calls, [{ type: 'reset', keys: ['Namespace//a', 'Namespace//c'] }]);
  const errors = warnings().filter((w) => w.document !== undefined);
  assert.equal(errors.length, 1);
  assert.deepEqual(
    { file: errors[0].file, document: errors[0].document, line: errors[0].line },
    { file: join(dir, 'a.yaml'), document: 2, line: 10 },
  );
  assert.notEqual(source.status().lastError, '');

  // Fixing it applies the whole file.
  await put(dir, 'a.yaml', ns('a') + '---\n' + service('web', '10.96.0.1') + '---\n' + ns('c'));
  await waitFor('fix applied', () => sink.calls.length === 2);
  assert.deepEqual(sink.calls[1], { type: 'apply', upserts: ['Service/default/web'], deletes: [] });
  assert.equal(source.status().lastError, '');
});

test('a file added with errors contributes nothing until fixed', async (t) => {
  const { dir, sink, warnings } = await setup(t, { 'a.yaml': ns('a') });
  await put(dir, 'b.yaml', ns('b') + '---\n' + BROKEN_PORT);
  await waitFor('a warning', () => warnings().some((w) => w.document === 2));
  assert.equal(sink.calls.length, 1);
  await put(dir, 'b.yaml', ns('b'));
  await waitFor('fix applied', () => sink.calls.length === 2);
  assert.deepEqual(sink.calls[1], { type: 'apply', upserts: ['Namespace//b'], deletes: [] });
});

test('duplicates: the later file in path order wins, warned once', async (t) => {
  const { dir, sink, warnings } = await setup(t, {
    'a.yaml': service('web', '10.96.0.1'),
    'b.yaml': service('web', '10.96.0.2'),
  });
  const web = () => sink.state.get('Service/default/web');
  assert.deepEqual(web()?.kind === 'Service' && web()?.origin?.ref, `${join(dir, 'b.yaml')}#1`);
  const dupWarnings = () => warnings().filter((w) => w.msg.includes('is defined in'));
  assert.equal(dupWarnings().length, 1);
  assert.match(dupWarnings()[0].msg, /Service\/default\/web is defined in .*a\.yaml and .*b\.yaml; using the one in .*b\.yaml/);

  // Unrelated changes do not repeat the warning.
  await put(dir, 'c.yaml', ns('c'));
  await waitFor('c applied', () => sink.calls.length === 2);
  assert.equal(dupWarnings().length, 1);

  // Removing the winner exposes the other definition.
  await rm(join(dir, 'b.yaml'));
  await waitFor('b removed', () => sink.calls.length === 3);
  assert.deepEqual(sink.calls[2], { type: 'apply', upserts: ['Service/default/web'], deletes: [] });
  const svc = web();
  assert.ok(svc?.kind === 'Service');
  assert.deepEqual(svc.clusterIPs, ['10.96.0.1']);
});

test('a touched file that did not change sends no batch', async (t) => {
  const { dir, sink } = await setup(t, { 'a.yaml': ns('a'), 'b.yaml': ns('b') });
  const later = new Date(Date.now() + 5000);
  await utimes(join(dir, 'a.yaml'), later, later);
  await put(dir, 'a.yaml', ns('a')); // same content, new mtime
  // Rescans run in order, so once b's change arrives a's touch has been handled too.
  await put(dir, 'b.yaml', ns('b2'));
  await waitFor('b applied', () => sink.calls.length >= 2);
  assert.deepEqual(sink.calls.slice(1), [{ type: 'apply', upserts: ['Namespace//b2'], deletes: ['Namespace//b'] }]);
  assert.equal(sink.emptyBatches, 0);
});

test('stop closes the watcher and timers: no batches afterwards', async (t) => {
  const { dir, sink, source } = await setup(t, { 'a.yaml': ns('a') }, { pollMs: 20 });
  await source.stop();
  await put(dir, 'b.yaml', ns('b'));
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(sink.calls.length, 1);
});

test('a sink that throws is logged and everything is delivered again with reset', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'clusterdns-manifests-'));
  await put(dir, 'a.yaml', ns('a'));
  const calls: string[] = [];
  let fail = false;
  const sink: ObjectSink = {
    reset: (objects) => {
      calls.push(`reset ${objects.map(objectKey).join(',')}`);
    },
    apply: (upserts) => {
      calls.push(`apply ${upserts.map(objectKey).join(',')}`);
      if (fail) throw new Error('store is full');
    },
  };
  const source = new ManifestSource({ dir, sink, logger: pino({ level: 'silent' }), pollMs: 50 });
  t.after(async () => {
    await source.stop();
    await rm(dir, { recursive: true, force: true });
  });
  await source.start();
  fail = true;
  await put(dir, 'b.yaml', ns('b'));
  await waitFor('a reset after the failed apply', () => calls.length >= 3);
  assert.deepEqual(calls.slice(0, 3), ['reset Namespace//a', 'apply Namespace//b', 'reset Namespace//a,Namespace//b']);
  assert.equal(source.status().lastError, '');
});

test('watch alone sees every save of an editor that replaces the file by rename, in the top directory and below', async (t) => {
  const { dir, sink } = await setup(t, { 'a.yaml': ns('a0'), 'sub/b.yaml': ns('b0') }, { pollMs: 60_000 });
  for (let i = 1; i <= 3; i++) {
    for (const [file, name] of [['a.yaml', 'a'], ['sub/b.yaml', 'b']] as const) {
      await put(dir, `${file}.tmp`.replace('sub/', 'sub/.'), ns(`${name}${i}`));
      await rename(join(dir, `${file}.tmp`.replace('sub/', 'sub/.')), join(dir, file));
      await waitFor(`${file} save ${i}`, () => sink.keys().includes(`Namespace//${name}${i}`));
    }
  }
});

test('a file rewritten in place is not applied while it is empty for a moment; a file left empty is', async (t) => {
  const { dir, sink } = await setup(t, { 'a.yaml': ns('a'), 'web.yaml': service('web', '10.96.0.1') });
  const file = join(dir, 'web.yaml');
  // Truncated, then written 40 ms later: the scan after the truncation must keep web.
  await writeFile(file, '');
  await new Promise((r) => setTimeout(r, 40));
  await writeFile(file, service('web', '10.96.0.2'));
  await waitFor('new address applied', () => {
    const web = sink.state.get('Service/default/web');
    return web?.kind === 'Service' && web.clusterIPs[0] === '10.96.0.2';
  });
  assert.ok(
    sink.calls.every((c) => c.type === 'reset' || !c.deletes.includes('Service/default/web')),
    `web was never deleted: ${JSON.stringify(sink.calls)}`,
  );
  // Emptied for good: removed once it stays empty.
  await writeFile(file, '');
  await waitFor('web removed', () => !sink.state.has('Service/default/web'));
  assert.deepEqual(sink.keys(), ['Namespace//a']);
});
