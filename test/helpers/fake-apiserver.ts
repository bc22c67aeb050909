import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/**
 * A Kubernetes API server for tests, faithful to the protocol the client library speaks:
 * HTTPS with its own CA (written into the kubeconfig it hands out), bearer-token auth, the
 * real collection paths of Services, EndpointSlices, Namespaces and Pods (all namespaces and
 * per namespace), lists with resourceVersion and limit/continue paging from a snapshot, and
 * `?watch=true` streams of newline-delimited JSON events (ADDED, MODIFIED, DELETED, BOOKMARK,
 * ERROR) that resume from a resourceVersion and answer an expired one with an ERROR event of
 * code 410, as kube-apiserver does. Label selectors filter lists and watches (an object that
 * stops matching is DELETED for that watch).
 *
 * Faults on demand: compaction (410 Gone), expiring open watches, cutting streams in the middle
 * of an event, silently losing changes (never sent, never replayed), going down and coming back
 * on the same port.
 */

export type ResourceName = 'services' | 'endpointslices' | 'namespaces' | 'pods';

type Obj = Record<string, any>;

interface Event {
  readonly rv: number;
  readonly resource: ResourceName;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: Obj;
  /** The object before a MODIFIED, for selector transitions. */
  readonly old?: Obj;
}

interface Watcher {
  readonly resource: ResourceName;
  readonly namespace: string;
  readonly selector: Selector;
  readonly res: ServerResponse;
  readonly timers: NodeJS.Timeout[];
}

interface Snapshot {
  readonly items: Obj[];
  readonly rv: number;
  readonly epoch: number;
}

interface ResourceInfo {
  readonly kind: string;
  readonly apiVersion: string;
  readonly namespaced: boolean;
}

const RESOURCES: Record<ResourceName, ResourceInfo> = {
  services: { kind: 'Service', apiVersion: 'v1', namespaced: true },
  endpointslices: { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', namespaced: true },
  namespaces: { kind: 'Namespace', apiVersion: 'v1', namespaced: false },
  pods: { kind: 'Pod', apiVersion: 'v1', namespaced: true },
};

const KIND_TO_RESOURCE: Record<string, ResourceName> = { Service: 'services', EndpointSlice: 'endpointslices', Namespace: 'namespaces', Pod: 'pods' };

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly status: number;
}

export interface FakeApiOptions {
  /** The bearer token clients must send (default: a random one). */
  readonly token?: string;
  /** Longest a watch stream stays open when the client asks for no timeout (default 30 s). */
  readonly maxWatchSeconds?: number;
  /** Bookmark interval for watches that allow them (default 1000 ms). */
  readonly bookmarkMs?: number;
}

// ---------------------------------------------------------------------------------------------
// TLS: a CA and a server certificate for 127.0.0.1, made once per test process with openssl.

let tlsFiles: { dir: string; ca: string; cert: string; key: string } | null = null;

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`openssl is needed for the fake Kubernetes API's certificates: install it with 'apt-get install -y openssl' (${r.error.message})`);
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

export function testCertificates(): { dir: string; ca: string; cert: string; key: string } {
  if (tlsFiles) return tlsFiles;
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-fakeapi-tls-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3', '-subj', '/CN=fake-kubernetes-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=kube-apiserver'], dir);
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '3', '-extfile', 'ext.cnf'], dir);
  tlsFiles = { dir, ca: readFileSync(join(dir, 'ca.crt'), 'utf8'), cert: readFileSync(join(dir, 'server.crt'), 'utf8'), key: readFileSync(join(dir, 'server.key'), 'utf8') };
  return tlsFiles;
}

// ---------------------------------------------------------------------------------------------
// Label selectors (the API's syntax): k=v, k==v, k!=v, k, !k, k in (a,b), k notin (a,b).

type Requirement = (labels: Record<string, string>) => boolean;
type Selector = readonly Requirement[];

