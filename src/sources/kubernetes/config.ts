import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeconfigError } from './errors.js';

/** Where the service account's files are mounted in a pod. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeconfigChoice {
  /** A kubeconfig file; when absent, $KUBECONFIG, and else the in-cluster configuration. */
  readonly path?: string;
  /** The environment to read KUBECONFIG and KUBERNETES_SERVICE_HOST/PORT from. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The API client configuration: an explicit kubeconfig file, else $KUBECONFIG, else the
 * pod's in-cluster configuration (service account token and CA, KUBERNETES_SERVICE_HOST and
 * _PORT). Throws KubeconfigError saying which one was tried and what is missing.
 */
export function loadKubeConfig(choice: KubeconfigChoice = {}): { config: KubeConfig; from: string } {
  const env = choice.env ?? process.env;
  const kc = new KubeConfig();
  const path = choice.path || env.KUBECONFIG?.split(':').find((p) => p !== '');
  if (path) {
    const flag = choice.path ? '--kubeconfig' : 'KUBECONFIG';
    if (!existsSync(path)) throw new KubeconfigError(`${flag}: '${path}' does not exist`);
    try {
      kc.loadFromFile(path);
    } catch (e) {
      throw new KubeconfigError(`${flag}: '${path}' is not a usable kubeconfig: ${(e as Error).message}`, { cause: e });
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new KubeconfigError(`${flag}: '${path}' has no current context with a cluster (set current-context)`);
    if (!/^https?:\/\//.test(cluster.server)) throw new KubeconfigError(`${flag}: cluster '${cluster.name}' in '${path}' has server '${cluster.server}'; expected an https:// URL`);
    return { config: kc, from: path };
  }
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new KubeconfigError('no Kubernetes API configured: pass --kubeconfig PATH or set KUBECONFIG, or run in a pod (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set)');
  }
  if (!existsSync(`${SERVICE_ACCOUNT_DIR}/token`)) {
    throw new KubeconfigError(`in-cluster configuration: ${SERVICE_ACCOUNT_DIR}/token is missing: mount a service account token (automountServiceAccountToken)`);
  }
  kc.loadFromCluster();
  return { config: kc, from: 'in-cluster' };
}
