import { formatAddress } from '../dns/server.js';
import type { Running } from './serve.js';

/** Prints dig commands that exercise what was loaded: one per kind of answer the server gives. */
export function printHints(running: Running, domain: string): void {
  const addr = running.dns[0];
  const host = addr.host === '0.0.0.0' ? '127.0.0.1' : addr.host === '::' ? '::1' : addr.host;
  const dig = `dig @${host} -p ${addr.port}`;
  const s = running.state.sample();
  const fq = (svc: { name: string; namespace: string }) => `${svc.name}.${svc.namespace}.svc.${domain}`;
  const lines: string[] = [];
  if (s.clusterIP) {
    lines.push(`${dig} ${fq(s.clusterIP)}`);
    const named = s.clusterIP.ports.find((p) => p.name);
    if (named) lines.push(`${dig} _${named.name}._${named.protocol.toLowerCase()}.${fq(s.clusterIP)} SRV`);
    if (s.clusterIP.clusterIPs[0]) lines.push(`${dig} -x ${s.clusterIP.clusterIPs[0]}`);
  }
  if (s.headless) lines.push(`${dig} ${fq(s.headless)}`);
  if (s.externalName) lines.push(`${dig} ${fq(s.externalName)}`);
  lines.push(`${dig} dns-version.${domain} TXT`);
  lines.push(`${dig} does-not-exist.default.svc.${domain}`);
  lines.push(`${dig} +tcp ${s.headless ? fq(s.headless) : `dns-version.${domain} TXT`}`);
  const base = running.http ? formatAddress(running.http).replace('0.0.0.0', '127.0.0.1') : '';
  const http = running.http
    ? `\nHealth: curl http://${base}/ready\nStatus page: http://${base}/\nWhy a name resolves or not: npx clusterdns explain web --namespace default --server ${base}`
    : '';
  process.stderr.write(`\nclusterdns serves ${domain} on ${running.dns.map(formatAddress).join(', ')} (UDP and TCP). Try:\n  ${lines.join('\n  ')}${http}\n\n`);
}