export function parseSelector(text: string): Selector {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '') parts.push(cur);
  return parts.map((raw): Requirement => {
    const p = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p))) {
      const [, key, op, list] = m;
      const values = new Set(list.split(',').map((v) => v.trim()));
      return op === 'in' ? (l) => key in l && values.has(l[key]) : (l) => !(key in l) || !values.has(l[key]);
    }
    if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(p))) {
      const [, key, op, value] = m;
      return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
    }
    if ((m = /^!([\w./-]+)$/.exec(p))) return (l) => !(m![1] in l);
    if ((m = /^([\w./-]+)$/.exec(p))) return (l) => m![1] in l;
    throw new Error(`unable to parse requirement: ${p}`);
  });
}

const matches = (sel: Selector, o: Obj) => sel.every((r) => r(o.metadata?.labels ?? {}));

// ---------------------------------------------------------------------------------------------

export class FakeApiServer {
  token: string;
  readonly requests: RequestRecord[] = [];
  readonly #store: Record<ResourceName, Map<string, Obj>> = { services: new Map(), endpointslices: new Map(), namespaces: new Map(), pods: new Map() };
  #history: Event[] = [];
  /** Watches from a resourceVersion older than this get 410. */
  #compactedRV = 0;
  #rv = 1000;
  /** Continue snapshots by id; compaction bumps the epoch and invalidates them. */
  readonly #snapshots = new Map<string, Snapshot>();
  #epoch = 0;
  readonly #watchers = new Set<Watcher>();
  readonly #sockets = new Set<Socket>();
  #dropNext = 0;
  /** Collection paths answered with an error status instead (both lists and watches). */
  readonly #failing = new Map<string, number>();
  #cutNext = false;
  #server: https.Server;
  #port = 0;
  #up = false;
  readonly #maxWatchSeconds: number;
  readonly #bookmarkMs: number;
  readonly #dir = mkdtempSync(join(tmpdir(), 'clusterdns-fakeapi-'));

  private constructor(options: FakeApiOptions) {
    this.token = options.token ?? randomUUID();
    this.#maxWatchSeconds = options.maxWatchSeconds ?? 30;
    this.#bookmarkMs = options.bookmarkMs ?? 1000;
    this.#server = this.#createServer();
  }

  static async start(options: FakeApiOptions = {}): Promise<FakeApiServer> {
    const api = new FakeApiServer(options);
    await api.up();
    return api;
  }

