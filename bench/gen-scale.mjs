#!/usr/bin/env node
// A large synthetic cluster as Kubernetes manifests, for the scale step of the benchmark.
//
//   node bench/gen-scale.mjs --out DIR
//
// Defaults: 100 namespaces; 15,000 ClusterIP Services with two named ports (http 80, grpc 9090);
// 5,000 headless Services with 20 ready endpoints each in one EndpointSlice (100,000 endpoints);
// 50,000 Pods with an IP. Deterministic: the same options give the same bytes.
//
// Writes DIR/manifests/*.yaml (multi-document YAML, about 2,000 objects per file), DIR/queries.txt
// (dnsperf input) and DIR/scale.json (counts, files and probe names with their expected answers).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 as rng } from '../test/helpers/random.mjs';

export const SCALE_DEFAULTS = {
  namespaces: 100,
  clusterIP: 15_000,
  headless: 5_000,
  endpointsPerHeadless: 20,
  pods: 50_000,
  perFile: 2_000,
  queries: 20_000,
};

const z = (n, w) => String(n).padStart(w, '0');
const ip4 = (base, n) => `10.${base + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;

/** The model: names, namespaces and addresses of every object, computed from an index. */
function model(o) {
  const nsName = (k) => `ns-${z(k, 3)}`;
  const perNs = (count) => Math.ceil(count / o.namespaces);
  return {
    nsName,
    svc: (i) => ({ name: `svc-${z(i, 5)}`, ns: nsName(Math.floor(i / perNs(o.clusterIP))), ip: ip4(96, i + 10) }),
    hl: (j) => ({ name: `hl-${z(j, 4)}`, ns: nsName(Math.floor(j / perNs(o.headless))) }),
    ep: (j, k) => ({ host: `hl-${z(j, 4)}-${k}`, ip: ip4(244, j * o.endpointsPerHeadless + k + 256) }),
    pod: (p) => ({ name: `pod-${z(p, 5)}`, ns: nsName(Math.floor(p / perNs(o.pods))), ip: ip4(248, p + 256) }),
  };
}

function clusterIPService(s) {
  return (
    `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${s.name}\n  namespace: ${s.ns}\n` +
    `spec:\n  type: ClusterIP\n  clusterIP: ${s.ip}\n  clusterIPs:\n  - ${s.ip}\n  selector:\n    app: ${s.name}\n` +
    `  ports:\n  - name: http\n    port: 80\n    protocol: TCP\n    targetPort: 8080\n` +
    `  - name: grpc\n    port: 9090\n    protocol: TCP\n    targetPort: 9090\n`
  );
}

function headlessService(h) {
  return (
    `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${h.name}\n  namespace: ${h.ns}\n` +
    `spec:\n  clusterIP: None\n  clusterIPs:\n  - None\n  selector:\n    app: ${h.name}\n` +
    `  ports:\n  - name: http\n    port: 80\n    protocol: TCP\n    targetPort: 80\n`
  );
}

function endpointSlice(h, eps) {
  return (
    `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: ${h.name}-slice0\n  namespace: ${h.ns}\n` +
    `  labels:\n    kubernetes.io/service-name: ${h.name}\naddressType: IPv4\n` +
    `ports:\n- name: http\n  port: 80\n  protocol: TCP\nendpoints:\n` +
    eps.map((e) => `- addresses:\n  - ${e.ip}\n  hostname: ${e.host}\n  conditions:\n    ready: true\n`).join('')
  );
}

function pod(p) {
  return (
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${p.name}\n  namespace: ${p.ns}\n` +
    `spec:\n  containers:\n  - name: app\n    image: registry.example/app:1\n` +
    `status:\n  phase: Running\n  podIP: ${p.ip}\n  podIPs:\n  - ip: ${p.ip}\n`
  );
}

const podName = (ip, ns) => `${ip.replaceAll('.', '-')}.${ns}.pod.cluster.local`;

/**
 * Writes the cluster under `out` and returns its description (also written to out/scale.json).
 * Options override SCALE_DEFAULTS.
 */
