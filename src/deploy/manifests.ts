import { Document, Scalar } from 'yaml';
import type { PodMode } from '../records/kubernetes.js';
import type { Mode } from './inputs.js';

/**
 * The Kubernetes objects that run clusterdns in a cluster, as plain data (`clusterdns render`
 * prints them). They replace a cluster's kube-dns or CoreDNS in place: the Service is
 * `kube-system/kube-dns` with label `k8s-app: kube-dns`, its fixed cluster IP, and ports named
 * `dns`, `dns-tcp` and `metrics` (9153), so kubelets keep their `--cluster-dns` and
 * ServiceMonitors and dashboards keep working.
 *
 * `direct` runs one container that watches the API itself. `etcd` is the original addon's pod:
 * etcd on the pod's loopback, a bridge writing the API's Services into it, and a server reading it.
 */

export interface RenderOptions {
  readonly domain: string;
  /** The `kube-dns` Service's cluster IP. */
  readonly serverIp: string;
  readonly replicas: number;
  readonly mode: Mode;
  readonly pods: PodMode;
  readonly image: string;
  readonly etcdImage: string;
  readonly etcdPrefix: string;
  /** The cluster's client ranges (pods, nodes), comma-separated CIDRs: only these are answered. */
  readonly allow?: string;
}

export const NAMESPACE = 'kube-system';
export const NAME = 'clusterdns';
/** Where the ConfigMap is mounted (a directory: its file is replaced on update, which the server reloads). */
export const CONFIG_DIR = '/etc/clusterdns';
export const CONFIG_PATH = `${CONFIG_DIR}/config.yaml`;
/** One HTTP port answers /health, /ready and /metrics: the `metrics` port of CoreDNS's Service. */
export const HTTP_PORT = 9153;
/** The image's user and group (numeric, so the kubelet can check runAsNonRoot). */
export const UID = 1000;
const ETCD_URL = 'http://127.0.0.1:2379';

/** Pods of this Deployment; the Service selects only `k8s-app: kube-dns`, as before. */
const podLabels = { 'k8s-app': 'kube-dns', 'app.kubernetes.io/name': NAME };

type Obj = Record<string, unknown>;

/** The config file the server reads (`--config`); its keys are `clusterdns serve`'s long flags. */
export function configFile(o: RenderOptions): string {
  const any = o.serverIp.includes(':') ? '[::]' : '0.0.0.0';
  return [
    '# clusterdns serve settings: keys are the long flags of `clusterdns serve` without the dashes.',
    '# Edited in place, the file is reloaded (forwarding, caching, allow, autopath, log-queries);',
    '# domain, listen, pods, ttl and http take effect at the next restart.',
    `domain: ${o.domain}`,
    `listen: ["${any}:53"]`,
    `http: "${any}:${HTTP_PORT}"`,
    `pods: ${o.pods}`,
    'ttl: 30',
    "# Names outside the cluster go to the node's resolvers (the pod's dnsPolicy is Default).",
    'resolv-conf: /etc/resolv.conf',
    'cache-size: 10000',
    ...(o.allow
      ? ["# Only the cluster's own clients are answered (others get REFUSED): no open resolver.", `allow: "${o.allow}"`]
      : []),
    '# Seconds of answering with /ready failing after SIGTERM, so clients move away first.',
    'lameduck: 5',
    '',
  ].join('\n');
}

function securityContext(bindsPort53: boolean): Obj {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    runAsUser: UID,
    runAsGroup: UID,
    capabilities: { drop: ['ALL'], ...(bindsPort53 ? { add: ['NET_BIND_SERVICE'] } : {}) },
  };
}

