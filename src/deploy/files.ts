import type { Mode } from './inputs.js';

/**
 * The manifests committed under deploy/: each is the output of `clusterdns render` with the
 * arguments listed here (or the template for a mode), written by `npm run deploy:render`;
 * a test checks that each file is exactly that.
 */
export const RENDERED: readonly { readonly path: string; readonly args: readonly string[] }[] = [
  { path: 'deploy/clusterdns.yaml', args: ['--domain', 'cluster.local', '--server-ip', '10.96.0.10', '--replicas', '2', '--mode', 'direct'] },
  { path: 'deploy/clusterdns-etcd.yaml', args: ['--domain', 'cluster.local', '--server-ip', '10.96.0.10', '--replicas', '2', '--mode', 'etcd'] },
];

export const TEMPLATES: readonly { readonly path: string; readonly mode: Mode }[] = [
  { path: 'deploy/templates/clusterdns.yaml.in', mode: 'direct' },
  { path: 'deploy/templates/clusterdns-etcd.yaml.in', mode: 'etcd' },
];
