import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DocumentOrigin, EndpointList, type ClusterObject } from '../../records/objects.js';
import { canonicalIP } from '../../dns/ip.js';
import { formatManifestError, parseManifests } from './parse.js';

const FILE = 'examples/x.yaml';
const origin = (document: number) => new DocumentOrigin(FILE, document);

const svc = (over: Partial<Extract<ClusterObject, { kind: 'Service' }>>): ClusterObject => ({
  kind: 'Service',
  namespace: 'default',
  name: 'web',
  type: 'ClusterIP',
  clusterIPs: ['10.96.0.10'],
  externalName: '',
  ports: [],
  publishNotReadyAddresses: false,
  origin: origin(1),
  ...over,
});

interface ObjectCase {
  readonly name: string;
  readonly text: string;
  readonly objects: readonly ClusterObject[];
}

const objectCases: readonly ObjectCase[] = [
  {
    name: 'namespace',
    text: `
apiVersion: v1
kind: Namespace
metadata:
  name: prod
  labels: {team: a}
`,
    objects: [{ kind: 'Namespace', name: 'prod', origin: origin(1) }],
  },
  {
    name: 'service with defaults',
    text: `
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: 10.96.0.10
  ports:
  - port: 80
`,
    objects: [svc({ ports: [{ name: '', port: 80, protocol: 'TCP' }] })],
  },
  {
    name: 'service with every field DNS reads',
    text: `
apiVersion: v1
kind: Service
metadata:
  name: dns
  namespace: kube-system
  labels: {k8s-app: kube-dns, a: "1"}
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.10
  clusterIPs: [10.96.0.10, "FD00:0:0:0::A"]
  publishNotReadyAddresses: true
  selector: {k8s-app: kube-dns}
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: 53}
  - {name: dns-sctp, port: 53, protocol: SCTP}
`,
    objects: [
      svc({
        namespace: 'kube-system',
        name: 'dns',
        clusterIPs: ['10.96.0.10', 'fd00::a'],
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-sctp', port: 53, protocol: 'SCTP' },
        ],
        publishNotReadyAddresses: true,
      }),
    ],
  },
  {
    name: 'headless service from clusterIP: None',
    text: `
kind: Service
apiVersion: v1
metadata: {name: web}
spec: {clusterIP: None, type: ClusterIP}
`,
    objects: [svc({ type: 'Headless', clusterIPs: [] })],
  },
  {
    name: 'headless service from clusterIPs: [None]',
    text: `
kind: Service
metadata: {name: web}
spec: {clusterIPs: [None]}
`,
    objects: [svc({ type: 'Headless', clusterIPs: [] })],
  },
  {
    name: 'ExternalName lowercased without the trailing dot',
    text: `
kind: Service
metadata: {name: web, namespace: ""}
spec: {type: ExternalName, externalName: Example.COM.}
`,
    objects: [svc({ type: 'ExternalName', clusterIPs: [], externalName: 'example.com' })],
  },
  {
    name: 'endpoint slice readiness, hostnames, pod names and ports',
    text: `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-x7k2p
  namespace: shop
  labels: {kubernetes.io/service-name: web}
addressType: IPv6
endpoints:
- addresses: ["2001:0DB8:0000:0000:0000:0000:0000:0001"]
  targetRef: {kind: Pod, name: web-0}
  hostname: web-0
- addresses: ["fd00::2"]
  conditions: {ready: false, serving: true}
- addresses: ["fd00::3"]
  conditions: {ready: null}
  targetRef: {kind: Node, name: node-1}
- addresses: ["fd00::4"]
  conditions: {ready: true}
ports:
- {name: http, port: 80}
- {name: all-ports}
- {port: 53, protocol: UDP}
`,
    objects: [
      {
        kind: 'EndpointSlice',
        namespace: 'shop',
        name: 'web-x7k2p',
        serviceName: 'web',
        endpoints: [
          { addresses: ['2001:db8::1'], ready: true, hostname: 'web-0', podName: 'web-0' },
          { addresses: ['fd00::2'], ready: false, hostname: '', podName: '' },
          { addresses: ['fd00::3'], ready: true, hostname: '', podName: '' },
          { addresses: ['fd00::4'], ready: true, hostname: '', podName: '' },
        ],
        ports: [
          { name: 'http', port: 80, protocol: 'TCP' },
          { name: '', port: 53, protocol: 'UDP' },
        ],
        fromEndpoints: false,
        origin: origin(1),
      },
    ],
  },
  {
    name: 'endpoint slice of FQDN addresses is skipped',
    text: `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ext, labels: {kubernetes.io/service-name: ext}}
addressType: FQDN
endpoints: [{addresses: [example.com]}]
`,
    objects: [],
  },
  {
    name: 'endpoints: one slice per subset, notReadyAddresses not ready',
    text: `
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: shop}
subsets:
- addresses:
  - {ip: 10.0.0.1, hostname: web-0, targetRef: {kind: Pod, name: web-0}}
  notReadyAddresses:
  - {ip: 10.0.0.2}
  ports: [{name: http, port: 8080}]
- addresses: [{ip: 10.0.1.1}]
  ports: [{name: dns, port: 53, protocol: UDP}]
`,
    objects: [
      {
        kind: 'EndpointSlice',
        namespace: 'shop',
        name: 'web:endpoints:0',
        serviceName: 'web',
        endpoints: [
          { addresses: ['10.0.0.1'], ready: true, hostname: 'web-0', podName: 'web-0' },
          { addresses: ['10.0.0.2'], ready: false, hostname: '', podName: '' },
        ],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        fromEndpoints: true,
        origin: origin(1),
      },
      {
        kind: 'EndpointSlice',
        namespace: 'shop',
        name: 'web:endpoints:1',
        serviceName: 'web',
        endpoints: [{ addresses: ['10.0.1.1'], ready: true, hostname: '', podName: '' }],
        ports: [{ name: 'dns', port: 53, protocol: 'UDP' }],
        fromEndpoints: true,
        origin: origin(1),
      },
    ],
  },
  {
    name: 'pods: podIPs, podIP only, not scheduled, host network',
    text: `
kind: Pod
apiVersion: v1
metadata: {name: dual, namespace: shop}
status: {podIP: 10.0.0.5, podIPs: [{ip: 10.0.0.5}, {ip: "FD00::5"}]}
---
kind: Pod
metadata: {name: single.example}
status: {podIP: 10.0.0.6}
---
kind: Pod
metadata: {name: pending}
status: {phase: Pending}
---
kind: Pod
metadata: {name: node-agent}
spec: {hostNetwork: true}
status: {podIP: 192.168.1.10}
`,
    objects: [
      { kind: 'Pod', namespace: 'shop', name: 'dual', ips: ['10.0.0.5', 'fd00::5'], hostNetwork: false, origin: origin(1) },
      { kind: 'Pod', namespace: 'default', name: 'single.example', ips: ['10.0.0.6'], hostNetwork: false, origin: origin(2) },
      { kind: 'Pod', namespace: 'default', name: 'pending', ips: [], hostNetwork: false, origin: origin(3) },
      { kind: 'Pod', namespace: 'default', name: 'node-agent', ips: ['192.168.1.10'], hostNetwork: true, origin: origin(4) },
    ],
  },
  {
    name: 'List, typed list items without kind, nested List',
    text: `
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Namespace, metadata: {name: prod}}
- apiVersion: v1
  kind: ServiceList
  items:
  - {metadata: {name: web}, spec: {clusterIP: 10.96.0.10}}
- kind: List
  items:
  - {kind: Deployment, metadata: {name: web}}
  - {apiVersion: v1, kind: Pod, metadata: {name: web-0}}
`,
    objects: [
      { kind: 'Namespace', name: 'prod', origin: origin(1) },
      svc({}),
      { kind: 'Pod', namespace: 'default', name: 'web-0', ips: [], hostNetwork: false, origin: origin(1) },
    ],
  },
  {
    name: 'JSON object',
    text: `{
  "apiVersion": "v1",
  "kind": "Service",
  "metadata": {"name": "web", "labels": {"app": "web"}},
  "spec": {"clusterIP": "10.96.0.10", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}
}`,
    objects: [svc({ ports: [{ name: 'http', port: 80, protocol: 'TCP' }] })],
  },
  {
    name: 'JSON List',
    text: `{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}},
  {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "b"}}
]}`,
    objects: [
      { kind: 'Namespace', name: 'a', origin: origin(1) },
      { kind: 'Namespace', name: 'b', origin: origin(1) },
    ],
  },
  {
    name: 'other kinds and same-named kinds of other API groups are skipped',
    text: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {replicas: 2}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {a: b}
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: Not_A_Label}
---
apiVersion: example.com/v1
kind: FooList
items: [{}]
`,
    objects: [],
  },
  {
    name: 'empty documents are skipped but counted',
    text: `---
