import { EndpointList, type ClusterObject, type EndpointPort, type ServicePort } from './objects.js';

/**
 * Shares what many slim objects repeat, and holds a slice's endpoints as columns (EndpointList).
 * A cluster has a few namespaces and a few port lists (most Services of a large cluster have one
 * of a handful), yet each object arrives with its own
 * copies: 20,000 Services with the same two ports hold 40,000 port objects. One copy of each
 * is kept here and the objects point at it. Both pools are bounded: when one fills, it starts
 * over (objects keep what they point at; only sharing with later objects is lost).
 */

const POOL_LIMIT = 10_000;
const strings = new Map<string, string>();
const portLists = new Map<string, readonly (ServicePort | EndpointPort)[]>();
const NO_PORTS: readonly ServicePort[] = Object.freeze([]);

/** The one shared copy of a short, often repeated string (a namespace). */
export function intern(s: string): string {
  const hit = strings.get(s);
  if (hit !== undefined) return hit;
  if (strings.size >= POOL_LIMIT) strings.clear();
  strings.set(s, s);
  return s;
}

/** The one shared, frozen copy of a port list. */
export function sharedPorts<P extends ServicePort | EndpointPort>(ports: readonly P[]): readonly P[] {
  if (ports.length === 0) return NO_PORTS as readonly P[];
  let key = '';
  for (const p of ports) key += `${p.name}/${p.port}/${p.protocol};`;
  const hit = portLists.get(key);
  if (hit !== undefined) return hit as readonly P[];
  if (portLists.size >= POOL_LIMIT) portLists.clear();
  const copy = Object.freeze(ports.map((p) => Object.freeze({ name: intern(p.name), port: p.port, protocol: p.protocol }) as P));
  portLists.set(key, copy);
  return copy;
}

/** The object with its namespace and port list shared (a new object; the argument is left as it was). */
export function compact<T extends ClusterObject>(o: T): T {
  switch (o.kind) {
    case 'Namespace':
      return { ...o, name: intern(o.name) };
    case 'Service':
      return { ...o, namespace: intern(o.namespace), ports: sharedPorts(o.ports) };
    case 'EndpointSlice':
      return { ...o, namespace: intern(o.namespace), ports: sharedPorts(o.ports), endpoints: o.endpoints instanceof EndpointList ? o.endpoints : EndpointList.from(o.endpoints) };
    case 'Pod':
      return { ...o, namespace: intern(o.namespace) };
  }
  return o;
}
