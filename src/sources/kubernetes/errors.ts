/**
 * Typed errors of the Kubernetes source, each with a stable code, and the classification of
 * a failed request into the reason label that logs and metrics use.
 */

/** No usable configuration for reaching the API (a bad kubeconfig, no in-cluster environment). */
export class KubeconfigError extends Error {
  readonly code = 'CLUSTERDNS_ERR_KUBECONFIG';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KubeconfigError';
  }
}

/** A list or watch request failed. `reason` is the metric label; the message says what to do. */
export class KubernetesRequestError extends Error {
  readonly code: 'CLUSTERDNS_ERR_SOURCE_LIST' | 'CLUSTERDNS_ERR_SOURCE_WATCH';
  constructor(
    readonly operation: 'list' | 'watch',
    readonly reason: ErrorReason,
    readonly status: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KubernetesRequestError';
    this.code = operation === 'list' ? 'CLUSTERDNS_ERR_SOURCE_LIST' : 'CLUSTERDNS_ERR_SOURCE_WATCH';
  }
}

export type ErrorReason =
  | 'unreachable'
  | 'unauthorized'
  | 'forbidden'
  | 'expired'
  | 'server_error'
  | 'tls'
  | 'timeout'
  | 'stream_cut'
  | 'invalid_object'
  | 'sink'
  | 'other';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED']);

/** The HTTP status of a failed request, if it got that far (ApiException.code, or a watch's statusCode). */
export function statusOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown } | undefined;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  if (typeof e?.code === 'number') return e.code;
  return undefined;
}

/** The deepest system error code in an error's cause chain ("ECONNREFUSED", "DEPTH_ZERO_SELF_SIGNED_CERT", ...). */
function systemCode(err: unknown): string {
  let found = '';
  for (let e = err as { code?: unknown; errno?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 8; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string') found = e.code;
    else if (typeof e.errno === 'string') found = e.errno;
  }
  return found;
}

function messageChain(err: unknown): string {
  const parts: string[] = [];
  for (let e = err as { message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 8; e = e.cause as typeof e, depth++) {
    if (typeof e.message === 'string' && e.message !== '' && !parts.some((p) => p.includes(e!.message as string))) parts.push(e.message);
  }
  return parts.join(': ');
}

/**
 * Turns whatever the client library threw into a KubernetesRequestError whose message names
 * the server, the request and what to check.
 */
export function describeRequestError(err: unknown, operation: 'list' | 'watch', what: string, server: string): KubernetesRequestError {
  if (err instanceof KubernetesRequestError) return err;
  const status = statusOf(err);
  const code = systemCode(err);
  const where = `${operation} ${what} at ${server}`;
  let reason: ErrorReason;
  let message: string;
  if (status === 401) {
    reason = 'unauthorized';
    message = `${where}: the API server rejected the credentials (401 Unauthorized): check the token or client certificate of the kubeconfig user (in a pod: the service account token)`;
  } else if (status === 403) {
    reason = 'forbidden';
    message = `${where}: forbidden (403): the account needs list and watch on ${what} (see the ClusterRole in the README)`;
  } else if (status === 410) {
    reason = 'expired';
    message = `${where}: the resource version is too old (410 Gone)`;
  } else if (status !== undefined && status >= 500) {
    reason = 'server_error';
    message = `${where}: the API server failed (${status})`;
  } else if (status !== undefined) {
    reason = 'other';
    message = `${where}: unexpected HTTP status ${status}`;
  } else if (code === 'ERR_STREAM_PREMATURE_CLOSE' || /premature close/i.test(messageChain(err))) {
    reason = 'stream_cut';
    message = `${where}: the stream was cut`;
  } else if (NETWORK_CODES.has(code) || /ECONNREFUSED|socket hang up|ECONNRESET/.test(messageChain(err))) {
    reason = 'unreachable';
    message = `${where}: cannot reach the API server (${code || messageChain(err)})`;
  } else if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code) || /certificate/i.test(messageChain(err))) {
    reason = 'tls';
    message = `${where}: TLS failed (${code || messageChain(err)}): check certificate-authority of the kubeconfig cluster`;
  } else if (code === 'ABORT_ERR' || /timed out|timeout/i.test(messageChain(err))) {
    reason = 'timeout';
    message = `${where}: no reply in time`;
  } else {
    reason = 'other';
    message = `${where}: ${messageChain(err) || String(err)}`;
  }
  return new KubernetesRequestError(operation, reason, status, message, { cause: err });
}
