import { Rcode, Type } from '../dns/constants.js';
import { addressBytes, type RR, type SoaRecord } from '../dns/rr.js';
import type { Reply } from '../dns/wire.js';
import { dashedIP, ipFromDashed, type ClusterZone } from '../records/kubernetes.js';
import { NameNode, parentOf, rrset, type RecordStore } from './store.js';

/**
 * Answers a question from the record store, for the cluster domain and the reverse zones.
 * Pure: reads the store, never writes. Returns null for a name outside these zones, and for
 * a reverse name the cluster does not know when `fallthroughReverse` is set (it goes upstream).
 */

const REVERSE_ZONES = ['in-addr.arpa', 'ip6.arpa'] as const;
const MAX_CNAME_CHAIN = 8;

export interface LookupOptions {
  readonly zone: ClusterZone;
  /** Unknown reverse names go to the next handler instead of NXDOMAIN. */
  readonly fallthroughReverse: boolean;
  /** Answer names that do not exist from a `*` record at their closest encloser (RFC 4592); for zones from etcd. */
  readonly wildcards?: boolean;
}

export class ZoneLookup {
  private soaCache = new Map<string, { gen: number; rr: SoaRecord }>();
  private readonly domain: string;
  private readonly suffix: string;
  private readonly podSuffix: string;

  constructor(
    private readonly store: RecordStore,
    private readonly opts: LookupOptions,
  ) {
    this.domain = opts.zone.domain;
    this.suffix = '.' + this.domain;
    this.podSuffix = `.pod.${this.domain}`;
  }

  /** The zone apex that owns name, or null when the name is outside every zone served. */
  zoneOf(name: string): string | null {
    if (name === this.domain || name.endsWith(this.suffix)) return this.domain;
    for (const z of REVERSE_ZONES) if (name === z || name.endsWith('.' + z)) return z;
    return null;
  }

  /**
   * rotation picks the first record of multi-record address answers, so repeated queries
   * spread clients across endpoints.
   */
  lookup(name: string, qtype: number, rotation = 0): Reply | null {
    const zone = this.zoneOf(name);
    if (zone === null) return null;
    const reverse = zone !== this.domain;
    if (reverse && this.opts.fallthroughReverse && !this.store.exists(name)) return null;

    if (!reverse && this.opts.zone.pods === 'insecure' && name.endsWith(this.podSuffix)) {
      const pod = this.insecurePod(name, qtype);
      if (pod) return pod;
    }

    let node = this.store.node(name);
    if (!node && this.opts.wildcards && !this.store.exists(name)) node = this.wildcard(name, zone);
    if (!node) {
      if (this.store.exists(name)) return this.negative(zone, Rcode.NOERROR);
      return this.negative(zone, Rcode.NXDOMAIN);
    }

    const answer: RR[] = [];
    let rcode: number = Rcode.NOERROR;
    // Set when a CNAME chain ends at a name of ours that has no data of the type asked.
    let emptyTail = false;
    let current = node;
    let currentName = name;
    for (let depth = 0; ; depth++) {
      const cname = rrset(current, Type.CNAME);
      if (cname.length > 0 && qtype !== Type.CNAME && qtype !== Type.ANY) {
        answer.push(...cname);
        const target = cname[0].type === Type.CNAME ? cname[0].target : '';
        if (depth >= MAX_CNAME_CHAIN || this.zoneOf(target) === null) break;
        const next = this.store.node(target);
        if (!next) {
          // RFC 6604: the rcode speaks of the last name in the chain.
          if (!this.store.exists(target)) rcode = Rcode.NXDOMAIN;
          emptyTail = true;
          break;
        }
        current = next;
        currentName = target;
        continue;
      }
      const before = answer.length;
      if (qtype === Type.SOA && currentName === this.domain) answer.push(this.soa(zone));
      else if (qtype === Type.ANY) answer.push(...current.rrs);
      else {
        const set = rrset(current, qtype);
        answer.push(...(set.length > 1 ? rotate(set, rotation) : set));
      }
      emptyTail = answer.length === before;
      break;
    }
    if (answer.length === 0) return this.negative(zone, Rcode.NOERROR);
    return {
      rcode,
      aa: true,
      answer,
      authority: emptyTail ? [this.soa(zone)] : [],
      additional: this.glue(answer),
    };
  }

  /** SOA of a zone; the serial is the store's last change, so it moves when the data does. */
  soa(zone: string): SoaRecord {
    const gen = this.store.generation;
    const hit = this.soaCache.get(zone);
    if (hit && hit.gen === gen) return hit.rr;
    const ttl = this.opts.zone.ttl;
    const rr: SoaRecord = {
      type: Type.SOA,
      name: zone,
      ttl,
      mname: `ns.dns.${zone}`,
      rname: `hostmaster.${zone}`,
      serial: this.store.lastChange >>> 0,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: ttl,
    };
    this.soaCache.set(zone, { gen, rr });
    return rr;
  }

  private negative(zone: string, rcode: number): Reply {
    return { rcode, aa: true, answer: [], authority: [this.soa(zone)], additional: [] };
  }

  /** A and AAAA of SRV targets and of the apex NS name, when the store has them. */
  private glue(answer: readonly RR[]): RR[] {
    let extra: RR[] | null = null;
    for (const rr of answer) {
      if (rr.type !== Type.SRV && rr.type !== Type.NS) continue;
      const n = this.store.node(rr.target);
      if (!n) continue;
      extra ??= [];
      for (const t of [Type.A, Type.AAAA]) {
        for (const g of rrset(n, t)) if (!extra.includes(g)) extra.push(g);
      }
    }
    return extra ?? [];
  }

  /**
   * RFC 4592: a name that does not exist is answered from `*.<closest encloser>` (the nearest
   * ancestor that exists), as if the wildcard's records were at the name asked.
   */
  private wildcard(name: string, zone: string): NameNode | undefined {
    for (let p = parentOf(name); p !== null; p = parentOf(p)) {
      if (!this.store.exists(p)) {
        if (p === zone) return undefined;
        continue;
      }
      const w = this.store.node(p === '' ? '*' : `*.${p}`);
      if (!w) return undefined;
      return NameNode.of(w.rrs.map((rr) => ({ ...rr, name })));
    }
    return undefined;
  }

  /** `a-b-c-d.<ns>.pod.<domain>` answered from the name alone (--pods insecure). */
  private insecurePod(name: string, qtype: number): Reply | null {
    const labels = name.slice(0, name.length - this.podSuffix.length).split('.');
    if (labels.length !== 2) return null;
    const ip = ipFromDashed(labels[0]);
    if (ip === null || dashedIP(ip) !== labels[0]) return null;
    const address = addressBytes(ip);
    const type = address.length === 4 ? Type.A : Type.AAAA;
    if (qtype !== type && qtype !== Type.ANY) return this.negative(this.domain, Rcode.NOERROR);
    return { rcode: Rcode.NOERROR, aa: true, answer: [{ type, name, ttl: this.opts.zone.ttl, address }], authority: [], additional: [] };
  }
}

function rotate<T>(set: readonly T[], k: number): T[] {
  const n = set.length;
  const s = k % n;
  const out = new Array<T>(n);
  for (let i = 0; i < n; i++) out[i] = set[(i + s) % n];
  return out;
}
