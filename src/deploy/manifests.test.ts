import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../config/file.js';
import { applyConfig, configKeys } from '../cli/config-apply.js';
import { serveCommand } from '../cli/program.js';
import { validateObjects } from '../../test/helpers/kube-validate.js';
import { CONFIG_PATH, HTTP_PORT, UID, type RenderOptions } from './manifests.js';
import { DEFAULT_ETCD_IMAGE, DEFAULT_ETCD_PREFIX, PLACEHOLDERS, render, template } from './render.js';

/** What `clusterdns render` prints, parsed back as Kubernetes would read it. */

type Obj = Record<string, any>;

const base: RenderOptions = {
  domain: 'cluster.local',
  serverIp: '10.0.0.10',
  replicas: 2,
  mode: 'direct',
  pods: 'insecure',
  image: 'clusterdns:1.2.3',
  etcdImage: DEFAULT_ETCD_IMAGE,
  etcdPrefix: DEFAULT_ETCD_PREFIX,
};

const cases: readonly { name: string; o: Partial<RenderOptions> }[] = [
  { name: 'direct, defaults', o: {} },
  { name: 'direct, one replica, verified pods, other domain', o: { replicas: 1, pods: 'verified', domain: 'corp.example' } },
  { name: 'direct, IPv6 server IP, many replicas, no pod records', o: { serverIp: 'fd00:10:96::a', replicas: 7, pods: 'disabled' } },
  { name: 'etcd, defaults', o: { mode: 'etcd' } },
  { name: 'etcd, own prefix and images', o: { mode: 'etcd', etcdPrefix: '/dns/records', image: 'registry.example/dns/clusterdns:9', etcdImage: 'quay.io/coreos/etcd:v3.5.17', replicas: 3 } },
];

const EXPECTED_KINDS = ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service', 'ServiceAccount'];

function parse(text: string): Obj[] {
  const docs = parseAllDocuments(text);
  for (const d of docs) assert.deepEqual(d.errors, [], 'the output is valid YAML');
  // The leading comment is a document of its own with nothing in it; kubectl skips it too.
  return docs.map((d) => d.toJS() as Obj).filter((d) => d !== null);
}

const byKind = (docs: Obj[], kind: string) => {
  const found = docs.filter((d) => d.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0];
};

