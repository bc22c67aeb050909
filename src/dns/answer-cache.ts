import type { Query } from './wire.js';

/**
 * Encoded replies, kept per question so that answering a repeated question is "copy the bytes,
 * patch the ID and the question's case". Entries are keyed by the lowercased name, then by
 * type, size limit and the header bits that shape the reply (RD, CD, EDNS, DO); each entry holds
 * up to `variants` encodings, one per rotation of a multi-record answer.
 *
 * The cache is valid for one generation of the data behind it: when the generation moves, the
 * whole cache is dropped at the next lookup. It is also dropped when it reaches maxEntries,
 * which bounds the memory that questions for random names can take.
 */
export interface AnswerCacheOptions {
  /** The data's generation: the record store's, which moves with every applied batch. */
  readonly generation: () => number;
  readonly maxEntries?: number;
}

export interface CacheEntry {
  readonly variants: (Buffer | undefined)[];
}

export class AnswerCache {
  private names = new Map<string, Map<number, CacheEntry>>();
  private size = 0;
  private gen: number;
  private readonly maxEntries: number;

  constructor(private readonly opts: AnswerCacheOptions) {
    this.gen = opts.generation();
    this.maxEntries = opts.maxEntries ?? 100_000;
  }

  /** The entry for this question and limit, or undefined; drops everything if the data moved. */
  entry(q: Query, limit: number): CacheEntry | undefined {
    const gen = this.opts.generation();
    if (gen !== this.gen) {
      this.clear();
      this.gen = gen;
      return undefined;
    }
    return this.names.get(q.lname)?.get(subkey(q, limit));
  }

  /** Creates the entry for this question with room for `variants` encodings. */
  create(q: Query, limit: number, variants: number): CacheEntry {
    if (this.size >= this.maxEntries) this.clear();
    let byKey = this.names.get(q.lname);
    if (!byKey) this.names.set(q.lname, (byKey = new Map()));
    const e: CacheEntry = { variants: new Array<Buffer | undefined>(variants) };
    byKey.set(subkey(q, limit), e);
    this.size++;
    return e;
  }

  get entries(): number {
    return this.size;
  }

  clear(): void {
    this.names = new Map();
    this.size = 0;
  }
}

/** Type, limit and the shaping header bits in one number (exact in a double: under 2^36). */
function subkey(q: Query, limit: number): number {
  const flags = (q.rd ? 1 : 0) | (q.cd ? 2 : 0) | (q.edns ? 4 : 0) | (q.edns?.do ? 8 : 0);
  return q.qtype + 65536 * (limit + 65536 * flags);
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