function serveContainer(o: RenderOptions, source: string[]): Obj {
  const probe = (path: string, extra: Obj): Obj => ({ httpGet: { path, port: 'metrics', scheme: 'HTTP' }, timeoutSeconds: 5, ...extra });
  return {
    name: 'clusterdns',
    image: o.image,
    imagePullPolicy: 'IfNotPresent',
    args: ['serve', ...source, '--config', CONFIG_PATH],
    ports: [
      { name: 'dns', containerPort: 53, protocol: 'UDP' },
      { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
      { name: 'metrics', containerPort: HTTP_PORT, protocol: 'TCP' },
    ],
    resources: { requests: { cpu: '100m', memory: '100Mi' }, limits: { memory: '256Mi' } },
    livenessProbe: probe('/health', { initialDelaySeconds: 10, periodSeconds: 10, successThreshold: 1, failureThreshold: 5 }),
    readinessProbe: probe('/ready', { periodSeconds: 5, successThreshold: 1, failureThreshold: 3 }),
    volumeMounts: [{ name: 'config', mountPath: CONFIG_DIR, readOnly: true }],
    securityContext: securityContext(true),
  };
}

function containers(o: RenderOptions): Obj[] {
  if (o.mode === 'direct') return [serveContainer(o, ['--kubernetes'])];
  const etcdArgs = [
    '--name=default',
    '--data-dir=/var/lib/etcd/data',
    `--listen-client-urls=${ETCD_URL}`,
    `--advertise-client-urls=${ETCD_URL}`,
    '--listen-peer-urls=http://127.0.0.1:2380',
    '--initial-advertise-peer-urls=http://127.0.0.1:2380',
    '--initial-cluster=default=http://127.0.0.1:2380',
  ];
  return [
    {
      name: 'etcd',
      image: o.etcdImage,
      imagePullPolicy: 'IfNotPresent',
      command: ['etcd', ...etcdArgs],
      resources: { requests: { cpu: '50m', memory: '50Mi' }, limits: { memory: '200Mi' } },
      volumeMounts: [{ name: 'etcd-data', mountPath: '/var/lib/etcd' }],
      securityContext: securityContext(false),
    },
    {
      name: 'bridge',
      image: o.image,
      imagePullPolicy: 'IfNotPresent',
      args: ['bridge', '--kubernetes', '--etcd', ETCD_URL, '--domain', o.domain, '--etcd-prefix', o.etcdPrefix],
      resources: { requests: { cpu: '50m', memory: '50Mi' }, limits: { memory: '170Mi' } },
      securityContext: securityContext(false),
    },
    serveContainer(o, ['--etcd', ETCD_URL, '--etcd-prefix', o.etcdPrefix]),
  ];
}

export function manifests(o: RenderOptions): Obj[] {
  const meta = (name: string, labels: Obj = { 'app.kubernetes.io/name': NAME }) => ({ name, namespace: NAMESPACE, labels });
  const rules: Obj[] = [
    { apiGroups: [''], resources: ['services', 'namespaces', ...(o.pods === 'verified' ? ['pods'] : [])], verbs: ['list', 'watch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
  ];
  const volumes: Obj[] = [
    { name: 'config', configMap: { name: NAME, items: [{ key: 'config.yaml', path: 'config.yaml' }] } },
    ...(o.mode === 'etcd' ? [{ name: 'etcd-data', emptyDir: {} }] : []),
  ];
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(NAME) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `system:${NAME}`, labels: { 'app.kubernetes.io/name': NAME } },
      rules,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `system:${NAME}`, labels: { 'app.kubernetes.io/name': NAME } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `system:${NAME}` },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: NAMESPACE }],
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(NAME), data: { 'config.yaml': configFile(o) } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(NAME, { ...podLabels }),
      spec: {
        replicas: o.replicas,
        selector: { matchLabels: { ...podLabels } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: '25%' } },
        template: {
          metadata: { labels: { ...podLabels } },
          spec: {
            priorityClassName: 'system-cluster-critical',
            serviceAccountName: NAME,
            dnsPolicy: 'Default',
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            tolerations: [
              { key: 'CriticalAddonsOnly', operator: 'Exists' },
              { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
            ],
            affinity: {
              podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                  { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { ...podLabels } }, topologyKey: 'kubernetes.io/hostname' } },
                ],
              },
            },
            securityContext: { runAsNonRoot: true, runAsUser: UID, runAsGroup: UID, fsGroup: UID, seccompProfile: { type: 'RuntimeDefault' } },
            // Longer than the lame duck (5 s), so a rolling update never cuts answers short.
            terminationGracePeriodSeconds: 30,
            containers: containers(o),
            volumes,
          },
        },
      },
    },
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta(NAME, { ...podLabels }),
      spec: { maxUnavailable: 1, selector: { matchLabels: { ...podLabels } } },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'kube-dns',
        namespace: NAMESPACE,
        labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'ClusterDNS' },
        annotations: { 'prometheus.io/port': String(HTTP_PORT), 'prometheus.io/scrape': 'true' },
      },
      spec: {
        selector: { 'k8s-app': 'kube-dns' },
        clusterIP: o.serverIp,
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
          { name: 'metrics', port: HTTP_PORT, protocol: 'TCP', targetPort: HTTP_PORT },
        ],
      },
    },
  ];
}

/** Multi-document YAML for `kubectl apply -f -`, with a first comment line saying how it was made. */
export function toYaml(docs: readonly Obj[], header: string): string {
  const body = docs.map((d) => {
    const doc = new Document(d);
    // The config file stays readable as a literal block.
    const data = (d.kind === 'ConfigMap' ? doc.getIn(['data'], true) : null) as { items?: { value: unknown }[] } | null;
    for (const item of data?.items ?? []) if (item.value instanceof Scalar) item.value.type = Scalar.BLOCK_LITERAL;
    return doc.toString({ lineWidth: 0 });
  });
  return `${header.split('\n').map((l) => `# ${l}`.trimEnd()).join('\n')}\n---\n${body.join('---\n')}`;
}
