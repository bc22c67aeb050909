import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ListenAddress } from '../dns/server.js';

/** The nameservers of a resolv.conf file (port 53), in order; throws with the path when it cannot be read. */
export function resolvConfNameservers(path = '/etc/resolv.conf'): ListenAddress[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${path} for the default upstreams: ${(e as Error).message}; set --upstream IP[,IP] or --upstream none`, { cause: e });
  }
  const out: ListenAddress[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const host = m[1].replace(/%.*$/, '');
    if (isIP(host)) out.push({ host, port: 53 });
  }
  return out;
}

/**
 * The upstreams that are this server itself: the same port on an address it listens on (or
 * any loopback or local address, when it listens on all addresses). Forwarding to them would
 * send every outside question round in a loop.
 */
export function selfUpstreams(upstreams: readonly ListenAddress[], listen: readonly ListenAddress[], localAddresses: readonly string[]): ListenAddress[] {
  return upstreams.filter((u) =>
    listen.some((l) => {
      if (l.port !== u.port) return false;
      if (l.host === u.host) return true;
      const wildcard = l.host === '0.0.0.0' || l.host === '::';
      return wildcard && (u.host.startsWith('127.') || u.host === '::1' || localAddresses.includes(u.host));
    }),
  );
}
