import { isIP } from 'node:net';
import type { ListenAddress } from '../dns/server.js';
import type { PodMode } from '../records/kubernetes.js';

/**
 * Parsers for the values of flags and settings. Each returns the typed value or throws a
 * ConfigError saying what was expected; the caller adds which flag or key it came from.
 */
export class ConfigError extends Error {
  readonly code = 'CLUSTERDNS_ERR_CONFIG';
}

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** A DNS domain: lowercased, trailing dot removed. */
export function parseDomain(s: string): string {
  const d = s.trim().toLowerCase().replace(/\.$/, '');
  if (d === '' || d.length > 253 || !d.split('.').every((l) => LABEL.test(l))) {
    throw new ConfigError(`expected a domain name such as cluster.local, got '${s}'`);
  }
  return d;
}

/** HOST:PORT, [IPv6]:PORT or :PORT (all IPv4 addresses). */
export function parseHostPort(s: string): ListenAddress {
  let host: string;
  let port: string;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(s);
  if (v6) [, host, port] = v6;
  else {
    const i = s.lastIndexOf(':');
    if (i < 0) throw new ConfigError(`expected HOST:PORT, got '${s}'`);
    host = s.slice(0, i) || '0.0.0.0';
    port = s.slice(i + 1);
  }
  if (host !== 'localhost' && isIP(host) === 0) throw new ConfigError(`expected an IP address before the port, got '${host}' in '${s}'`);
  const n = Number(port);
  if (!/^\d+$/.test(port) || n > 65535) throw new ConfigError(`expected a port 0-65535, got '${port}' in '${s}'`);
  return { host: host === 'localhost' ? '127.0.0.1' : host, port: n };
}

/** A non-negative integer within [min, max]. */
export function parseInteger(s: string, min: number, max: number): number {
  const n = Number(s);
  if (!/^\d+$/.test(s.trim()) || n < min || n > max) throw new ConfigError(`expected an integer ${min}-${max}, got '${s}'`);
  return n;
}

export const POD_MODES: readonly PodMode[] = ['disabled', 'insecure', 'verified'];

export function parsePodMode(s: string): PodMode {
  if (!(POD_MODES as readonly string[]).includes(s)) throw new ConfigError(`expected one of ${POD_MODES.join(', ')}, got '${s}'`);
  return s as PodMode;
}

/** "none", or a comma-separated list of IP[:PORT] (port 53 by default; IPv6 with a port as [IP]:PORT). */
export function parseUpstreams(s: string): ListenAddress[] {
  if (s.trim() === 'none') return [];
  const out: ListenAddress[] = [];
  for (const item of s.split(',').map((x) => x.trim())) {
    if (item === '') continue;
    if (isIP(item) !== 0) out.push({ host: item, port: 53 });
    else if (item.startsWith('[') || item.includes(':')) {
      const a = parseHostPort(item);
      if (isIP(a.host) === 0) throw new ConfigError(`expected IP[:PORT], got '${item}'`);
      out.push(a);
    } else throw new ConfigError(`expected 'none' or a list of IP[:PORT], got '${item}'`);
  }
  if (out.length === 0) throw new ConfigError(`expected 'none' or a list of IP[:PORT], got '${s}'`);
  return out;
}

/** Seconds (decimals allowed) within [min, max], returned in milliseconds. */
export function parseSeconds(s: string, min: number, max: number): number {
  const n = Number(s);
  if (!/^\d+(\.\d+)?$/.test(s.trim()) || n < min || n > max) throw new ConfigError(`expected seconds ${min}-${max} (decimals allowed), got '${s}'`);
  return Math.round(n * 1000);
}

const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A comma-separated list of namespace names. */
export function parseNamespaces(s: string): string[] {
  const names = s.split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (names.length === 0) throw new ConfigError(`expected namespace names separated by commas, got '${s}'`);
  for (const n of names) if (n.length > 63 || !NAMESPACE.test(n)) throw new ConfigError(`'${n}' is not a namespace name (a DNS-1123 label)`);
  return [...new Set(names)];
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/**
 * A Kubernetes label selector (k=v, k==v, k!=v, k, !k, k in (a,b), k notin (a,b), joined by
 * commas), checked here so a typo is a usage error instead of a 400 from the API server.
 */
export function parseLabelSelector(s: string): string {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  for (const raw of parts) {
    const p = raw.trim();
    const bad = (why: string) => new ConfigError(`label selector '${s}': '${p}' ${why}`);
    let m: RegExpExecArray | null;
    if ((m = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(p))) {
      if (!LABEL_KEY.test(m[1])) throw bad('has an invalid label key');
      const values = m[3].split(',').map((v) => v.trim());
      if (values.some((v) => v === '' || !LABEL_VALUE.test(v))) throw bad('has an invalid value in its list');
    } else if ((m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(p))) {
      if (!LABEL_KEY.test(m[1])) throw bad('has an invalid label key');
      if (!LABEL_VALUE.test(m[3])) throw bad('has an invalid label value');
    } else if ((m = /^!?(\S+)$/.exec(p))) {
      if (!LABEL_KEY.test(m[1])) throw bad('has an invalid label key');
    } else throw bad("is not a requirement (key=value, key!=value, key, !key, key in (a,b), key notin (a,b))");
  }
  return s.trim();
}
