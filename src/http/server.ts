import http from 'node:http';
import type net from 'node:net';
import type { Logger } from 'pino';
import type { ListenAddress } from '../dns/server.js';
import { ExplainInputError, type ExplainQuery } from '../explain/explain.js';
import { STATUS_PAGE } from './status-page.js';

/**
 * The operator's HTTP port: /health (and /healthz) answer 200 while the process is alive,
 * /ready (and /readyz) 200 once every source has loaded once, 503 before; /metrics for Prometheus;
 * / the status page for people, which polls /api/status and runs /explain.
 */
export interface HttpOptions {
  readonly listen: ListenAddress;
  readonly logger: Logger;
  readonly isReady: () => boolean;
  /** Prometheus text for /metrics, when metrics are kept. */
  readonly metrics?: () => Promise<{ contentType: string; body: string }>;
  /** JSON for /config: the active configuration's hash, load time and last reload error. */
  readonly config?: () => unknown;
  /** JSON for /api/status (the status page's data). */
  readonly status?: () => unknown;
  /** /explain?name=&namespace=&type=: why a name resolves or not for a pod; throws ExplainInputError on a bad question. */
  readonly explain?: (q: ExplainQuery) => unknown;
  readonly limits?: HttpLimits;
}

/**
 * Bounds on what clients of the HTTP port can hold, so that the probes a kubelet sends get
 * through whatever else connects: a request's headers must arrive within headersMs and the
 * whole request within requestMs (slow-loris clients are cut off), and at most maxConnections
 * are open at once; past that the connection open longest is closed to make room. Probes are
 * short-lived, so it is the clients that hold connections that make room.
 */
export interface HttpLimits {
  readonly headersMs: number;
  readonly requestMs: number;
  readonly maxConnections: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = { headersMs: 10_000, requestMs: 10_000, maxConnections: 100 };

export class HttpServer {
  private server: http.Server | null = null;
  /** Connections closed to make room at the cap. */
  evicted = 0;

  constructor(private readonly opts: HttpOptions) {}

  async start(): Promise<ListenAddress> {
    const limits = this.opts.limits ?? DEFAULT_HTTP_LIMITS;
    // Node checks the header and request deadlines every connectionsCheckingInterval (30 s by
    // default): once a second, a slow client is cut off within a second of its deadline.
    const server = http.createServer(
      {
        headersTimeout: limits.headersMs,
        requestTimeout: limits.requestMs,
        keepAliveTimeout: Math.min(5_000, limits.headersMs),
        connectionsCheckingInterval: Math.min(1_000, limits.headersMs),
      },
      (req, res) => this.route(req, res),
    );
    // Oldest first: a Set keeps insertion order.
    const open = new Set<net.Socket>();
    server.on('connection', (sock: net.Socket) => {
      open.add(sock);
      sock.once('close', () => open.delete(sock));
      if (open.size > limits.maxConnections) {
        const oldest = open.values().next().value as net.Socket;
        open.delete(oldest);
        oldest.destroy();
        this.evicted++;
      }
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new Error(`cannot listen on http ${this.opts.listen.host}:${this.opts.listen.port}: ${e.message}`, { cause: e })));
      server.listen(this.opts.listen.port, this.opts.listen.host, () => resolve());
    });
    const a = server.address();
    return { host: this.opts.listen.host, port: typeof a === 'object' && a ? a.port : this.opts.listen.port };
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
    this.server = null;
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    switch (path) {
      case '/':
        if (!this.opts.status) return send(res, 404, 'no status page here\n');
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(STATUS_PAGE), 'cache-control': 'no-store' });
        res.end(STATUS_PAGE);
        return;
      case '/api/status':
        if (!this.opts.status) return send(res, 404, 'no status here\n');
        return sendJson(res, 200, this.opts.status());
      case '/explain':
      case '/api/explain': {
        if (!this.opts.explain) return sendJson(res, 404, { error: 'this process does not explain names (with --workers, the first process does not yet)', code: 'CLUSTERDNS_ERR_EXPLAIN' });
        const p = url.searchParams;
        try {
          return sendJson(res, 200, this.opts.explain({ name: p.get('name') ?? '', namespace: p.get('namespace') ?? 'default', type: p.get('type') ?? 'A' }));
        } catch (e) {
          if (e instanceof ExplainInputError) return sendJson(res, 400, { error: e.message, code: e.code, param: e.param });
          this.opts.logger.error({ err: e }, 'explain failed');
          return sendJson(res, 500, { error: `explain failed: ${e instanceof Error ? e.message : String(e)}`, code: 'CLUSTERDNS_ERR_EXPLAIN' });
        }
      }
      case '/health':
      case '/healthz':
        return send(res, 200, 'OK\n');
      case '/ready':
      case '/readyz':
        return this.opts.isReady() ? send(res, 200, 'OK\n') : send(res, 503, 'not ready: sources have not loaded yet\n');
      case '/config': {
        const body = `${JSON.stringify(this.opts.config?.() ?? {}, null, 2)}\n`;
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      case '/metrics':
        if (!this.opts.metrics) return send(res, 404, 'no metrics here\n');
        this.opts.metrics().then(
          (m) => {
            res.writeHead(200, { 'content-type': m.contentType });
            res.end(m.body);
          },
          (e: unknown) => send(res, 500, `metrics failed: ${e instanceof Error ? e.message : String(e)}\n`),
        );
        return;
      default:
        return send(res, 404, 'not found\n');
    }
  }
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const body = `${JSON.stringify(value)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

function send(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
