import type { Query } from './wire.js';
import { ByteArena } from './bytes.js';

/**
 * Encoded replies, kept per question so that answering a repeated question is "copy the bytes,
 * patch the ID and the question's case". Entries are keyed by the lowercased name, then by
 * type and the header bits that shape the reply (RD, CD, EDNS, DO); each entry holds up to
 * `variants` encodings, one per rotation of a multi-record answer. Whole (untruncated) replies
 * serve every client whose size limit they fit; a truncated reply serves only clients with the
 * very limit it was cut for (most often 512 bytes, a query without EDNS), so it is kept apart.
 *
 * The cache is valid for one generation of the data behind it: when the generation moves, the
 * whole cache is dropped at the next lookup. Answers for names that do not exist (NXDOMAIN) are
 * and empty answers (NODATA) are kept apart under a small bound of their own (maxNegative): a
 * flood of random names or types can only ever recycle that part, while the answers for names that exist stay (their number is bounded
 * by the zone; maxEntries caps them anyway).
 */
export interface AnswerCacheOptions {
  /** The data's generation: the record store's, which moves with every applied batch. */
  readonly generation: () => number;
  readonly maxEntries?: number;
  readonly maxNegative?: number;
}

export interface CacheEntry {
  /** The question's type and shaping bits (see subkey). */
  readonly key: number;
  readonly variants: (Buffer | undefined)[];
  /**
   * Where the entry's bytes are copied: slabs of its tier, freed when the tier is dropped (each
   * tier has its own, so names that do not exist, recycled often, never pin the slabs of answers).
   */
  readonly arena: ByteArena;
  /** A truncated encoding, for clients whose size limit is `limit`. */
  truncated?: { readonly limit: number; readonly wire: Buffer };
}

/**
 * Entries by name, then by key. Most names are asked with one type only, so a name's one entry is
 * held as itself; a map of entries by key appears with the second (a map per name cost 200 bytes).
 */
class Tier {
  names = new Map<string, CacheEntry | Map<number, CacheEntry>>();
  size = 0;
  readonly arena = new ByteArena();
  constructor(readonly max: number) {}
  get(q: Query): CacheEntry | undefined {
    const at = this.names.get(q.lname);
    if (at === undefined) return undefined;
    const key = subkey(q);
    if (at instanceof Map) return at.get(key);
    return at.key === key ? at : undefined;
  }
  add(q: Query, e: CacheEntry): void {
    if (this.size >= this.max) this.clear();
    const at = this.names.get(q.lname);
    if (at === undefined || (!(at instanceof Map) && at.key === e.key)) this.names.set(q.lname, e);
    else if (at instanceof Map) at.set(e.key, e);
    else
      this.names.set(
        q.lname,
        new Map([
          [at.key, at],
          [e.key, e],
        ]),
      );
    this.size++;
  }
  clear(): void {
    this.names = new Map();
    this.size = 0;
    this.arena.reset();
  }
}

export class AnswerCache {
  private readonly positive: Tier;
  private readonly negative: Tier;
  private gen: number;

  constructor(private readonly opts: AnswerCacheOptions) {
    this.gen = opts.generation();
    this.positive = new Tier(opts.maxEntries ?? 100_000);
    this.negative = new Tier(opts.maxNegative ?? 10_000);
  }

  /** The entry for this question, or undefined; drops everything if the data moved. */
  entry(q: Query): CacheEntry | undefined {
    const gen = this.opts.generation();
    if (gen !== this.gen) {
      this.clear();
      this.gen = gen;
      return undefined;
    }
    return this.positive.get(q) ?? this.negative.get(q);
  }

  /** Creates the entry for this question with room for `variants` encodings; negative for NXDOMAIN and NODATA. */
  create(q: Query, variants: number, negative = false): CacheEntry {
    const tier = negative ? this.negative : this.positive;
    const e: CacheEntry = { key: subkey(q), variants: new Array<Buffer | undefined>(variants), arena: tier.arena };
    tier.add(q, e);
    return e;
  }

  get entries(): number {
    return this.positive.size + this.negative.size;
  }

  clear(): void {
    this.positive.clear();
    this.negative.clear();
  }
}

/** Type and the shaping header bits in one number. */
function subkey(q: Query): number {
  const flags = (q.rd ? 1 : 0) | (q.cd ? 2 : 0) | (q.edns ? 4 : 0) | (q.edns?.do ? 8 : 0);
  return q.qtype + 65536 * flags;
}

/** A cached encoding made into the reply to q: a fresh copy with q's ID and q's question case. */
export function personalise(template: Buffer, q: Query): Buffer {
  const out = Buffer.allocUnsafe(template.length);
  template.copy(out);
  out[0] = q.id >> 8;
  out[1] = q.id & 0xff;
  out.set(q.qnameWire, 12);
  return out;
}
