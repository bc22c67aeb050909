import { isIP } from 'node:net';

/**
 * Checks a set of Kubernetes objects against the rules the API server applies to the kinds
 * clusterdns renders (apiVersion/kind pairs, scope, names, labels, selectors, ports, probes,
 * volumes, RBAC references), and against each other (a Service selects the pods it points at, a
 * volume names a ConfigMap in the set, a binding names a role and account in the set). Returns
 * one line per problem, with the object and field it is about. No kubectl or API server needed.
 */

type Obj = Record<string, any>;

const KINDS: Record<string, { apiVersion: string; namespaced: boolean; fields: readonly string[] }> = {
  ServiceAccount: { apiVersion: 'v1', namespaced: true, fields: ['automountServiceAccountToken', 'imagePullSecrets', 'secrets'] },
  ConfigMap: { apiVersion: 'v1', namespaced: true, fields: ['data', 'binaryData', 'immutable'] },
  Service: { apiVersion: 'v1', namespaced: true, fields: ['spec'] },
  Deployment: { apiVersion: 'apps/v1', namespaced: true, fields: ['spec'] },
  PodDisruptionBudget: { apiVersion: 'policy/v1', namespaced: true, fields: ['spec'] },
  ClusterRole: { apiVersion: 'rbac.authorization.k8s.io/v1', namespaced: false, fields: ['rules', 'aggregationRule'] },
  ClusterRoleBinding: { apiVersion: 'rbac.authorization.k8s.io/v1', namespaced: false, fields: ['roleRef', 'subjects'] },
};

/** Fields of the objects the API server knows (a strict field validation refuses others). */
const KNOWN: Record<string, readonly string[]> = {
  metadata: ['name', 'namespace', 'labels', 'annotations'],
  deploymentSpec: ['replicas', 'selector', 'template', 'strategy', 'minReadySeconds', 'revisionHistoryLimit', 'paused', 'progressDeadlineSeconds'],
  podSpec: [
    'containers', 'initContainers', 'volumes', 'serviceAccountName', 'automountServiceAccountToken', 'dnsPolicy', 'dnsConfig', 'priorityClassName',
    'nodeSelector', 'tolerations', 'affinity', 'securityContext', 'terminationGracePeriodSeconds', 'topologySpreadConstraints', 'hostNetwork', 'restartPolicy',
  ],
  container: [
    'name', 'image', 'imagePullPolicy', 'command', 'args', 'env', 'ports', 'resources', 'livenessProbe', 'readinessProbe', 'startupProbe', 'volumeMounts',
    'securityContext', 'workingDir', 'lifecycle',
  ],
  probe: ['httpGet', 'tcpSocket', 'exec', 'grpc', 'initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold', 'terminationGracePeriodSeconds'],
  containerSecurityContext: ['allowPrivilegeEscalation', 'readOnlyRootFilesystem', 'runAsNonRoot', 'runAsUser', 'runAsGroup', 'capabilities', 'privileged', 'seccompProfile'],
  podSecurityContext: ['runAsNonRoot', 'runAsUser', 'runAsGroup', 'fsGroup', 'seccompProfile', 'supplementalGroups', 'sysctls'],
  serviceSpec: ['selector', 'clusterIP', 'clusterIPs', 'ports', 'type', 'ipFamilies', 'ipFamilyPolicy', 'sessionAffinity', 'internalTrafficPolicy'],
  servicePort: ['name', 'port', 'protocol', 'targetPort', 'appProtocol', 'nodePort'],
  containerPort: ['name', 'containerPort', 'protocol', 'hostPort', 'hostIP'],
  pdbSpec: ['minAvailable', 'maxUnavailable', 'selector', 'unhealthyPodEvictionPolicy'],
};
const VERBS = new Set(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection']);
const RESOURCES: Record<string, ReadonlySet<string>> = {
  '': new Set(['services', 'endpoints', 'namespaces', 'pods', 'configmaps', 'nodes']),
  'discovery.k8s.io': new Set(['endpointslices']),
};
const CAPABILITIES = new Set(['ALL', 'NET_BIND_SERVICE', 'NET_ADMIN', 'NET_RAW', 'CHOWN', 'SETUID', 'SETGID', 'SYS_ADMIN']);

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;

/** IANA_SVC_NAME: what a port's name must be. */
function isPortName(s: unknown): boolean {
  return typeof s === 'string' && s.length <= 15 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s) && /[a-z]/.test(s) && !s.includes('--');
}

