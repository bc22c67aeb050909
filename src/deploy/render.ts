import { manifests, toYaml, type RenderOptions } from './manifests.js';

/**
 * `clusterdns render` output, and the same manifests as templates with the original addon's
 * `{DNS_DOMAIN}`, `{DNS_SERVER_IP}` and `{DNS_REPLICAS}` placeholders for a sed step.
 */

export const DEFAULT_IMAGE = (version: string) => `clusterdns:${version}`;
export const DEFAULT_ETCD_IMAGE = 'registry.k8s.io/etcd:3.5.16-0';
export const DEFAULT_ETCD_PREFIX = '/skydns';

/** The render command line that gives this output (flags at their defaults left out). */
export function commandLine(o: RenderOptions, version: string): string {
  const args = ['clusterdns', 'render', '--domain', o.domain, '--server-ip', o.serverIp, '--replicas', String(o.replicas), '--mode', o.mode];
  if (o.pods !== 'insecure') args.push('--pods', o.pods);
  if (o.image !== DEFAULT_IMAGE(version)) args.push('--image', o.image);
  if (o.mode === 'etcd' && o.etcdImage !== DEFAULT_ETCD_IMAGE) args.push('--etcd-image', o.etcdImage);
  if (o.mode === 'etcd' && o.etcdPrefix !== DEFAULT_ETCD_PREFIX) args.push('--etcd-prefix', o.etcdPrefix);
  return args.join(' ');
}

export function render(o: RenderOptions, version: string): string {
  return toYaml(manifests(o), `clusterdns ${version}: ${commandLine(o, version)} | kubectl apply -f -`);
}

export const PLACEHOLDERS = { domain: '{DNS_DOMAIN}', serverIp: '{DNS_SERVER_IP}', replicas: '{DNS_REPLICAS}' } as const;

/**
 * The manifests with placeholders in place of the domain, server IP and replica count (for an
 * IPv4 server IP). Substituting them gives exactly what `render` prints for those values.
 */
export function template(o: Omit<RenderOptions, 'domain' | 'serverIp' | 'replicas'>, version: string): string {
  const withPlaceholders = { ...o, domain: PLACEHOLDERS.domain, serverIp: PLACEHOLDERS.serverIp, replicas: PLACEHOLDERS.replicas as unknown as number };
  const how = [
    `clusterdns ${version} (--mode ${o.mode}), as a template: replace the placeholders, then apply, e.g.`,
    `sed -e 's/{DNS_DOMAIN}/cluster.local/g' -e 's/{DNS_SERVER_IP}/10.96.0.10/g' -e 's/{DNS_REPLICAS}/2/g' FILE | kubectl apply -f -`,
    'The result is what `clusterdns render` prints for the same values (which also checks them).',
  ].join('\n');
  let text = toYaml(manifests(withPlaceholders), how);
  // YAML quotes a scalar starting with '{'; the substituted text must read as the plain value.
  for (const p of Object.values(PLACEHOLDERS)) text = text.replaceAll(`"${p}"`, p).replaceAll(`'${p}'`, p);
  return text;
}
