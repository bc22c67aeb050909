import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compact } from './compact.js';
import { EndpointList, type Endpoint, type EndpointSliceObject, type ServiceObject } from './objects.js';

const cases: { name: string; endpoints: Endpoint[] }[] = [
  { name: 'none', endpoints: [] },
  {
    name: 'one address each, all ready, no names',
    endpoints: [
      { addresses: ['10.0.0.1'], ready: true, hostname: '', podName: '' },
      { addresses: ['10.0.0.2'], ready: true, hostname: '', podName: '' },
    ],
  },
  {
    name: 'mixed: several addresses, not ready, some hostnames and pod names',
    endpoints: [
      { addresses: ['10.0.0.1', 'fd00::1'], ready: false, hostname: 'a', podName: '' },
      { addresses: ['10.0.0.2'], ready: true, hostname: '', podName: 'web-1' },
      { addresses: [], ready: false, hostname: 'c', podName: 'web-2' },
      { addresses: ['10.0.0.4'], ready: true, hostname: '', podName: '' },
    ],
  },
];

for (const c of cases) {
  test(`EndpointList gives back the endpoints it was made from: ${c.name}`, () => {
    const list = EndpointList.from(c.endpoints);
    assert.equal(list.length, c.endpoints.length);
    assert.deepEqual([...list], c.endpoints);
    assert.deepEqual([...list], c.endpoints, 'read twice');
    assert.equal(JSON.stringify(list), JSON.stringify(c.endpoints));
    assert.deepEqual([...EndpointList.from(list)], c.endpoints, 'from a list');
  });
}

test('compact shares namespaces and port lists between objects, and leaves its argument alone', () => {
  const svc = (name: string): ServiceObject => ({
    kind: 'Service',
    namespace: ['sh', 'op'].join(''),
    name,
    type: 'ClusterIP',
    clusterIPs: ['10.96.0.1'],
    externalName: '',
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    publishNotReadyAddresses: false,
  });
  const a = svc('a');
  const b = svc('b');
  const [ca, cb] = [compact(a), compact(b)];
  assert.equal(ca.ports, cb.ports, 'one port list');
  assert.deepEqual(ca.ports, a.ports);
  assert.ok(Object.isFrozen(ca.ports));
  assert.deepEqual({ ...ca, ports: [...ca.ports] }, a);
  assert.notEqual(a.ports, ca.ports, 'the argument keeps its own list');
  const slice: EndpointSliceObject = { kind: 'EndpointSlice', namespace: 'shop', name: 's', serviceName: 'a', endpoints: cases[2].endpoints, ports: [], fromEndpoints: false };
  const cs = compact(slice);
  assert.ok(cs.endpoints instanceof EndpointList);
  assert.deepEqual([...cs.endpoints], slice.endpoints);
  assert.equal(compact(cs).endpoints, cs.endpoints, 'a list is kept as it is');
});