  get url(): string {
    return `https://127.0.0.1:${this.#port}`;
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  /** Open watch streams, per resource. */
  watchers(resource?: ResourceName): number {
    return [...this.#watchers].filter((w) => !resource || w.resource === resource).length;
  }

  /** Writes a kubeconfig for this server (with another token when given) and returns its path. */
  writeKubeconfig(options: { token?: string; name?: string } = {}): string {
    const ca = Buffer.from(testCertificates().ca).toString('base64');
    const path = join(this.#dir, options.name ?? 'kubeconfig');
    writeFileSync(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '  - name: fake',
        '    cluster:',
        `      server: ${this.url}`,
        `      certificate-authority-data: ${ca}`,
        'users:',
        '  - name: tester',
        '    user:',
        `      token: ${options.token ?? this.token}`,
        'contexts:',
        '  - name: fake',
        '    context: { cluster: fake, user: tester }',
        'current-context: fake',
        '',
      ].join('\n'),
    );
    return path;
  }

  // -------------------------------------------------------------------------------------------
  // Objects

  /** Creates or replaces an object (a manifest document: kind, metadata, spec, ...). */
  put(doc: Obj): Obj {
    const resource = KIND_TO_RESOURCE[doc.kind];
    if (!resource) throw new Error(`the fake API does not serve kind ${doc.kind}`);
    const info = RESOURCES[resource];
    const ns = info.namespaced ? (doc.metadata?.namespace ?? 'default') : '';
    const key = `${ns}/${doc.metadata.name}`;
    const old = this.#store[resource].get(key);
    const rv = ++this.#rv;
    const object: Obj = {
      ...structuredClone(doc),
      kind: info.kind,
      apiVersion: info.apiVersion,
      metadata: {
        ...structuredClone(doc.metadata),
        ...(info.namespaced ? { namespace: ns } : {}),
        uid: old?.metadata.uid ?? randomUUID(),
        resourceVersion: String(rv),
        creationTimestamp: old?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        // What a real server keeps on every object, and what the source must not retain.
        managedFields: [{ manager: 'kubectl', operation: 'Update', apiVersion: info.apiVersion, time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': {} }, 'f:spec': {} } }],
      },
    };
    if (resource === 'services') object.spec = { type: 'ClusterIP', sessionAffinity: 'None', ...object.spec };
    this.#store[resource].set(key, object);
    this.#record({ rv, resource, type: old ? 'MODIFIED' : 'ADDED', object, old });
    return object;
  }

  remove(kind: string, namespace: string, name: string): boolean {
    const resource = KIND_TO_RESOURCE[kind];
    const key = `${RESOURCES[resource].namespaced ? namespace : ''}/${name}`;
    const old = this.#store[resource].get(key);
    if (!old) return false;
    this.#store[resource].delete(key);
    const rv = ++this.#rv;
    this.#record({ rv, resource, type: 'DELETED', object: { ...old, metadata: { ...old.metadata, resourceVersion: String(rv) } } });
    return true;
  }

  get(kind: string, namespace: string, name: string): Obj | undefined {
    const resource = KIND_TO_RESOURCE[kind];
    return this.#store[resource].get(`${RESOURCES[resource].namespaced ? namespace : ''}/${name}`);
  }

  /**
   * Loads manifest documents as a cluster would hold them. core/v1 Endpoints are mirrored into
   * EndpointSlices (as the EndpointSlice mirroring controller does); other kinds are skipped.
   */
  load(docs: readonly Obj[]): void {
    for (const d of docs) {
      if (d?.kind === 'List') this.load(d.items ?? []);
      else if (d?.kind === 'Endpoints') for (const slice of mirrorEndpoints(d)) this.put(slice);
      else if (d && KIND_TO_RESOURCE[d.kind]) this.put(d);
    }
  }

  /** Loads every YAML file of a manifest directory. */
  loadDirectory(dir: string): void {
    for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
      this.load(parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => d.toJS() as Obj));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Faults

  /** Forgets the event history (as etcd compaction does): watches resuming from before now get 410, continue tokens expire. */
  compact(): void {
    this.#history = [];
    this.#compactedRV = this.#rv;
    this.#epoch++;
    this.#snapshots.clear();
  }

  /** Sends every open watch an ERROR event with a 410 Status and ends it. */
  expireWatches(): void {
    this.compact();
    for (const w of [...this.#watchers]) {
      this.#write(w, { type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${this.#compactedRV - 1} (${this.#compactedRV})`) });
      this.#endWatch(w);
    }
  }

  /** The next change is written to each watcher only in part, and its connection is then cut. */
  cutNextEvent(): void {
    this.#cutNext = true;
  }

  /** The next n changes happen but are lost: never sent to a watch, never replayed. */
  dropNextEvents(n = 1): void {
    this.#dropNext += n;
  }

  /** Answers every request for this collection path with this status (500 by default) until healed. */
  fail(path: string, code = 500): void {
    this.#failing.set(path, code);
  }

  heal(path?: string): void {
    if (path) this.#failing.delete(path);
    else this.#failing.clear();
  }

  /** Requests for this collection path are read and never answered (a server that hangs). */
  stall(path: string): void {
    this.#failing.set(path, 0);
  }

  /** Stops listening and drops every connection (a crashed or unreachable API server). */
  async down(): Promise<void> {
    if (!this.#up) return;
    this.#up = false;
    for (const w of [...this.#watchers]) this.#endWatch(w);
    const closed = new Promise<void>((r) => this.#server.close(() => r()));
    for (const s of this.#sockets) s.destroy();
    await closed;
  }

  /** Listens again (on the same port once it has one), with the same objects and history. */
  async up(): Promise<void> {
    if (this.#up) return;
    this.#server = this.#createServer();
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    const a = this.#server.address();
    if (typeof a === 'object' && a) this.#port = a.port;
    this.#up = true;
  }

  async stop(): Promise<void> {
    await this.down();
  }

  // -------------------------------------------------------------------------------------------

  #createServer(): https.Server {
    const tls = testCertificates();
    const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      try {
        this.#handle(req, res);
      } catch (err) {
        this.#reply(req, res, 500, status(500, 'InternalError', String(err)));
      }
    });
    server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    return server;
  }

  #record(e: Event): void {
    if (this.#dropNext > 0) {
      this.#dropNext--;
      return;
    }
    this.#history.push(e);
    const cut = this.#cutNext;
    this.#cutNext = false;
    for (const w of [...this.#watchers]) {
      const out = this.#eventFor(w, e);
      if (!out) continue;
      if (cut) {
        const line = `${JSON.stringify(out)}\n`;
        w.res.write(line.slice(0, Math.floor(line.length / 2)));
        this.#forget(w);
        w.res.socket?.destroy();
      } else this.#write(w, out);
    }
  }

  /** What a watcher sees of an event: nothing, or the event (turned into ADDED/DELETED when its selector match changed). */
  #eventFor(w: Watcher, e: Event): Obj | null {
    if (e.resource !== w.resource) return null;
    if (w.namespace && e.object.metadata.namespace !== w.namespace) return null;
    const now = matches(w.selector, e.object);
    if (e.type === 'MODIFIED' && e.old) {
      const before = matches(w.selector, e.old);
      if (!before && !now) return null;
      if (before && !now) return { type: 'DELETED', object: e.object };
      if (!before && now) return { type: 'ADDED', object: e.object };
    } else if (!now) return null;
    return { type: e.type, object: e.object };
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://fake');
    const query = Object.fromEntries(url.searchParams);
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return this.#reply(req, res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    }
    const failing = this.#failing.get(url.pathname);
    if (failing === 0) return;
    if (failing) return this.#reply(req, res, failing, status(failing, 'InternalError', `injected failure for ${url.pathname}`));
    const route = parsePath(url.pathname);
    if (!route || req.method !== 'GET') return this.#reply(req, res, 404, status(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`));
    let selector: Selector;
    try {
      selector = parseSelector(query.labelSelector ?? '');
    } catch (err) {
      return this.#reply(req, res, 400, status(400, 'BadRequest', `unable to parse requirement: ${(err as Error).message}`));
    }
    if (query.watch === 'true' || query.watch === '1') return this.#watch(req, res, route, selector, query);
    return this.#list(req, res, route, selector, query);
  }

  #reply(req: IncomingMessage, res: ServerResponse, code: number, body: Obj): void {
    const url = new URL(req.url ?? '/', 'https://fake');
    this.requests.push({ method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), status: code });
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  #list(req: IncomingMessage, res: ServerResponse, route: Route, selector: Selector, query: Record<string, string>): void {
    const info = RESOURCES[route.resource];
    let snap: Snapshot;
    let offset = 0;
    if (query.continue) {
      let token: { id: string; offset: number };
      try {
        token = JSON.parse(Buffer.from(query.continue, 'base64').toString('utf8'));
      } catch {
        return this.#reply(req, res, 400, status(400, 'BadRequest', 'continue key is not valid'));
      }
      const found = this.#snapshots.get(token.id);
      if (!found || found.epoch !== this.#epoch) {
        return this.#reply(req, res, 410, status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.'));
      }
      snap = found;
      offset = token.offset;
    } else {
      const items = [...this.#store[route.resource].entries()]
        .filter(([, o]) => !route.namespace || o.metadata.namespace === route.namespace)
        .filter(([, o]) => matches(selector, o))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, o]) => {
          // List items carry no kind or apiVersion of their own.
          const { kind: _k, apiVersion: _a, ...rest } = o;
          return rest;
        });
      snap = { items, rv: this.#rv, epoch: this.#epoch };
    }
    const limit = Number(query.limit ?? 0);
    const end = limit > 0 ? Math.min(snap.items.length, offset + limit) : snap.items.length;
    const metadata: Obj = { resourceVersion: String(snap.rv) };
    if (end < snap.items.length) {
      const id = randomUUID();
      this.#snapshots.set(id, snap);
      metadata.continue = Buffer.from(JSON.stringify({ id, offset: end })).toString('base64');
      metadata.remainingItemCount = snap.items.length - end;
    }
    this.#reply(req, res, 200, { kind: `${info.kind}List`, apiVersion: info.apiVersion, metadata, items: snap.items.slice(offset, end) });
  }

  #watch(req: IncomingMessage, res: ServerResponse, route: Route, selector: Selector, query: Record<string, string>): void {
    const url = new URL(req.url ?? '/', 'https://fake');
    this.requests.push({ method: 'GET', path: url.pathname, query, status: 200 });
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const w: Watcher = { resource: route.resource, namespace: route.namespace, selector, res, timers: [] };
    const fromRV = query.resourceVersion ?? '';
    if (fromRV !== '' && fromRV !== '0' && Number(fromRV) < this.#compactedRV) {
      this.#write(w, { type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${fromRV} (${this.#compactedRV})`) });
      res.end();
      return;
    }
    this.#watchers.add(w);
    res.on('close', () => this.#forget(w));
    if (fromRV === '' || fromRV === '0') {
      for (const o of this.#store[route.resource].values()) {
        const e = this.#eventFor(w, { rv: 0, resource: route.resource, type: 'ADDED', object: o });
        if (e) this.#write(w, e);
      }
    } else {
      for (const e of this.#history) {
        if (e.rv <= Number(fromRV)) continue;
        const out = this.#eventFor(w, e);
        if (out) this.#write(w, out);
      }
    }
    const seconds = Math.min(Number(query.timeoutSeconds ?? this.#maxWatchSeconds) || this.#maxWatchSeconds, this.#maxWatchSeconds);
    w.timers.push(setTimeout(() => this.#endWatch(w), seconds * 1000));
    if (query.allowWatchBookmarks === 'true') {
      const info = RESOURCES[route.resource];
      w.timers.push(setInterval(() => this.#write(w, { type: 'BOOKMARK', object: { kind: info.kind, apiVersion: info.apiVersion, metadata: { resourceVersion: String(this.#rv) } } }), this.#bookmarkMs));
    }
  }

  #write(w: Watcher, event: Obj): void {
    if (!w.res.writableEnded) w.res.write(`${JSON.stringify(event)}\n`);
  }

  #endWatch(w: Watcher): void {
    this.#forget(w);
    if (!w.res.writableEnded) w.res.end();
  }

  #forget(w: Watcher): void {
    for (const t of w.timers) clearTimeout(t);
    this.#watchers.delete(w);
  }
}

interface Route {
  readonly resource: ResourceName;
  readonly namespace: string;
}

function parsePath(path: string): Route | null {
  let m: RegExpExecArray | null;
  if ((m = /^\/api\/v1\/(services|pods|namespaces)$/.exec(path))) return { resource: m[1] as ResourceName, namespace: '' };
  if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/(services|pods)$/.exec(path))) return { resource: m[2] as ResourceName, namespace: m[1] };
  if (path === '/apis/discovery.k8s.io/v1/endpointslices') return { resource: 'endpointslices', namespace: '' };
  if ((m = /^\/apis\/discovery\.k8s\.io\/v1\/namespaces\/([^/]+)\/endpointslices$/.exec(path))) return { resource: 'endpointslices', namespace: m[1] };
  return null;
}

function status(code: number, reason: string, message: string): Obj {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/** core/v1 Endpoints as the mirroring controller turns them into EndpointSlices: one per subset and address family. */
export function mirrorEndpoints(ep: Obj): Obj[] {
  const out: Obj[] = [];
  (ep.subsets ?? []).forEach((subset: Obj, i: number) => {
    const all = [...(subset.addresses ?? []).map((a: Obj) => ({ a, ready: true })), ...(subset.notReadyAddresses ?? []).map((a: Obj) => ({ a, ready: false }))];
    for (const family of ['IPv4', 'IPv6'] as const) {
      const mine = all.filter(({ a }) => (family === 'IPv6') === String(a.ip).includes(':'));
      if (mine.length === 0) continue;
      out.push({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: `${ep.metadata.name}-${family.toLowerCase()}-${i}`,
          namespace: ep.metadata.namespace ?? 'default',
          labels: { 'kubernetes.io/service-name': ep.metadata.name, 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' },
        },
        addressType: family,
        endpoints: mine.map(({ a, ready }) => ({ addresses: [a.ip], conditions: { ready }, ...(a.hostname ? { hostname: a.hostname } : {}), ...(a.targetRef ? { targetRef: a.targetRef } : {}) })),
        ports: (subset.ports ?? []).map((p: Obj) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: p.protocol ?? 'TCP' })),
      });
    }
  });
  return out;
}
