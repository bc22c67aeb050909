import { ExponentialBackoff, noop, type IBackoff } from 'cockatiel';
import { Etcd3 } from 'etcd3';
export { parseEndpoints } from './endpoints.js';

/**
 * An etcd client for clusterdns: no retries or circuit breaker inside the client (the
 * source and the bridge own their retry loops and their status), unary calls bounded by a
 * deadline, and watch streams re-established within a second of etcd coming back.
 */
export function etcdClient(endpoints: readonly string[], callTimeoutMs = 3000): Etcd3 {
  return new Etcd3({
    hosts: [...endpoints],
    dialTimeout: callTimeoutMs,
    grpcOptions: { 'grpc.max_receive_message_length': MAX_REPLY_BYTES },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    faultHandling: {
      host: () => noop,
      global: noop,
      // etcd3 takes the factory itself as the first backoff (as its own default does).
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }) as unknown as IBackoff<unknown>,
    },
  });
}


/**
 * One page of a prefix read. etcd 3.4 walks the rest of the range for every page (to count it), so
 * pages are large: 50,000 keys of a few hundred bytes, within the client's raised reply limit.
 */
const PAGE = 50_000;
const MAX_REPLY_BYTES = 256 * 1024 * 1024;

/**
 * Every key under a prefix at one revision, read in pages: a large cluster's keys do not fit in
 * one gRPC reply. The pages after the first are read at the first page's revision, so the whole
 * read is one consistent snapshot (a compaction meanwhile makes it fail, and it is retried).
 */
export async function readPrefix(client: Etcd3, prefix: string): Promise<{ kvs: [string, Buffer][]; revision: bigint }> {
  const end = prefixEnd(Buffer.from(prefix));
  const kvs: [string, Buffer][] = [];
  let key = Buffer.from(prefix);
  let revision: string | undefined;
  for (;;) {
    // No sort options: etcd returns keys in order, and a sorted range is read whole before the limit applies.
    const res = await client.kv.range({ key, range_end: end, limit: PAGE, revision }, { deadline: Date.now() + 60_000 });
    revision ??= res.header.revision;
    for (const kv of res.kvs) kvs.push([kv.key.toString('utf8'), kv.value]);
    if (!res.more || res.kvs.length === 0) break;
    key = Buffer.concat([res.kvs[res.kvs.length - 1].key, Buffer.from([0])]);
  }
  return { kvs, revision: BigInt(revision) };
}

/** The end of a prefix range: the prefix with its last byte incremented. */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
