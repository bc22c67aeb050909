import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterZone, PodMode } from '../records/kubernetes.js';
import type { FilteredObject } from '../records/objects.js';
import { ClusterState } from '../sources/cluster-state.js';
import { parseManifests } from '../sources/manifests/parse.js';
import { ZoneLookup } from '../zone/lookup.js';
import { RecordStore } from '../zone/store.js';
import { candidates, editDistance, explain, ExplainInputError, searchList, type ExplainResult, type Outcome, type ReasonCode } from './explain.js';
import { formatExplain } from './format.js';

/** A small cluster: every kind of answer and every kind of failure explain speaks of. */
const MANIFESTS = `
apiVersion: v1
kind: Namespace
metadata: { name: default }
---
apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: v1
kind: Service
metadata: { name: kubernetes, namespace: default }
spec: { clusterIP: 10.96.0.1, ports: [{ name: https, port: 443 }] }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec:
  clusterIP: 10.96.10.20
  ports: [{ name: http, port: 80 }, { port: 9090 }]
---
apiVersion: v1
kind: Service
metadata: { name: db, namespace: shop }
spec: { clusterIP: None, ports: [{ name: postgres, port: 5432 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: db-a, namespace: shop, labels: { kubernetes.io/service-name: db } }
addressType: IPv4
endpoints:
  - { addresses: [10.244.1.10], hostname: db-0, conditions: { ready: true } }
  - { addresses: [10.244.3.12], hostname: db-2, conditions: { ready: false } }
ports: [{ name: postgres, port: 5432, protocol: TCP }]
---
apiVersion: v1
kind: Service
metadata: { name: cache, namespace: shop }
spec: { clusterIP: None, ports: [{ name: redis, port: 6379 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: cache-a, namespace: shop, labels: { kubernetes.io/service-name: cache } }
addressType: IPv4
endpoints: [{ addresses: [10.244.1.30], conditions: { ready: false } }]
ports: [{ name: redis, port: 6379, protocol: TCP }]
---
apiVersion: v1
kind: Service
metadata: { name: payments, namespace: shop }
spec: { type: ExternalName, externalName: api.payments.example.com }
---
apiVersion: v1
kind: Service
metadata: { name: alias, namespace: shop }
spec: { type: ExternalName, externalName: web.shop.svc.cluster.local }
---
apiVersion: v1
kind: Pod
metadata: { name: db-0, namespace: shop }
status: { podIP: 10.244.1.10 }
`;

interface Setup {
  pods?: PodMode;
  upstream?: string[] | null;
  ready?: boolean;
  filtered?: FilteredObject[];
}

function build(s: Setup = {}) {
  const zone: ClusterZone = { domain: 'cluster.local', ttl: 5, pods: s.pods ?? 'disabled', endpointPodNames: false };
  const store = new RecordStore();
  const state = new ClusterState(store, zone, 'manifests');
  const parsed = parseManifests(MANIFESTS, 'cluster.yaml');
  assert.deepEqual(parsed.errors, []);
  state.reset(parsed.objects);
  if (s.filtered) state.reportFiltered(s.filtered);
  const lookup = new ZoneLookup(store, { zone, fallthroughReverse: false });
  const upstream = s.upstream === undefined ? null : s.upstream;
  return {
    state,
    run: (name: string, namespace = 'default', type = 'A') =>
      explain({ zone, lookup, index: state, ready: s.ready ?? true, forwarding: () => (upstream ? { upstreams: upstream } : null) }, { name, namespace, type }),
  };
}

interface Case {
  readonly what: string;
  readonly name: string;
  readonly ns?: string;
  readonly type?: string;
  readonly setup?: Setup;
  readonly outcome: Outcome;
  /** Each name tried and its rcode ('FORWARDED' for a name sent upstream). */
  readonly tries: readonly string[];
  readonly answeredBy?: string;
  /** "<Kind> <ns>/<name>: <text in why>" for each object, in order. */
  readonly objects?: readonly string[];
  readonly reasons?: readonly ReasonCode[];
  /** A text each reason's message contains, in order. */
  readonly reasonText?: readonly string[];
  readonly nearest?: readonly string[];
}

