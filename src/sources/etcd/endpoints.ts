// Kept apart from client.ts so that checking flags does not load the etcd client library.

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
