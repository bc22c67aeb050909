/**
 * The Kubernetes kinds DNS reads from manifests, as zod schemas that validate only the
 * fields DNS uses (everything else is allowed and dropped) and turn a document into slim
 * objects. Messages are written to follow a field path: "spec.ports[0].port: expected ...",
 * or "metadata.name is required" when they start with "is ".
 */
import { z } from 'zod';
import type {
  ClusterObject,
  Endpoint,
  EndpointSliceObject,
  NamespaceObject,
  Origin,
  PodObject,
  Protocol,
  ServiceObject,
} from '../../records/objects.js';
import { canonicalIP } from '../../dns/ip.js';

/** One problem in one object, at a field path relative to the object. */
export interface FieldIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export type Conversion =
  | { readonly ok: true; readonly objects: readonly ClusterObject[] }
  | { readonly ok: false; readonly issues: readonly FieldIssue[] };

/** The API group each kind must come from; a same-named kind from another group (a CRD) is not ours. */
const KNOWN_KINDS: Readonly<Record<string, string>> = {
  Namespace: '',
  Service: '',
  Endpoints: '',
  Pod: '',
  EndpointSlice: 'discovery.k8s.io',
};

const NAMESPACED = new Set(['Service', 'Endpoints', 'Pod', 'EndpointSlice']);

/** The kind DNS reads, or null when the document is another kind (or the same kind from another API group). */
export function knownKind(kind: string, apiVersion: string | undefined): string | null {
  if (!Object.hasOwn(KNOWN_KINDS, kind)) return null;
  const group = KNOWN_KINDS[kind];
  if (apiVersion === undefined) return kind;
  const slash = apiVersion.indexOf('/');
  return (slash < 0 ? '' : apiVersion.slice(0, slash)) === group ? kind : null;
}

/** "Service default/web", "Namespace prod": how an object is named in messages. */
export function describeObject(kind: string, raw: Record<string, unknown>): string {
  const meta = isRecord(raw.metadata) ? raw.metadata : {};
  const name = typeof meta.name === 'string' && meta.name !== '' ? meta.name : '<no name>';
  if (!NAMESPACED.has(kind)) return `${kind} ${name}`;
  const ns = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
  return `${kind} ${ns}/${name}`;
}

/** Validates a document of a known kind and converts it to slim objects. */
export function convertObject(kind: string, raw: Record<string, unknown>, origin: Origin): Conversion {
  switch (kind) {
    case 'Namespace':
      return run(namespaceSchema, raw, (d): NamespaceObject[] => [{ kind: 'Namespace', name: d.metadata.name, origin }]);
    case 'Service':
      return run(serviceSchema, raw, (d) => [toService(d, origin)]);
    case 'EndpointSlice':
      // FQDN slices carry host names, not addresses: nothing DNS can publish as A/AAAA.
      if (raw.addressType === 'FQDN') return { ok: true, objects: [] };
      return run(endpointSliceSchema, raw, (d) => [toEndpointSlice(d, origin)]);
    case 'Endpoints':
      return run(endpointsSchema, raw, (d) => toEndpointSlices(d, origin));
    case 'Pod':
      return run(podSchema, raw, (d) => [toPod(d, origin)]);
    default:
      return { ok: true, objects: [] };
  }
}

function run<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  convert: (data: z.output<S>) => ClusterObject[],
): Conversion {
  const result = schema.safeParse(raw);
  if (!result.success) {
    return {
      ok: false,
      issues: result.error.issues.map((i) => ({
        path: i.path.filter((p): p is string | number => typeof p !== 'symbol'),
        message: i.message,
      })),
    };
  }
  return { ok: true, objects: convert(result.data) };
}

// ---------------------------------------------------------------------------------------------
// Field schemas

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  const text = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The error for a value of the wrong type: "is required" when absent, "expected X, got Y" otherwise. */
function expected(what: string) {
  return {
    error: (iss: { input?: unknown }) =>
      iss.input == null ? 'is required' : `expected ${what}, got ${describeValue(iss.input)}`,
  };
}

function isDNSLabel(s: string): boolean {
  return s.length <= 63 && DNS_LABEL.test(s);
}

function isDNSSubdomain(s: string): boolean {
  return s.length <= 253 && DNS_SUBDOMAIN.test(s) && s.split('.').every((l) => l.length <= 63);
}

const dnsLabel = z.string(expected('a string')).check((ctx) => {
  if (isDNSLabel(ctx.value)) return;
  const message =
    ctx.value.length > 63
      ? `${describeValue(ctx.value)} is ${ctx.value.length} characters long; a DNS-1123 label has at most 63`
      : `${describeValue(ctx.value)} is not a valid DNS-1123 label (lowercase letters, digits and "-", starting and ending with a letter or digit)`;
  ctx.issues.push({ code: 'custom', input: ctx.value, message });
});

const dnsSubdomain = z.string(expected('a string')).check((ctx) => {
  if (!isDNSSubdomain(ctx.value)) {
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `${describeValue(ctx.value)} is not a valid DNS-1123 subdomain (dot-separated DNS labels, at most 253 characters)`,
    });
  }
});