export function generateScale(out, options = {}) {
  const o = { ...SCALE_DEFAULTS, ...options };
  const m = model(o);
  const dir = path.join(out, 'manifests');
  mkdirSync(dir, { recursive: true });
  const files = [];
  let bytes = 0;
  const writeChunks = (prefix, count, render) => {
    for (let start = 0, n = 0; start < count; start += o.perFile, n++) {
      const docs = [];
      for (let i = start; i < Math.min(count, start + o.perFile); i++) docs.push(render(i));
      const text = docs.join('---\n');
      const name = `${prefix}-${z(n, 2)}.yaml`;
      writeFileSync(path.join(dir, name), text);
      files.push({ name, objects: docs.length, bytes: Buffer.byteLength(text) });
      bytes += Buffer.byteLength(text);
    }
  };

  writeChunks('00-namespaces', o.namespaces, (k) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${m.nsName(k)}\n`);
  // ClusterIP Services first, then the headless ones, in one numbered series of files.
  writeChunks('10-services', o.clusterIP + o.headless, (i) => (i < o.clusterIP ? clusterIPService(m.svc(i)) : headlessService(m.hl(i - o.clusterIP))));
  const eps = (j) => Array.from({ length: o.endpointsPerHeadless }, (_, k) => m.ep(j, k));
  writeChunks('20-endpointslices', o.headless, (j) => endpointSlice(m.hl(j), eps(j)));
  writeChunks('30-pods', o.pods, (p) => pod(m.pod(p)));

  // dnsperf input: 60% A of ClusterIP Services, 10% A of headless Services (20 records each),
  // 5% A of endpoint hostnames, 10% SRV, 10% A of pod names (--pods verified), 5% NXDOMAIN.
  const r = rng(20_000);
  const pick = (n) => Math.floor(r() * n);
  const lines = [];
  for (let q = 0; q < o.queries; q++) {
    const x = r();
    if (x < 0.6) {
      const s = m.svc(pick(o.clusterIP));
      lines.push(`${s.name}.${s.ns}.svc.cluster.local A`);
    } else if (x < 0.7) {
      const h = m.hl(pick(o.headless));
      lines.push(`${h.name}.${h.ns}.svc.cluster.local A`);
    } else if (x < 0.75) {
      const j = pick(o.headless);
      const h = m.hl(j);
      lines.push(`${m.ep(j, pick(o.endpointsPerHeadless)).host}.${h.name}.${h.ns}.svc.cluster.local A`);
    } else if (x < 0.85) {
      if (r() < 0.7) {
        const s = m.svc(pick(o.clusterIP));
        lines.push(`_${r() < 0.5 ? 'http' : 'grpc'}._tcp.${s.name}.${s.ns}.svc.cluster.local SRV`);
      } else {
        const h = m.hl(pick(o.headless));
        lines.push(`_http._tcp.${h.name}.${h.ns}.svc.cluster.local SRV`);
      }
    } else if (x < 0.95) {
      const p = m.pod(pick(o.pods));
      lines.push(`${podName(p.ip, p.ns)} A`);
    } else {
      lines.push(`nosuch-${z(pick(1_000_000), 6)}.${m.nsName(pick(o.namespaces))}.svc.cluster.local A`);
    }
  }
  writeFileSync(path.join(out, 'queries.txt'), lines.join('\n') + '\n');

  // Names at the end of the data, to tell when everything has been loaded.
  const lastH = o.headless - 1;
  const lastEp = m.ep(lastH, o.endpointsPerHeadless - 1);
  const lastPod = m.pod(o.pods - 1);
  const lastSvc = m.svc(o.clusterIP - 1);
  const desc = {
    counts: {
      namespaces: o.namespaces,
      services: o.clusterIP + o.headless,
      clusterip_services: o.clusterIP,
      headless_services: o.headless,
      endpoints: o.headless * o.endpointsPerHeadless,
      endpointslices: o.headless,
      pods: o.pods,
      objects: o.namespaces + o.clusterIP + 2 * o.headless + o.pods,
    },
    manifests: dir,
    queries: path.join(out, 'queries.txt'),
    query_lines: lines.length,
    files: files.length,
    bytes,
    probes: [
      { qname: `${lastEp.host}.${m.hl(lastH).name}.${m.hl(lastH).ns}.svc.cluster.local`, qtype: 'A', want: lastEp.ip, what: 'last endpoint hostname' },
      { qname: podName(lastPod.ip, lastPod.ns), qtype: 'A', want: lastPod.ip, what: 'last pod' },
      { qname: `${lastSvc.name}.${lastSvc.ns}.svc.cluster.local`, qtype: 'A', want: lastSvc.ip, what: 'last ClusterIP service' },
    ],
  };
  writeFileSync(path.join(out, 'scale.json'), JSON.stringify(desc, null, 2) + '\n');
  return desc;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  const out = i > 0 ? process.argv[i + 1] : null;
  if (!out) {
    console.error('usage: node bench/gen-scale.mjs --out DIR');
    process.exit(2);
  }
  const d = generateScale(out);
  console.log(`${d.counts.objects} objects (${d.counts.services} Services, ${d.counts.endpoints} endpoints, ${d.counts.pods} Pods) in ${d.files} files, ${(d.bytes / 1048576).toFixed(1)} MB; ${d.query_lines} queries`);
}