const CASES: readonly Case[] = [
  {
    what: 'a ClusterIP Service in the pod namespace answers on the first try',
    name: 'kubernetes',
    outcome: 'answered',
    tries: ['kubernetes.default.svc.cluster.local. NOERROR'],
    answeredBy: 'kubernetes.default.svc.cluster.local.',
    objects: ['Service default/kubernetes: ClusterIP 10.96.0.1'],
  },
  {
    what: 'svc.<ns> form answers through the second search domain',
    name: 'web.shop',
    outcome: 'answered',
    tries: ['web.shop.default.svc.cluster.local. NXDOMAIN', 'web.shop.svc.cluster.local. NOERROR'],
    answeredBy: 'web.shop.svc.cluster.local.',
    objects: ['Service shop/web: ClusterIP 10.96.10.20'],
  },
  {
    what: 'a Service in another namespace: every try fails, the other namespace is nearest',
    name: 'web',
    outcome: 'nxdomain',
    tries: ['web.default.svc.cluster.local. NXDOMAIN', 'web.svc.cluster.local. NXDOMAIN', 'web.cluster.local. NXDOMAIN', 'web. REFUSED'],
    reasons: ['no-such-service', 'no-upstream'],
    reasonText: ['no Service web in namespace default', 'no upstream'],
    nearest: ['web.shop.svc.cluster.local.'],
  },
  {
    what: 'with upstreams, the last try is forwarded',
    name: 'web',
    setup: { upstream: ['10.0.0.2:53'] },
    outcome: 'forwarded',
    tries: ['web.default.svc.cluster.local. NXDOMAIN', 'web.svc.cluster.local. NXDOMAIN', 'web.cluster.local. NXDOMAIN', 'web. FORWARDED'],
    reasons: ['no-such-service', 'outside-cluster'],
    reasonText: ['no Service web', '10.0.0.2:53'],
    nearest: ['web.shop.svc.cluster.local.'],
  },
  {
    what: 'a typo of one letter in the pod namespace',
    name: 'wbe',
    ns: 'shop',
    outcome: 'nxdomain',
    tries: ['wbe.shop.svc.cluster.local. NXDOMAIN', 'wbe.svc.cluster.local. NXDOMAIN', 'wbe.cluster.local. NXDOMAIN', 'wbe. REFUSED'],
    reasons: ['no-such-service', 'no-upstream'],
    nearest: ['web.shop.svc.cluster.local.'],
  },
  {
    what: 'a typo of one letter in the namespace',
    name: 'web.shp',
    outcome: 'nxdomain',
    tries: ['web.shp.default.svc.cluster.local. NXDOMAIN', 'web.shp.svc.cluster.local. NXDOMAIN', 'web.shp.cluster.local. NXDOMAIN', 'web.shp. REFUSED'],
    reasons: ['no-such-namespace', 'no-upstream'],
    reasonText: ['no namespace shp'],
    nearest: ['web.shop.svc.cluster.local.'],
  },
  {
    what: 'a headless Service without ready endpoints',
    name: 'cache',
    ns: 'shop',
    outcome: 'nxdomain',
    tries: ['cache.shop.svc.cluster.local. NXDOMAIN', 'cache.svc.cluster.local. NXDOMAIN', 'cache.cluster.local. NXDOMAIN', 'cache. REFUSED'],
    reasons: ['no-ready-endpoints', 'no-upstream'],
    reasonText: ['Service shop/cache is headless and has no ready endpoints (EndpointSlice cache-a: 1 not ready)'],
  },
  {
    what: 'a headless Service with ready endpoints names its slice',
    name: 'db',
    ns: 'shop',
    outcome: 'answered',
    tries: ['db.shop.svc.cluster.local. NOERROR'],
    objects: ['Service shop/db: headless: 1 ready endpoint address, 1 not ready left out', 'EndpointSlice shop/db-a: endpoints of shop/db'],
  },
  {
    what: 'a ready headless endpoint by hostname',
    name: 'db-0.db',
    ns: 'shop',
    outcome: 'answered',
    tries: ['db-0.db.shop.svc.cluster.local. NOERROR'],
    objects: ['EndpointSlice shop/db-a: headless endpoint db-0 ready: 10.244.1.10', 'Service shop/db: headless Service'],
  },
  {
    what: 'a headless endpoint that is not ready',
    name: 'db-2.db.shop.svc.cluster.local.',
    outcome: 'nxdomain',
    tries: ['db-2.db.shop.svc.cluster.local. NXDOMAIN'],
    reasons: ['endpoint-not-ready'],
    reasonText: ['endpoint db-2 (10.244.3.12) of Service shop/db is not ready'],
  },
  {
    what: 'an ExternalName Service',
    name: 'payments.shop.svc.cluster.local.',
    outcome: 'answered',
    tries: ['payments.shop.svc.cluster.local. NOERROR'],
    objects: ['Service shop/payments: ExternalName: CNAME to api.payments.example.com'],
  },
  {
    what: 'an ExternalName Service pointing inside the cluster names both Services',
    name: 'alias.shop.svc.cluster.local.',
    outcome: 'answered',
    tries: ['alias.shop.svc.cluster.local. NOERROR'],
    objects: ['Service shop/alias: CNAME to web.shop.svc.cluster.local', 'Service shop/web: ClusterIP'],
  },
  {
    what: 'SRV of a named port',
    name: '_http._tcp.web.shop',
    type: 'SRV',
    outcome: 'answered',
    tries: ['_http._tcp.web.shop.default.svc.cluster.local. NXDOMAIN', '_http._tcp.web.shop.svc.cluster.local. NOERROR'],
    objects: ['Service shop/web: named port http 80/TCP'],
  },
  {
    what: 'SRV of a port that has no name',
    name: '_metrics._tcp.web.shop.svc.cluster.local.',
    type: 'SRV',
    outcome: 'nxdomain',
    tries: ['_metrics._tcp.web.shop.svc.cluster.local. NXDOMAIN'],
    reasons: ['unnamed-port'],
    reasonText: ['unnamed port 9090/TCP: only named ports get SRV records'],
    nearest: ['_http._tcp.web.shop.svc.cluster.local.'],
  },
  {
    what: 'a name with no records of the type asked is NODATA, with the types it has',
    name: 'web.shop.svc.cluster.local.',
    type: 'AAAA',
    outcome: 'nodata',
    tries: ['web.shop.svc.cluster.local. NOERROR'],
    objects: ['Service shop/web: ClusterIP 10.96.10.20'],
    reasons: ['no-records-of-type'],
    reasonText: ['has no AAAA records (it has A, SRV)'],
  },
  {
    what: 'pod names with pods disabled',
    name: '10-244-1-10.shop.pod.cluster.local.',
    outcome: 'nxdomain',
    tries: ['10-244-1-10.shop.pod.cluster.local. NXDOMAIN'],
    reasons: ['pods-disabled'],
  },
  {
    what: 'pod names with pods verified name the pod',
    name: '10-244-1-10.shop.pod.cluster.local.',
    setup: { pods: 'verified' },
    outcome: 'answered',
    tries: ['10-244-1-10.shop.pod.cluster.local. NOERROR'],
    objects: ['Pod shop/db-0: pod IP 10.244.1.10'],
  },
  {
    what: 'pod names with pods verified, wrong namespace',
    name: '10-244-1-10.default.pod.cluster.local.',
    setup: { pods: 'verified' },
    outcome: 'nxdomain',
    tries: ['10-244-1-10.default.pod.cluster.local. NXDOMAIN'],
    reasons: ['no-such-pod'],
    nearest: ['10-244-1-10.shop.pod.cluster.local.'],
  },
  {
    what: 'pod names with pods insecure come from the name',
    name: '10-1-2-3.default.pod.cluster.local.',
    setup: { pods: 'insecure' },
    outcome: 'answered',
    tries: ['10-1-2-3.default.pod.cluster.local. NOERROR'],
    objects: ['Pod default/: read from the name itself'],
  },
  {
    what: 'a reverse name names the Service',
    name: '20.10.96.10.in-addr.arpa.',
    type: 'PTR',
    outcome: 'answered',
    tries: ['20.10.96.10.in-addr.arpa. NOERROR'],
    objects: ['Service shop/web: reverse of ClusterIP 10.96.10.20'],
  },
  {
    what: 'a name with five dots is tried as it is first',
    name: 'a.b.c.d.e.example.com',
    setup: { upstream: ['10.0.0.2:53'] },
    outcome: 'forwarded',
    tries: ['a.b.c.d.e.example.com. FORWARDED', 'a.b.c.d.e.example.com.default.svc.cluster.local. NXDOMAIN', 'a.b.c.d.e.example.com.svc.cluster.local. NXDOMAIN', 'a.b.c.d.e.example.com.cluster.local. NXDOMAIN'],
    reasons: ['outside-cluster'],
  },
  {
    what: 'an outside name without upstream',
    name: 'example.com',
    outcome: 'nxdomain',
    tries: ['example.com.default.svc.cluster.local. NXDOMAIN', 'example.com.svc.cluster.local. NXDOMAIN', 'example.com.cluster.local. NXDOMAIN', 'example.com. REFUSED'],
    reasons: ['no-upstream'],
  },
  {
    what: 'an absolute outside name without upstream is refused',
    name: 'example.com.',
    outcome: 'refused',
    tries: ['example.com. REFUSED'],
    reasons: ['no-upstream'],
  },
  {
    what: 'a Service left out by a label filter',
    name: 'canary',
    ns: 'shop',
    setup: { filtered: [{ kind: 'Service', namespace: 'shop', name: 'canary', filter: 'label', detail: 'track!=canary', origin: { source: 'kubernetes', ref: '/api/v1/namespaces/shop/services/canary' } }] },
    outcome: 'nxdomain',
    tries: ['canary.shop.svc.cluster.local. NXDOMAIN', 'canary.svc.cluster.local. NXDOMAIN', 'canary.cluster.local. NXDOMAIN', 'canary. REFUSED'],
    reasons: ['label-filtered', 'no-upstream'],
    reasonText: ["Service shop/canary exists but is filtered out by the source's label filter (track!=canary)"],
  },
  {
    what: 'a namespace left out by a namespace filter',
    name: 'api',
    ns: 'billing',
    setup: { filtered: [{ kind: 'Namespace', namespace: '', name: 'billing', filter: 'namespace', detail: 'namespaces default,shop' }] },
    outcome: 'nxdomain',
    tries: ['api.billing.svc.cluster.local. NXDOMAIN', 'api.svc.cluster.local. NXDOMAIN', 'api.cluster.local. NXDOMAIN', 'api. REFUSED'],
    reasons: ['namespace-filtered', 'no-upstream'],
  },
  {
    what: 'before the first load, cluster names are SERVFAIL',
    name: 'kubernetes',
    setup: { ready: false },
    outcome: 'servfail',
    tries: ['kubernetes.default.svc.cluster.local. SERVFAIL', 'kubernetes.svc.cluster.local. SERVFAIL', 'kubernetes.cluster.local. SERVFAIL', 'kubernetes. REFUSED'],
    reasons: ['not-synced', 'no-upstream'],
  },
];

