import type { ClusterObject, Endpoint } from '../../src/records/objects.js';

/** A headless Service `<ns>/<name>` and one EndpointSlice holding these endpoints. */
export function headless(ns: string, name: string, endpoints: readonly Partial<Endpoint>[]): ClusterObject[] {
  return [
    { kind: 'Service', namespace: ns, name, type: 'Headless', clusterIPs: [], externalName: '', ports: [], publishNotReadyAddresses: false },
    {
      kind: 'EndpointSlice',
      namespace: ns,
      name: `${name}-1`,
      serviceName: name,
      fromEndpoints: false,
      ports: [],
      endpoints: endpoints.map((e) => ({ addresses: [], ready: true, hostname: '', podName: '', ...e })),
    },
  ];
}
