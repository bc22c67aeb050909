import { CoreV1Api, DiscoveryV1Api, type KubeConfig } from '@kubernetes/client-node';

/**
 * The resources the source watches, each with its API path and its typed list call from the
 * client library. The rest of the source deals in "a list page" and "a watch path" only.
 */

export type ResourceName = 'services' | 'endpointslices' | 'namespaces' | 'pods';

export interface ListOptions {
  readonly limit: number;
  readonly continueToken?: string;
  readonly labelSelector?: string;
}

/** One page of a list: items as the client library returns them, and the list's metadata. */
export interface ListPage {
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
  readonly continueToken: string;
}

export interface Resource {
  readonly name: ResourceName;
  /** The kind of the items, as the manifest conversion knows it. */
  readonly kind: 'Service' | 'EndpointSlice' | 'Namespace' | 'Pod';
  readonly namespaced: boolean;
  /** Collection path: all namespaces when namespace is '' (or for cluster-scoped resources). */
  path(namespace: string): string;
  list(namespace: string, options: ListOptions): Promise<ListPage>;
}

interface RawList {
  readonly items: readonly unknown[];
  readonly metadata?: { readonly resourceVersion?: string; readonly _continue?: string };
}

function page(list: RawList): ListPage {
  return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '', continueToken: list.metadata?._continue ?? '' };
}

function params(o: ListOptions) {
  return { limit: o.limit, _continue: o.continueToken || undefined, labelSelector: o.labelSelector || undefined };
}

/** The four resources, bound to one API configuration. */
export function resources(kc: KubeConfig): Record<ResourceName, Resource> {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const corePath = (plural: string) => (ns: string) => (ns ? `/api/v1/namespaces/${ns}/${plural}` : `/api/v1/${plural}`);
  return {
    services: {
      name: 'services',
      kind: 'Service',
      namespaced: true,
      path: corePath('services'),
      list: async (ns, o) =>
        page(ns ? await core.listNamespacedService({ namespace: ns, ...params(o) }) : await core.listServiceForAllNamespaces(params(o))),
    },
    endpointslices: {
      name: 'endpointslices',
      kind: 'EndpointSlice',
      namespaced: true,
      path: (ns) => (ns ? `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices` : '/apis/discovery.k8s.io/v1/endpointslices'),
      list: async (ns, o) =>
        page(
          ns
            ? await discovery.listNamespacedEndpointSlice({ namespace: ns, ...params(o) })
            : await discovery.listEndpointSliceForAllNamespaces(params(o)),
        ),
    },
    namespaces: {
      name: 'namespaces',
      kind: 'Namespace',
      namespaced: false,
      path: () => '/api/v1/namespaces',
      list: async (_ns, o) => page(await core.listNamespace(params(o))),
    },
    pods: {
      name: 'pods',
      kind: 'Pod',
      namespaced: true,
      path: corePath('pods'),
      list: async (ns, o) =>
        page(ns ? await core.listNamespacedPod({ namespace: ns, ...params(o) }) : await core.listPodForAllNamespaces(params(o))),
    },
  };
}