function isLabelKey(k: string): boolean {
  const [prefix, name] = k.includes('/') ? k.split('/', 2) : [undefined, k];
  return (prefix === undefined || DNS1123_SUBDOMAIN.test(prefix)) && LABEL_NAME.test(name);
}

function quantity(q: string): number {
  const m = /^([0-9.]+)(.*)$/.exec(q)!;
  const unit: Record<string, number> = { '': 1, m: 0.001, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
  return Number(m[1]) * unit[m[2]];
}

const matches = (selector: Obj | undefined, labels: Obj | undefined) =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

export function validateObjects(docs: readonly Obj[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const find = (kind: string, name: string, namespace?: string) => docs.find((d) => d?.kind === kind && d.metadata?.name === name && (namespace === undefined || d.metadata?.namespace === namespace));
  const unknown = (where: string, o: Obj | undefined, table: string) => {
    for (const k of Object.keys(o ?? {})) if (!KNOWN[table].includes(k)) problems.push(`${where}: unknown field '${k}'`);
  };

  for (const d of docs) {
    if (d === null || typeof d !== 'object') {
      problems.push(`a document is not an object: ${JSON.stringify(d)}`);
      continue;
    }
    const k = KINDS[d.kind];
    const id = `${d.kind}/${d.metadata?.name}`;
    if (!k) {
      problems.push(`${id}: unknown kind`);
      continue;
    }
    if (d.apiVersion !== k.apiVersion) problems.push(`${id}: apiVersion '${d.apiVersion}', expected '${k.apiVersion}'`);
    for (const f of Object.keys(d)) if (!['apiVersion', 'kind', 'metadata', ...k.fields].includes(f)) problems.push(`${id}: unknown field '${f}'`);
    const m = d.metadata ?? {};
    unknown(`${id} metadata`, m, 'metadata');
    const nameOk = d.kind.startsWith('ClusterRole') ? typeof m.name === 'string' && /^[A-Za-z0-9:_.-]+$/.test(m.name) : DNS1123_SUBDOMAIN.test(m.name ?? '');
    if (!nameOk) problems.push(`${id}: metadata.name is not a valid name`);
    if (k.namespaced && !DNS1123_LABEL.test(m.namespace ?? '')) problems.push(`${id}: namespaced kind needs metadata.namespace`);
    if (!k.namespaced && m.namespace !== undefined) problems.push(`${id}: cluster-scoped kind has a namespace`);
    for (const [lk, lv] of Object.entries<unknown>(m.labels ?? {})) {
      if (!isLabelKey(lk)) problems.push(`${id}: label key '${lk}' is invalid`);
      if (typeof lv !== 'string' || !LABEL_VALUE.test(lv)) problems.push(`${id}: label ${lk} value ${JSON.stringify(lv)} is not a valid label value (a string)`);
    }
    for (const [ak, av] of Object.entries<unknown>(m.annotations ?? {})) if (typeof av !== 'string') problems.push(`${id}: annotation ${ak} must be a string`);
    const key = `${d.kind}/${m.namespace ?? ''}/${m.name}`;
    if (seen.has(key)) problems.push(`${id}: appears twice`);
    seen.add(key);
  }

  const deployments = docs.filter((d) => d?.kind === 'Deployment');
  for (const d of deployments) {
    const id = `Deployment/${d.metadata?.name}`;
    const spec = d.spec ?? {};
    unknown(`${id} spec`, spec, 'deploymentSpec');
    if (!Number.isInteger(spec.replicas) || spec.replicas < 0) problems.push(`${id}: spec.replicas must be a non-negative integer, got ${JSON.stringify(spec.replicas)}`);
    const podLabels = spec.template?.metadata?.labels;
    if (!matches(spec.selector?.matchLabels, podLabels)) problems.push(`${id}: spec.selector does not match spec.template.metadata.labels`);
    const pod = spec.template?.spec ?? {};
    unknown(`${id} pod spec`, pod, 'podSpec');
    unknown(`${id} pod securityContext`, pod.securityContext, 'podSecurityContext');
    if (!['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'].includes(pod.dnsPolicy ?? 'ClusterFirst')) problems.push(`${id}: dnsPolicy '${pod.dnsPolicy}' is invalid`);
    if (pod.serviceAccountName && !find('ServiceAccount', pod.serviceAccountName, d.metadata?.namespace)) problems.push(`${id}: serviceAccountName '${pod.serviceAccountName}' is not in the set`);
    const volumes = new Map<string, Obj>();
    for (const v of pod.volumes ?? []) {
      if (!DNS1123_LABEL.test(v.name ?? '') || volumes.has(v.name)) problems.push(`${id}: volume name '${v.name}' is invalid or repeated`);
      volumes.set(v.name, v);
      if (v.configMap) {
        const cm = find('ConfigMap', v.configMap.name, d.metadata?.namespace);
        if (!cm) problems.push(`${id}: volume ${v.name} names ConfigMap '${v.configMap.name}', not in the set`);
        for (const it of v.configMap.items ?? []) if (cm && !(it.key in (cm.data ?? {}))) problems.push(`${id}: volume ${v.name} item key '${it.key}' is not in the ConfigMap`);
      }
    }
    const containers: Obj[] = pod.containers ?? [];
    if (containers.length === 0) problems.push(`${id}: no containers`);
    const names = new Set<string>();
    for (const c of containers) {
      const cid = `${id} container ${c.name}`;
      unknown(cid, c, 'container');
      unknown(`${cid} securityContext`, c.securityContext, 'containerSecurityContext');
      if (!DNS1123_LABEL.test(c.name ?? '') || names.has(c.name)) problems.push(`${cid}: name is invalid or repeated`);
      names.add(c.name);
      if (typeof c.image !== 'string' || c.image === '') problems.push(`${cid}: image is required`);
      if (!['Always', 'IfNotPresent', 'Never', undefined].includes(c.imagePullPolicy)) problems.push(`${cid}: imagePullPolicy is invalid`);
      for (const list of ['command', 'args'] as const) {
        if (c[list] !== undefined && !(Array.isArray(c[list]) && c[list].every((a: unknown) => typeof a === 'string'))) problems.push(`${cid}: ${list} must be a list of strings`);
      }
      const portNames = new Set<string>();
      const portKeys = new Set<string>();
      for (const p of c.ports ?? []) {
        unknown(`${cid} port`, p, 'containerPort');
        if (p.name !== undefined && (!isPortName(p.name) || portNames.has(p.name))) problems.push(`${cid}: port name '${p.name}' is invalid or repeated`);
        portNames.add(p.name);
        if (!Number.isInteger(p.containerPort) || p.containerPort < 1 || p.containerPort > 65535) problems.push(`${cid}: containerPort ${p.containerPort} is out of range`);
        if (!['TCP', 'UDP', 'SCTP'].includes(p.protocol ?? 'TCP')) problems.push(`${cid}: protocol '${p.protocol}' is invalid`);
        const pk = `${p.containerPort}/${p.protocol ?? 'TCP'}`;
        if (portKeys.has(pk)) problems.push(`${cid}: port ${pk} repeated`);
        portKeys.add(pk);
      }
      for (const probeName of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
        const probe = c[probeName];
        if (!probe) continue;
        unknown(`${cid} ${probeName}`, probe, 'probe');
        const handlers = ['httpGet', 'tcpSocket', 'exec', 'grpc'].filter((h) => probe[h]);
        if (handlers.length !== 1) problems.push(`${cid}: ${probeName} needs exactly one handler`);
        const port = probe.httpGet?.port ?? probe.tcpSocket?.port;
        if (typeof port === 'string' && !(c.ports ?? []).some((p: Obj) => p.name === port)) problems.push(`${cid}: ${probeName} port '${port}' is not a named port of the container`);
        if (probe.httpGet && !String(probe.httpGet.path ?? '').startsWith('/')) problems.push(`${cid}: ${probeName} path must start with /`);
        if (probeName !== 'readinessProbe' && probe.successThreshold !== undefined && probe.successThreshold !== 1) problems.push(`${cid}: ${probeName} successThreshold must be 1`);
      }
      for (const vm of c.volumeMounts ?? []) {
        if (!volumes.has(vm.name)) problems.push(`${cid}: volumeMount '${vm.name}' names no volume`);
        if (!String(vm.mountPath ?? '').startsWith('/')) problems.push(`${cid}: mountPath must be absolute`);
      }
      for (const [section, values] of Object.entries<Obj>(c.resources ?? {})) {
        if (!['requests', 'limits'].includes(section)) problems.push(`${cid}: resources.${section} is unknown`);
        for (const [r, q] of Object.entries<unknown>(values)) if (typeof q !== 'string' || !QUANTITY.test(q)) problems.push(`${cid}: resources.${section}.${r} '${q}' is not a quantity`);
      }
      for (const r of ['cpu', 'memory']) {
        const req = c.resources?.requests?.[r];
        const lim = c.resources?.limits?.[r];
        if (req && lim && QUANTITY.test(req) && QUANTITY.test(lim) && quantity(req) > quantity(lim)) problems.push(`${cid}: ${r} request ${req} is above its limit ${lim}`);
      }
      for (const cap of [...(c.securityContext?.capabilities?.add ?? []), ...(c.securityContext?.capabilities?.drop ?? [])]) {
        if (!CAPABILITIES.has(cap)) problems.push(`${cid}: capability '${cap}' is unknown (no CAP_ prefix)`);
      }
    }
  }

  const podsOf = (selector: Obj | undefined) => deployments.filter((d) => matches(selector, d.spec?.template?.metadata?.labels));

  for (const s of docs.filter((d) => d?.kind === 'Service')) {
    const id = `Service/${s.metadata?.name}`;
    const spec = s.spec ?? {};
    unknown(`${id} spec`, spec, 'serviceSpec');
    if (spec.clusterIP !== undefined && spec.clusterIP !== 'None' && isIP(spec.clusterIP) === 0) problems.push(`${id}: clusterIP '${spec.clusterIP}' is not an IP`);
    const selected = podsOf(spec.selector);
    if (selected.length === 0) problems.push(`${id}: its selector matches no pods in the set`);
    const ports: Obj[] = spec.ports ?? [];
    if (ports.length === 0) problems.push(`${id}: no ports`);
    const names = new Set<string>();
    for (const p of ports) {
      unknown(`${id} port`, p, 'servicePort');
      if (ports.length > 1 && !isPortName(p.name)) problems.push(`${id}: with several ports each needs a valid name, got '${p.name}'`);
      if (names.has(p.name)) problems.push(`${id}: port name '${p.name}' repeated`);
      names.add(p.name);
      if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) problems.push(`${id}: port ${p.port} is out of range`);
      const proto = p.protocol ?? 'TCP';
      const target = p.targetPort ?? p.port;
      for (const d of selected) {
        const cports: Obj[] = (d.spec.template.spec.containers ?? []).flatMap((c: Obj) => c.ports ?? []);
        const hit = cports.some((cp) => (cp.protocol ?? 'TCP') === proto && (typeof target === 'string' ? cp.name === target : cp.containerPort === target));
        if (!hit) problems.push(`${id}: port ${p.name} (${target}/${proto}) reaches no container port of Deployment/${d.metadata?.name}`);
      }
    }
  }

  for (const p of docs.filter((d) => d?.kind === 'PodDisruptionBudget')) {
    const id = `PodDisruptionBudget/${p.metadata?.name}`;
    unknown(`${id} spec`, p.spec, 'pdbSpec');
    if ((p.spec?.minAvailable === undefined) === (p.spec?.maxUnavailable === undefined)) problems.push(`${id}: exactly one of minAvailable and maxUnavailable is allowed`);
    if (podsOf(p.spec?.selector?.matchLabels).length === 0) problems.push(`${id}: its selector matches no pods in the set`);
  }

  for (const r of docs.filter((d) => d?.kind === 'ClusterRole')) {
    const id = `ClusterRole/${r.metadata?.name}`;
    for (const rule of r.rules ?? []) {
      for (const v of rule.verbs ?? []) if (!VERBS.has(v)) problems.push(`${id}: verb '${v}' is unknown`);
      if ((rule.verbs ?? []).length === 0) problems.push(`${id}: a rule without verbs`);
      for (const g of rule.apiGroups ?? []) {
        for (const res of rule.resources ?? []) if (!RESOURCES[g]?.has(res)) problems.push(`${id}: resource '${res}' is not in API group '${g}'`);
      }
    }
  }

  for (const b of docs.filter((d) => d?.kind === 'ClusterRoleBinding')) {
    const id = `ClusterRoleBinding/${b.metadata?.name}`;
    if (b.roleRef?.apiGroup !== 'rbac.authorization.k8s.io' || b.roleRef?.kind !== 'ClusterRole' || !find('ClusterRole', b.roleRef?.name)) problems.push(`${id}: roleRef names no ClusterRole in the set`);
    for (const s of b.subjects ?? []) {
      if (s.kind === 'ServiceAccount' && !find('ServiceAccount', s.name, s.namespace)) problems.push(`${id}: subject ServiceAccount ${s.namespace}/${s.name} is not in the set`);
    }
  }
  return problems;
}