function check(r: ExplainResult, c: Case): void {
  assert.equal(r.outcome, c.outcome, 'outcome');
  assert.deepEqual(
    r.tries.map((t) => `${t.name} ${t.rcode ?? 'FORWARDED'}`),
    c.tries,
    'tries',
  );
  if (c.answeredBy) assert.equal(r.answeredBy, c.answeredBy);
  if (c.outcome === 'answered') {
    assert.ok(r.tries[r.tries.length - 1].answer.length > 0, 'the answering try lists its records');
    assert.deepEqual(r.reasons, []);
  }
  if (c.objects) {
    assert.equal(r.objects.length, c.objects.length, `objects: ${JSON.stringify(r.objects)}`);
    c.objects.forEach((want, i) => {
      const [id, why] = want.split(': ');
      const o = r.objects[i];
      assert.equal(`${o.kind} ${o.namespace}/${o.name}`, id);
      assert.ok(o.why.includes(why), `object ${i} why '${o.why}' includes '${why}'`);
    });
  }
  assert.deepEqual(
    r.reasons.map((x) => x.code),
    c.reasons ?? (c.outcome === 'answered' ? [] : r.reasons.map((x) => x.code)),
    'reasons',
  );
  (c.reasonText ?? []).forEach((t, i) => assert.ok(r.reasons[i].message.includes(t), `reason ${i} '${r.reasons[i].message}' includes '${t}'`));
  if (c.nearest) assert.deepEqual(r.nearest.map((n) => n.name), c.nearest, 'nearest');
}