/** A value that YAML may leave empty (`key:` or `key: ""`) and that then takes a default. */
function withDefault<T extends z.ZodType>(schema: T, fallback: z.output<T>) {
  return z.preprocess(
    (v) => (v === '' ? undefined : v),
    schema.nullish().transform((v): z.output<T> => (v ?? fallback) as z.output<T>),
  );
}

/** A mapping that may be absent or empty; its fields' own defaults then apply. */
function optionalMapping<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => v ?? {}, schema);
}

function optionalList<T extends z.ZodType>(item: T) {
  return z.array(item, expected('a list')).nullish().transform((v): z.output<T>[] => v ?? []);
}

const ipAddress = z.string(expected('an IP address')).transform((s, ctx) => {
  const ip = canonicalIP(s);
  if (ip === null) {
    ctx.addIssue({ code: 'custom', input: s, message: `${describeValue(s)} is not a valid IP address` });
    return z.NEVER;
  }
  return ip;
});

const portNumber = z.custom<number>(
  (v) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535,
  { error: (iss) => (iss.input == null ? 'is required' : `expected integer 1-65535, got ${describeValue(iss.input)}`) },
);

const protocol = withDefault(z.enum(['TCP', 'UDP', 'SCTP'], expected('TCP, UDP or SCTP')), 'TCP' as Protocol);

const portName = withDefault(z.string(expected('a string')), '');

const port = z.object(
  { name: portName, port: portNumber, protocol },
  expected('a mapping'),
);

const labels = withDefault(
  z.record(z.string(), z.string(expected('a string (quote numbers and booleans)')), expected('a mapping')),
  {},
).transform((l) => Object.fromEntries(Object.entries(l).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));

const namespaceName = withDefault(dnsLabel, 'default');

const targetRef = z
  .object({ kind: z.unknown(), name: z.unknown() }, expected('a mapping'))
  .nullish()
  .transform((ref) => (ref && ref.kind === 'Pod' && typeof ref.name === 'string' ? ref.name : ''));

// ---------------------------------------------------------------------------------------------
// Namespace

const namespaceSchema = z.object({
  metadata: z.object({ name: dnsLabel }, expected('a mapping')),
});

// ---------------------------------------------------------------------------------------------
// Service

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;

type ServiceAddressing = Pick<ServiceObject, 'type' | 'clusterIPs' | 'externalName'>;

const serviceSpec = z
  .object(
    {
      type: withDefault(z.enum(SERVICE_TYPES, expected(SERVICE_TYPES.join(', '))), 'ClusterIP'),
      clusterIP: withDefault(z.string(expected('an IP address or None')), ''),
      clusterIPs: optionalList(z.string(expected('an IP address or None'))),
      externalName: withDefault(z.string(expected('a DNS name')), ''),
      ports: optionalList(port),
      publishNotReadyAddresses: withDefault(z.boolean(expected('true or false')), false),
    },
    expected('a mapping'),
  )
  .transform((spec, ctx) => {
    const addressing = serviceAddressing(spec, (path, message) =>
      ctx.addIssue({ code: 'custom', input: spec, path, message }),
    );
    return { ...spec, ...addressing };
  });

type RawServiceSpec = {
  type: (typeof SERVICE_TYPES)[number];
  clusterIP: string;
  clusterIPs: string[];
  externalName: string;
};

function serviceAddressing(
  spec: RawServiceSpec,
  report: (path: (string | number)[], message: string) => void,
): ServiceAddressing {
  if (spec.type === 'ExternalName') {
    const name = spec.externalName.toLowerCase().replace(/\.$/, '');
    if (spec.externalName === '') {
      report(['externalName'], 'is required for a Service of type ExternalName');
    } else if (!isDNSSubdomain(name)) {
      report(['externalName'], `${describeValue(spec.externalName)} is not a valid DNS name`);
    }
    return { type: 'ExternalName', clusterIPs: [], externalName: name };
  }
  const fromList = spec.clusterIPs.length > 0;
  const written = fromList ? spec.clusterIPs : spec.clusterIP !== '' ? [spec.clusterIP] : [];
  const field = (i: number): (string | number)[] => (fromList ? ['clusterIPs', i] : ['clusterIP']);
  if (written.length === 0) {
    report(['clusterIP'], 'is required: manifests cannot allocate cluster IPs; set an address or None');
    return { type: 'ClusterIP', clusterIPs: [], externalName: '' };
  }
  if (fromList && spec.clusterIP !== '' && spec.clusterIP !== written[0]) {
    report(['clusterIPs', 0], `${describeValue(written[0])} must equal spec.clusterIP (${describeValue(spec.clusterIP)})`);
  }
  if (written.includes('None')) {
    if (written.length > 1) report(['clusterIPs'], 'None cannot be combined with addresses');
    return { type: 'Headless', clusterIPs: [], externalName: '' };
  }
  const ips: string[] = [];
  written.forEach((s, i) => {
    const ip = canonicalIP(s);
    if (ip === null) report(field(i), `${describeValue(s)} is not a valid IP address (or None for a headless Service)`);
    else ips.push(ip);
  });
  return { type: 'ClusterIP', clusterIPs: ips, externalName: '' };
}