# only a comment
---
---
kind: Namespace
metadata: {name: prod}
---
`,
    objects: [{ kind: 'Namespace', name: 'prod', origin: origin(3) }],
  },
  {
    name: 'empty file',
    text: '',
    objects: [],
  },
];

for (const c of objectCases) {
  test(`parseManifests: ${c.name}`, () => {
    const { objects, errors } = parseManifests(c.text, FILE);
    assert.deepEqual(errors.map(formatManifestError), []);
    assert.deepEqual(objects.map(withEndpointArray), c.objects);
    // A slice's endpoints are held as columns; reading them gives back what the file said.
    for (const o of objects) if (o.kind === 'EndpointSlice') assert.ok(o.endpoints instanceof EndpointList, 'endpoints held as an EndpointList');
  });
}

/** The object with its endpoints (if any) read into a plain array, to compare with a written-out case. */
function withEndpointArray(o: ClusterObject): ClusterObject {
  return o.kind === 'EndpointSlice' ? { ...o, endpoints: [...o.endpoints] } : o;
}

interface ErrorCase {
  readonly name: string;
  readonly text: string;
  readonly errors: readonly string[];
  /** Names of the objects still produced from the valid documents. */
  readonly valid?: readonly string[];
}

const errorCases: readonly ErrorCase[] = [
  {
    name: 'YAML syntax error',
    text: `kind: Namespace