for (const c of CASES) {
  test(`explain: ${c.what}`, () => {
    const r = build(c.setup).run(c.name, c.ns, c.type);
    check(r, c);
    // The report for people says the same.
    const text = formatExplain(r);
    for (const t of r.tries) assert.ok(text.includes(t.name), `report lists ${t.name}`);
    for (const x of r.reasons) assert.ok(text.includes(x.message));
    for (const n of r.nearest) assert.ok(text.includes(n.name));
  });
}

test('explain: objects carry their source and file', () => {
  const r = build().run('kubernetes');
  assert.equal(r.objects[0].source, 'manifests');
  assert.equal(r.objects[0].ref, 'cluster.yaml#3');
  assert.match(formatExplain(r), /Service default\/kubernetes \[manifests: cluster\.yaml#3\]/);
});

test('explain: the answer follows the data', () => {
  const { state, run } = build();
  assert.equal(run('web').outcome, 'nxdomain');
  state.apply(
    [{ kind: 'Service', namespace: 'default', name: 'web', type: 'ClusterIP', clusterIPs: ['10.96.0.99'], externalName: '', ports: [], publishNotReadyAddresses: false }],
    [],
  );
  const r = run('web');
  assert.equal(r.outcome, 'answered');
  assert.deepEqual(r.tries[0].answer, ['web.default.svc.cluster.local. 5 IN A 10.96.0.99']);
  state.apply([], ['Service/shop/cache']);
  const gone = run('cache', 'shop');
  assert.deepEqual(gone.reasons.map((x) => x.code), ['no-such-service', 'no-upstream']);
});

test('explain: bad questions are typed errors naming the parameter', () => {
  const { run } = build();
  const cases: [string, string, string, string][] = [
    ['', 'default', 'A', 'name'],
    ['a..b', 'default', 'A', 'name'],
    ['x'.repeat(64), 'default', 'A', 'name'],
    ['web', 'Not_A_Namespace', 'A', 'namespace'],
    ['web', 'default', 'BOGUS', 'type'],
  ];
  for (const [name, ns, type, param] of cases) {
    assert.throws(
      () => run(name, ns, type),
      (e: unknown) => e instanceof ExplainInputError && e.param === param && e.code === 'CLUSTERDNS_ERR_EXPLAIN_INPUT',
      `${JSON.stringify([name, ns, type])} -> ${param}`,
    );
  }
});

test('resolver search order (ndots:5)', () => {
  const search = searchList('shop', 'cluster.local');
  assert.deepEqual(search, ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local']);
  assert.deepEqual(candidates('web', search), ['web.shop.svc.cluster.local', 'web.svc.cluster.local', 'web.cluster.local', 'web']);
  assert.deepEqual(candidates('web.', search), ['web']);
  assert.deepEqual(candidates('a.b.c.d.e.f', search).slice(0, 2), ['a.b.c.d.e.f', 'a.b.c.d.e.f.shop.svc.cluster.local']);
  assert.deepEqual(candidates('a.b.c.d.e', search).at(-1), 'a.b.c.d.e');
});

test('edit distance: one letter is a substitution, insertion, deletion or swap', () => {
  const cases: [string, string, number][] = [
    ['web', 'web', 0],
    ['web', 'wab', 1],
    ['web', 'we', 1],
    ['web', 'webb', 1],
    ['web', 'wbe', 1],
    ['web', 'api', 2],
    ['shop', 'shp', 1],
    ['kubernetes', 'kubernets', 1],
  ];
  for (const [a, b, d] of cases) assert.equal(editDistance(a, b), d, `${a} ~ ${b}`);
});