for (const c of cases) {
  test(`render: ${c.name}`, () => {
    const o = { ...base, ...c.o };
    const docs = parse(render(o, '1.2.3'));
    assert.deepEqual(docs.map((d) => d.kind).sort(), EXPECTED_KINDS);
    assert.deepEqual(validateObjects(docs), [], 'every object is one the API server accepts');

    // The Service that kubelets' --cluster-dns and existing ServiceMonitors point at.
    const svc = byKind(docs, 'Service');
    assert.equal(svc.metadata.name, 'kube-dns');
    assert.equal(svc.metadata.namespace, 'kube-system');
    assert.equal(svc.metadata.labels['k8s-app'], 'kube-dns');
    assert.deepEqual(svc.spec.selector, { 'k8s-app': 'kube-dns' });
    assert.equal(svc.spec.clusterIP, o.serverIp);
    assert.deepEqual(
      svc.spec.ports.map((p: Obj) => `${p.name} ${p.port}/${p.protocol}`),
      ['dns 53/UDP', 'dns-tcp 53/TCP', `metrics ${HTTP_PORT}/TCP`],
    );

    const dep = byKind(docs, 'Deployment');
    assert.equal(dep.metadata.namespace, 'kube-system');
    assert.equal(dep.spec.replicas, o.replicas);
    const pod = dep.spec.template.spec;
    assert.equal(pod.priorityClassName, 'system-cluster-critical');
    assert.equal(pod.dnsPolicy, 'Default', 'the DNS pods resolve through the node, never through themselves');
    assert.equal(pod.serviceAccountName, byKind(docs, 'ServiceAccount').metadata.name);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    const anti = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
    assert.equal(anti.length, 1);
    assert.equal(anti[0].podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
    assert.deepEqual(anti[0].podAffinityTerm.labelSelector.matchLabels, dep.spec.selector.matchLabels, 'replicas spread over nodes');

    const pdb = byKind(docs, 'PodDisruptionBudget');
    assert.deepEqual(pdb.spec.selector.matchLabels, dep.spec.selector.matchLabels);
    assert.equal(pdb.spec.maxUnavailable, 1, 'a drain takes one DNS pod at a time, and never blocks with one replica');

    // Every container: non-root, read-only root, no privilege escalation, all capabilities
    // dropped; only the one answering port 53 gets NET_BIND_SERVICE back.
    const containers: Obj[] = pod.containers;
    assert.deepEqual(containers.map((x) => x.name), o.mode === 'direct' ? ['clusterdns'] : ['etcd', 'bridge', 'clusterdns']);
    for (const x of containers) {
      const sc = x.securityContext;
      assert.equal(sc.runAsNonRoot, true, x.name);
      assert.equal(sc.runAsUser, UID, x.name);
      assert.equal(sc.readOnlyRootFilesystem, true, x.name);
      assert.equal(sc.allowPrivilegeEscalation, false, x.name);
      assert.deepEqual(sc.capabilities.drop, ['ALL'], x.name);
      assert.deepEqual(sc.capabilities.add ?? [], x.name === 'clusterdns' ? ['NET_BIND_SERVICE'] : [], x.name);
      assert.ok(x.resources.requests.cpu && x.resources.requests.memory && x.resources.limits.memory, `${x.name} has requests and a memory limit`);
    }
    const serve = containers.find((x) => x.name === 'clusterdns')!;
    assert.equal(serve.image, o.image);
    assert.equal(serve.livenessProbe.httpGet.path, '/health');
    assert.equal(serve.readinessProbe.httpGet.path, '/ready');
    const probePort = serve.ports.find((p: Obj) => p.name === serve.livenessProbe.httpGet.port);
    assert.equal(probePort.containerPort, HTTP_PORT);
    const source = o.mode === 'direct' ? ['--kubernetes'] : ['--etcd', 'http://127.0.0.1:2379', '--etcd-prefix', o.etcdPrefix];
    assert.deepEqual(serve.args, ['serve', ...source, '--config', CONFIG_PATH]);
    assert.equal(serve.volumeMounts[0].mountPath + '/config.yaml', CONFIG_PATH);
    assert.equal(serve.volumeMounts[0].subPath, undefined, 'no subPath: an updated ConfigMap reaches the file, which is reloaded');

    if (o.mode === 'etcd') {
      const etcd = containers.find((x) => x.name === 'etcd')!;
      assert.equal(etcd.image, o.etcdImage);
      const urls = etcd.command.filter((a: string) => a.startsWith('--listen-'));
      assert.ok(urls.length >= 2 && urls.every((a: string) => /=http:\/\/127\.0\.0\.1:\d+$/.test(a)), `etcd listens on loopback only: ${urls}`);
      const dataDir = etcd.command.find((a: string) => a.startsWith('--data-dir='))!.slice('--data-dir='.length);
      const mount = etcd.volumeMounts.find((m: Obj) => dataDir.startsWith(m.mountPath));
      assert.ok(pod.volumes.find((v: Obj) => v.name === mount.name).emptyDir, 'etcd data on an emptyDir');
      const bridge = containers.find((x) => x.name === 'bridge')!;
      assert.equal(bridge.image, o.image);
      assert.deepEqual(bridge.args, ['bridge', '--kubernetes', '--etcd', 'http://127.0.0.1:2379', '--domain', o.domain, '--etcd-prefix', o.etcdPrefix]);
    }

    // Least privilege: list and watch of what the Kubernetes source reads, pods only when verified.
    const role = byKind(docs, 'ClusterRole');
    const granted = role.rules.flatMap((r: Obj) => r.resources.flatMap((res: string) => r.apiGroups.map((g: string) => `${g || 'core'}/${res}: ${r.verbs.join(',')}`)));
    const wanted = ['core/services', 'core/namespaces', 'discovery.k8s.io/endpointslices', ...(o.pods === 'verified' ? ['core/pods'] : [])];
    assert.deepEqual(granted.sort(), wanted.map((w) => `${w}: list,watch`).sort());
    const binding = byKind(docs, 'ClusterRoleBinding');
    assert.equal(binding.roleRef.name, role.metadata.name);

    // The config file: what `clusterdns lint` accepts, for this domain, on the Service's family.
    const file = byKind(docs, 'ConfigMap').data['config.yaml'];
    const serveCmd = serveCommand();
    const loaded = parseConfig('config.yaml', file, configKeys(serveCmd));
    assert.deepEqual([...loaded.issues, ...applyConfig(serveCmd, loaded, false)], []);
    assert.equal(loaded.values.get('domain'), o.domain);
    assert.equal(loaded.values.get('pods'), o.pods);
    assert.deepEqual(loaded.values.get('listen'), [o.serverIp.includes(':') ? '[::]:53' : '0.0.0.0:53']);
    assert.match(String(loaded.values.get('http')), new RegExp(`:${HTTP_PORT}$`));
  });
}

test('render: the first line says the command that makes the same output', () => {
  const text = render({ ...base, mode: 'etcd', etcdPrefix: '/x' }, '1.2.3');
  assert.match(text.split('\n')[0], /^# clusterdns 1\.2\.3: clusterdns render --domain cluster\.local --server-ip 10\.0\.0\.10 --replicas 2 --mode etcd --etcd-prefix \/x \| kubectl apply -f -$/);
  const other = render({ ...base, image: 'r.example/c:2', pods: 'verified' }, '1.2.3');
  assert.match(other.split('\n')[0], / --mode direct --pods verified --image r\.example\/c:2 \| /);
});

test('template: substituting the placeholders gives what render prints', () => {
  const values = [
    { domain: 'cluster.local', serverIp: '10.96.0.10', replicas: 2 },
    { domain: 'corp.example', serverIp: '172.20.0.10', replicas: 11 },
  ];
  for (const mode of ['direct', 'etcd'] as const) {
    const t = template({ ...base, mode }, '1.2.3');
    for (const p of Object.values(PLACEHOLDERS)) assert.ok(t.includes(p), `${mode} template uses ${p}`);
    for (const v of values) {
      const sed = t.replaceAll(PLACEHOLDERS.domain, v.domain).replaceAll(PLACEHOLDERS.serverIp, v.serverIp).replaceAll(PLACEHOLDERS.replicas, String(v.replicas));
      const body = (s: string) => s.slice(s.indexOf('\n---\n'));
      assert.equal(body(sed), body(render({ ...base, mode, ...v }, '1.2.3')), `${mode} ${JSON.stringify(v)}`);
    }
  }
});

/** The checker itself catches what the API server would refuse (each mutation must be reported). */
const mutations: readonly { name: string; says: RegExp; change: (docs: Obj[]) => void }[] = [
  { name: 'Service selecting no pod', says: /Service\/kube-dns: its selector matches no pods/, change: (d) => (byKind(d, 'Service').spec.selector = { 'k8s-app': 'other' }) },
  { name: 'Deployment selector not matching its pods', says: /spec.selector does not match/, change: (d) => (byKind(d, 'Deployment').spec.selector.matchLabels.extra = 'x') },
  { name: 'probe on a port that is not named', says: /livenessProbe port 'health'/, change: (d) => (byKind(d, 'Deployment').spec.template.spec.containers[0].livenessProbe.httpGet.port = 'health') },
  { name: 'replicas as a string', says: /spec.replicas must be a non-negative integer/, change: (d) => (byKind(d, 'Deployment').spec.replicas = '2') },
  { name: 'a port name too long', says: /port name 'dns-over-tcp-port'/, change: (d) => (byKind(d, 'Deployment').spec.template.spec.containers[0].ports[1].name = 'dns-over-tcp-port') },
  { name: 'Service port reaching nothing', says: /port metrics \(9154\/TCP\) reaches no container port/, change: (d) => (byKind(d, 'Service').spec.ports[2].targetPort = 9154) },
  { name: 'a missing ConfigMap', says: /names ConfigMap 'clusterdns', not in the set/, change: (d) => d.splice(d.findIndex((x) => x.kind === 'ConfigMap'), 1) },
  { name: 'an unknown RBAC verb', says: /verb 'read' is unknown/, change: (d) => byKind(d, 'ClusterRole').rules[0].verbs.push('read') },
  { name: 'a resource in the wrong API group', says: /resource 'endpointslices' is not in API group ''/, change: (d) => byKind(d, 'ClusterRole').rules[0].resources.push('endpointslices') },
  { name: 'a misspelt field', says: /unknown field 'readinesProbe'/, change: (d) => (byKind(d, 'Deployment').spec.template.spec.containers[0].readinesProbe = {}) },
  { name: 'a PDB with both bounds', says: /exactly one of minAvailable and maxUnavailable/, change: (d) => (byKind(d, 'PodDisruptionBudget').spec.minAvailable = 1) },
  { name: 'a label value that is a number', says: /label kubernetes.io\/cluster-service value true/, change: (d) => (byKind(d, 'Service').metadata.labels['kubernetes.io/cluster-service'] = true) },
  { name: 'a binding to an absent account', says: /subject ServiceAccount kube-system\/clusterdns is not in the set/, change: (d) => d.splice(d.findIndex((x) => x.kind === 'ServiceAccount'), 1) },
  { name: 'a capability with its CAP_ prefix', says: /capability 'CAP_NET_BIND_SERVICE'/, change: (d) => (byKind(d, 'Deployment').spec.template.spec.containers[0].securityContext.capabilities.add = ['CAP_NET_BIND_SERVICE']) },
  { name: 'a request above its limit', says: /memory request 1Gi is above its limit 256Mi/, change: (d) => (byKind(d, 'Deployment').spec.template.spec.containers[0].resources.requests.memory = '1Gi') },
];

test('the manifest checker reports each kind of mistake the API server refuses', () => {
  for (const m of mutations) {
    const docs = parse(render(base, '1.2.3'));
    m.change(docs);
    const problems = validateObjects(docs);
    assert.ok(problems.some((p) => m.says.test(p)), `${m.name}: expected ${m.says}, got ${JSON.stringify(problems)}`);
  }
});
