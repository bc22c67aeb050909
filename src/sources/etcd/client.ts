import { ExponentialBackoff, noop, type IBackoff } from 'cockatiel';
import { Etcd3 } from 'etcd3';

/**
 * An etcd client for clusterdns: no retries or circuit breaker inside the client (the
 * source and the bridge own their retry loops and their status), unary calls bounded by a
 * deadline, and watch streams re-established within a second of etcd coming back.
 */
export function etcdClient(endpoints: readonly string[], callTimeoutMs = 3000): Etcd3 {
  return new Etcd3({
    hosts: [...endpoints],
    dialTimeout: callTimeoutMs,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    faultHandling: {
      host: () => noop,
      global: noop,
      // etcd3 takes the factory itself as the first backoff (as its own default does).
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }) as unknown as IBackoff<unknown>,
    },
  });
}

/** "http://a:2379,http://b:2379" -> endpoints; throws a message naming the bad one. */
export function parseEndpoints(s: string): string[] {
  const out = s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
  if (out.length === 0) throw new Error('expected http://HOST:PORT[,...]');
  for (const e of out) {
    let u: URL;
    try {
      u = new URL(e);
    } catch {
      throw new Error(`'${e}' is not a URL: expected http://HOST:PORT`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`'${e}': expected http:// or https://`);
    if (!u.port) throw new Error(`'${e}': the port is required (etcd listens on 2379)`);
  }
  return out;
}
