import { BlockList, isIP } from 'node:net';
import { ConfigError } from '../config/values.js';

/**
 * Parsers for the values of `clusterdns render`. Each returns the typed value or throws a
 * ConfigError saying what was expected; the command line adds which flag it came from.
 */

export const MODES = ['direct', 'etcd'] as const;
export type Mode = (typeof MODES)[number];

export function parseMode(s: string): Mode {
  if (!(MODES as readonly string[]).includes(s)) throw new ConfigError(`expected one of ${MODES.join(', ')}, got '${s}'`);
  return s as Mode;
}

/** Ranges a Service's clusterIP can never be in (the API server refuses them too). */
const unusable: readonly [string, number, 'ipv4' | 'ipv6', string][] = [
  ['0.0.0.0', 8, 'ipv4', 'the unspecified range'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved (and broadcast)'],
  ['::', 128, 'ipv6', 'the unspecified address'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

/**
 * The fixed cluster IP of the `kube-dns` Service (what kubelets' `--cluster-dns` points at):
 * one IPv4 or IPv6 address, written as the API server writes it, in a range a Service may use.
 */
export function parseServerIp(s: string): string {
  const ip = s.trim();
  const family = isIP(ip);
  if (family === 0) throw new ConfigError(`expected the Service's cluster IP, an IPv4 or IPv6 address such as 10.96.0.10, got '${s}'`);
  if (family === 4 && ip.split('.').some((o) => o.length > 1 && o.startsWith('0'))) {
    throw new ConfigError(`expected an IPv4 address without leading zeros (the API server refuses them), got '${s}'`);
  }
  if (family === 6 && ip.includes('.')) throw new ConfigError(`expected an IPv6 address in plain hex form, got '${s}'`);
  for (const [net, prefix, type, what] of unusable) {
    const list = new BlockList();
    list.addSubnet(net, prefix, type);
    if (list.check(ip, family === 4 ? 'ipv4' : 'ipv6')) {
      throw new ConfigError(`'${s}' is ${what} (${net}/${prefix}): a Service's cluster IP must come from the cluster's service range, such as 10.96.0.10`);
    }
  }
  return family === 6 ? ip.toLowerCase() : ip;
}

/** An etcd key prefix such as /skydns: absolute, no trailing slash, no empty or dot segments. */
export function parseEtcdPrefix(s: string): string {
  const p = s.trim().replace(/\/+$/, '');
  if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(p) || p.split('/').some((seg) => seg === '.' || seg === '..')) {
    throw new ConfigError(`expected an etcd key prefix such as /skydns, got '${s}'`);
  }
  return p;
}

/** A container image reference: [registry/]repository[:tag][@digest], no spaces. */
export function parseImage(s: string): string {
  const ref = s.trim();
  if (!/^[a-z0-9]+([._\-/:@a-zA-Z0-9]*[a-zA-Z0-9])?$/.test(ref)) throw new ConfigError(`expected a container image such as registry.example/clusterdns:0.1.0, got '${s}'`);
  return ref;
}