metadata: {name: a}
---
kind: Service
metadata:
  name: [web
`,
    errors: [
      // The parser reports an unclosed flow sequence where it expected the "]": the end of the input.
      `${FILE} document 2 (line 7): YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    ],
    valid: ['a'],
  },
  {
    name: 'duplicate keys',
    text: `kind: Namespace
metadata: {name: a}
kind: Namespace
`,
    errors: [`${FILE} document 1 (line 3): YAML syntax error: Map keys must be unique`],
  },
  {
    name: 'no kind',
    text: `apiVersion: v1
metadata: {name: a}
`,
    errors: [`${FILE} document 1 (line 1): kind is required`],
  },
  {
    name: 'not a mapping',
    text: '- a\n- b\n',
    errors: [`${FILE} document 1 (line 1): expected a Kubernetes object (a mapping), got a list`],
  },
  {
    name: 'port out of range, names the field and its line',
    text: `kind: Namespace
metadata: {name: a}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  clusterIP: 10.96.0.10
  ports:
  - name: http
    port: 70000
  - name: dns
    port: 53
    protocol: udp
`,
    errors: [
      `${FILE} document 2 (line 13): Service default/web: spec.ports[0].port: expected integer 1-65535, got 70000`,
      `${FILE} document 2 (line 16): Service default/web: spec.ports[1].protocol: expected TCP, UDP or SCTP, got "udp"`,
    ],
    valid: ['a'],
  },
  {
    name: 'port given as a string in JSON',
    text: `{
  "kind": "Service",
  "metadata": {"name": "web"},
  "spec": {"clusterIP": "10.96.0.10",
    "ports": [{"port": "80"}]}
}`,
    errors: [`${FILE} document 1 (line 5): Service default/web: spec.ports[0].port: expected integer 1-65535, got "80"`],
  },
  {
    name: 'service without a cluster IP',
    text: `kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  ports: [{port: 80}]
`,
    errors: [
      `${FILE} document 1 (line 4): Service shop/web: spec.clusterIP is required: manifests cannot allocate cluster IPs; set an address or None`,
    ],
  },
  {
    name: 'invalid cluster IPs',
    text: `kind: Service
metadata: {name: a}
spec:
  clusterIP: 10.96.0.300
---
kind: Service
metadata: {name: b}
spec:
  clusterIPs:
  - 10.96.0.1
  - fe80::1%eth0
---
kind: Service
metadata: {name: c}
spec:
  clusterIP: 10.96.0.1
  clusterIPs: [10.96.0.2]
---
kind: Service
metadata: {name: d}
spec:
  clusterIPs: [None, 10.96.0.2]
`,
    errors: [
      `${FILE} document 1 (line 4): Service default/a: spec.clusterIP: "10.96.0.300" is not a valid IP address (or None for a headless Service)`,
      `${FILE} document 2 (line 11): Service default/b: spec.clusterIPs[1]: "fe80::1%eth0" is not a valid IP address (or None for a headless Service)`,
      `${FILE} document 3 (line 17): Service default/c: spec.clusterIPs[0]: "10.96.0.2" must equal spec.clusterIP ("10.96.0.1")`,
      `${FILE} document 4 (line 22): Service default/d: spec.clusterIPs: None cannot be combined with addresses`,
    ],
  },
  {
    name: 'invalid names',
    text: `kind: Service
metadata:
  name: Web
spec: {clusterIP: None}
---
kind: Namespace
metadata:
  name: ${'a'.repeat(64)}
---
kind: Pod
metadata:
  name: web
  namespace: -shop
`,
    errors: [
      `${FILE} document 1 (line 3): Service default/Web: metadata.name: "Web" is not a valid DNS-1123 label (lowercase letters, digits and "-", starting and ending with a letter or digit)`,
      `${FILE} document 2 (line 8): Namespace ${'a'.repeat(64)}: metadata.name: "${'a'.repeat(56)}... is 64 characters long; a DNS-1123 label has at most 63`,
      `${FILE} document 3 (line 13): Pod -shop/web: metadata.namespace: "-shop" is not a valid DNS-1123 label (lowercase letters, digits and "-", starting and ending with a letter or digit)`,
    ],
  },
  {
    name: 'missing metadata',
    text: 'kind: Namespace\n',
    errors: [`${FILE} document 1 (line 1): Namespace <no name>: metadata is required`],
  },
  {
    name: 'ExternalName without or with an invalid name',
    text: `kind: Service
metadata: {name: a}
spec:
  type: ExternalName
---
kind: Service
metadata: {name: b}
spec:
  type: ExternalName
  externalName: bad_name.example.com
`,
    errors: [
      `${FILE} document 1 (line 4): Service default/a: spec.externalName is required for a Service of type ExternalName`,
      `${FILE} document 2 (line 10): Service default/b: spec.externalName: "bad_name.example.com" is not a valid DNS name`,
    ],
  },
  {
    name: 'label value that is not a string',
    text: `kind: Service
metadata:
  name: web
  labels:
    version: 2
spec: {clusterIP: None}
`,
    errors: [
      `${FILE} document 1 (line 5): Service default/web: metadata.labels.version: expected a string (quote numbers and booleans), got 2`,
    ],
  },
  {
    name: 'endpoint slice without its service label, bad readiness',
    text: `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc
  labels: {app: web}
endpoints:
- addresses: [10.0.0.1]
  conditions:
    ready: "yes"
`,
    errors: [
      `${FILE} document 1 (line 5): EndpointSlice default/web-abc: metadata.labels["kubernetes.io/service-name"] is required`,
      `${FILE} document 1 (line 9): EndpointSlice default/web-abc: endpoints[0].conditions.ready: expected true or false, got "yes"`,
    ],
  },
  {
    name: 'endpoints with an invalid address',
    text: `kind: Endpoints
metadata: {name: web}
subsets:
- addresses: [{ip: 10.0.0.1}]
  notReadyAddresses:
  - ip: 10.0.0.x
`,
    errors: [`${FILE} document 1 (line 6): Endpoints default/web: subsets[0].notReadyAddresses[0].ip: "10.0.0.x" is not a valid IP address`],
  },
  {
    name: 'pod with an invalid IP',
    text: `kind: Pod
metadata: {name: web-0}
status:
  podIPs:
  - ip: 10.0.0.1
  - ip: "::g"
`,
    errors: [`${FILE} document 1 (line 6): Pod default/web-0: status.podIPs[1].ip: "::g" is not a valid IP address`],
  },
  {
    name: 'errors inside a List point at the item',
    text: `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: ok}
- apiVersion: v1
  kind: Service
  metadata: {name: web}
  spec:
    clusterIP: 10.96.0.10
    ports: [{port: 0}]
- metadata: {name: x}
`,
    errors: [
      `${FILE} document 1 (line 12): Service default/web: spec.ports[0].port: expected integer 1-65535, got 0`,
      `${FILE} document 1 (line 13): items[2].kind is required`,
    ],
    valid: ['ok'],
  },
  {
    name: 'List whose items are not a list',
    text: 'kind: List\nitems: {a: 1}\n',
    errors: [`${FILE} document 1 (line 2): items: expected a list`],
  },
];