const serviceSchema = z.object({
  metadata: z.object({ name: dnsLabel, namespace: namespaceName, labels }, expected('a mapping')),
  spec: optionalMapping(serviceSpec),
});

function toService(d: z.output<typeof serviceSchema>, origin: Origin): ServiceObject {
  return {
    kind: 'Service',
    namespace: d.metadata.namespace,
    name: d.metadata.name,
    type: d.spec.type,
    clusterIPs: d.spec.clusterIPs,
    externalName: d.spec.externalName,
    ports: d.spec.ports,
    publishNotReadyAddresses: d.spec.publishNotReadyAddresses,
    origin,
  };
}

// ---------------------------------------------------------------------------------------------
// EndpointSlice (discovery.k8s.io)

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

const endpointSliceSchema = z.object({
  metadata: z.object(
    {
      name: dnsSubdomain,
      namespace: namespaceName,
      labels: optionalMapping(z.object({ [SERVICE_NAME_LABEL]: dnsLabel }, expected('a mapping'))),
    },
    expected('a mapping'),
  ),
  endpoints: optionalList(
    z.object(
      {
        addresses: z.array(ipAddress, expected('a list of IP addresses')),
        conditions: optionalMapping(
          z.object({ ready: withDefault(z.boolean(expected('true or false')), true) }, expected('a mapping')),
        ),
        hostname: withDefault(dnsLabel, ''),
        targetRef,
      },
      expected('a mapping'),
    ),
  ),
  // A slice port without a number means "all ports": nothing to publish in SRV records.
  ports: optionalList(
    z.object({ name: portName, port: portNumber.nullish(), protocol }, expected('a mapping')),
  ),
});

function toEndpointSlice(d: z.output<typeof endpointSliceSchema>, origin: Origin): EndpointSliceObject {
  return {
    kind: 'EndpointSlice',
    namespace: d.metadata.namespace,
    name: d.metadata.name,
    serviceName: d.metadata.labels[SERVICE_NAME_LABEL],
    endpoints: d.endpoints.map((e) => ({
      addresses: e.addresses,
      ready: e.conditions.ready,
      hostname: e.hostname,
      podName: e.targetRef,
    })),
    ports: d.ports.flatMap((p) => (p.port == null ? [] : [{ name: p.name, port: p.port, protocol: p.protocol }])),
    fromEndpoints: false,
    origin,
  };
}

// ---------------------------------------------------------------------------------------------
// Endpoints (core/v1): one slice per subset

const endpointAddress = z.object(
  { ip: ipAddress, hostname: withDefault(dnsLabel, ''), targetRef },
  expected('a mapping'),
);

const endpointsSchema = z.object({
  metadata: z.object({ name: dnsLabel, namespace: namespaceName }, expected('a mapping')),
  subsets: optionalList(
    z.object(
      {
        addresses: optionalList(endpointAddress),
        notReadyAddresses: optionalList(endpointAddress),
        ports: optionalList(port),
      },
      expected('a mapping'),
    ),
  ),
});

function toEndpointSlices(d: z.output<typeof endpointsSchema>, origin: Origin): EndpointSliceObject[] {
  const endpoint = (a: z.output<typeof endpointAddress>, ready: boolean): Endpoint => ({
    addresses: [a.ip],
    ready,
    hostname: a.hostname,
    podName: a.targetRef,
  });
  return d.subsets.map((subset, i) => ({
    kind: 'EndpointSlice',
    namespace: d.metadata.namespace,
    name: `${d.metadata.name}:endpoints:${i}`,
    serviceName: d.metadata.name,
    endpoints: [
      ...subset.addresses.map((a) => endpoint(a, true)),
      ...subset.notReadyAddresses.map((a) => endpoint(a, false)),
    ],
    ports: subset.ports,
    fromEndpoints: true,
    origin,
  }));
}

// ---------------------------------------------------------------------------------------------
// Pod

const podSchema = z.object({
  metadata: z.object({ name: dnsSubdomain, namespace: namespaceName }, expected('a mapping')),
  spec: optionalMapping(
    z.object({ hostNetwork: withDefault(z.boolean(expected('true or false')), false) }, expected('a mapping')),
  ),
  status: optionalMapping(
    z.object(
      {
        podIP: withDefault(ipAddress, ''),
        podIPs: optionalList(z.object({ ip: ipAddress }, expected('a mapping'))),
      },
      expected('a mapping'),
    ),
  ),
});

function toPod(d: z.output<typeof podSchema>, origin: Origin): PodObject {
  const ips = d.status.podIPs.length > 0 ? d.status.podIPs.map((p) => p.ip) : d.status.podIP !== '' ? [d.status.podIP] : [];
  return {
    kind: 'Pod',
    namespace: d.metadata.namespace,
    name: d.metadata.name,
    ips,
    hostNetwork: d.spec.hostNetwork,
    origin,
  };
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
