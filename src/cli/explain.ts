import { formatExplain } from '../explain/format.js';
import type { ExplainResult } from '../explain/explain.js';
import type { ListenAddress } from '../dns/server.js';
import { formatAddress } from '../dns/server.js';

/** `clusterdns explain`: asks a running server's HTTP port and prints its answer. */

export interface ExplainOptions {
  readonly namespace: string;
  readonly type: string;
  readonly server: ListenAddress;
  readonly json: boolean;
  readonly timeoutMs?: number;
}

/** The server could not be asked, or refused the question; message says which and what to do. */
export class ExplainRequestError extends Error {
  readonly code = 'CLUSTERDNS_ERR_EXPLAIN_REQUEST';
}

/** Returns the text to print (the report, or JSON). */
export async function runExplain(name: string, o: ExplainOptions): Promise<string> {
  const host = o.server.host === '0.0.0.0' ? '127.0.0.1' : o.server.host === '::' ? '::1' : o.server.host;
  const base = `http://${formatAddress({ host, port: o.server.port })}`;
  const url = `${base}/explain?${new URLSearchParams({ name, namespace: o.namespace, type: o.type })}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(o.timeoutMs ?? 10_000) });
  } catch (e) {
    const why = e instanceof Error ? ((e.cause as Error | undefined)?.message ?? e.message) : String(e);
    throw new ExplainRequestError(`cannot reach the server at ${base} (${why}): is clusterdns serve running there? --server is its --http address`, { cause: e });
  }
  const body = await res.text();
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new ExplainRequestError(`${base}/explain answered ${res.status} without JSON: is ${base} a clusterdns HTTP port? (${body.slice(0, 80).trim()})`);
  }
  if (!res.ok) {
    const err = (value as { error?: string }).error ?? `HTTP ${res.status}`;
    throw new ExplainRequestError(res.status === 400 ? err : `the server at ${base} failed: ${err}`);
  }
  return o.json ? `${JSON.stringify(value, null, 2)}\n` : formatExplain(value as ExplainResult);
}