for (const c of errorCases) {
  test(`parseManifests error: ${c.name}`, () => {
    const { objects, errors } = parseManifests(c.text, FILE);
    assert.deepEqual(errors.map(formatManifestError), c.errors);
    for (const e of errors) assert.equal(e.file, FILE);
    assert.deepEqual(
      objects.map((o) => o.name),
      c.valid ?? [],
    );
  });
}

test('formatManifestError without a line', () => {
  assert.equal(formatManifestError({ file: 'a.yaml', document: 2, reason: 'x' }), 'a.yaml document 2: x');
  assert.equal(formatManifestError({ file: 'a.yaml', document: 2, line: 7, reason: 'x' }), 'a.yaml document 2 (line 7): x');
});

test('errors carry document and line as fields', () => {
  const { errors } = parseManifests('kind: Namespace\nmetadata: {name: a}\n---\nkind: Namespace\nmetadata:\n  name: A\n', 'n.yaml');
  assert.equal(errors.length, 1);
  assert.equal(errors[0].document, 2);
  assert.equal(errors[0].line, 6);
  assert.match(errors[0].reason, /^Namespace A: metadata\.name: "A" is not a valid DNS-1123 label/);
});

const ipCases: readonly [string, string | null][] = [
  ['10.0.0.1', '10.0.0.1'],
  ['255.255.255.255', '255.255.255.255'],
  ['010.0.0.1', null],
  ['10.0.0.256', null],
  ['10.0.0', null],
  [' 10.0.0.1', null],
  ['2001:DB8::1', '2001:db8::1'],
  ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
  ['0:0:0:0:0:0:0:0', '::'],
  ['0:0:0:0:0:0:0:1', '::1'],
  ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
  ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'],
  ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
  ['1::2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
  ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
  ['fd00:0:0:0::A', 'fd00::a'],
  ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
  ['::FFFF:0a00:0001', '::ffff:10.0.0.1'],
  ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
  ['fe80::1%eth0', null],
  ['1:2:3:4:5:6:7:8:9', null],
  ['::g', null],
  ['', null],
  ['example.com', null],
];

for (const [input, want] of ipCases) {
  test(`canonicalIP(${JSON.stringify(input)}) = ${want}`, () => {
    assert.equal(canonicalIP(input), want);
  });
}

test('the fast path and the positioned parse give the same objects for valid files', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { parseFast, parseWithPositions } = await import('./parse.js');
  const dirs = ['examples/cluster', 'test/fixtures/cluster'].map((d) => new URL(`../../../${d}/`, import.meta.url).pathname);
  let files = 0;
  for (const dir of dirs) {
    for (const f of readdirSync(dir)) {
      const text = readFileSync(join(dir, f), 'utf8');
      const fast = parseFast(text, f);
      assert.ok(fast, `${f} takes the fast path`);
      assert.deepEqual(fast, parseWithPositions(text, f), f);
      files++;
    }
  }
  assert.ok(files >= 6);
  // Anything wrong sends the file down the positioned path.
  assert.equal(parseFast('kind: Service\nmetadata: { name: web\n', 'x.yaml'), null);
  assert.equal(parseFast('kind: Service\nmetadata: { name: web }\nspec: { clusterIP: 1.2.3.999 }\n', 'x.yaml'), null);
});
