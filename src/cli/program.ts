import { createHash } from 'node:crypto';
import { readFileSync, statSync, unwatchFile, watchFile } from 'node:fs';
import { formatIssue, loadConfig } from '../config/file.js';
import { applyConfig, configKeys } from './config-apply.js';
import { AclError, parseCidrs } from '../dns/acl.js';
import { networkInterfaces } from 'node:os';
import { resolvConfNameservers, selfUpstreams } from '../forward/resolv-conf.js';
import { formatAddress } from '../dns/server.js';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import {
  ConfigError,
  parseDomain,
  parseHostPort,
  parseInteger,
  parseLabelSelector,
  parseNamespaces,
  parsePodMode,
  parseSeconds,
  parseUpstreams,
  POD_MODES,
} from '../config/values.js';
import type { ListenAddress } from '../dns/server.js';
import { startServe, type ServeConfig } from './serve.js';
import { isWorker, reportServing, startPrimary, type Primary } from './workers.js';
import cluster from 'node:cluster';
import { printHints } from './hints.js';
import { renderCommand } from './render.js';
import { ExplainRequestError, runExplain } from './explain.js';
import { parseEndpoints } from '../sources/etcd/endpoints.js';
import { hostname } from 'node:os';

/** The command line: flags to validated config to a running server. The only module that calls process.exit. */

const EXIT_USAGE = 2;

function value<T>(parse: (s: string) => T) {
  return (s: string): T => {
    try {
      return parse(s);
    } catch (e) {
      if (e instanceof ConfigError || e instanceof AclError) throw new InvalidArgumentError(e.message);
      throw e;
    }
  };
}

function collectStub(s: string, prev: [string, ListenAddress[]][] | undefined): [string, ListenAddress[]][] {
  const eq = s.indexOf('=');
  if (eq < 0) throw new InvalidArgumentError(`expected DOMAIN=IP[:PORT][,...], got '${s}'`);
  const domain = value(parseDomain)(s.slice(0, eq));
  const ups = value(parseUpstreams)(s.slice(eq + 1));
  if (ups.length === 0) throw new InvalidArgumentError(`expected upstreams after '${domain}=', got '${s.slice(eq + 1)}'`);
  return [...(prev ?? []), [domain, ups]];
}

/** The default upstreams: the resolv.conf's nameservers. */
function defaultUpstreams(path: string): ListenAddress[] {
  try {
    return resolvConfNameservers(path);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));
}

function collectListen(s: string, prev: ListenAddress[] | undefined): ListenAddress[] {
  return [...(prev ?? []), value(parseHostPort)(s)];
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function buildProgram(): Command {
  const program = new Command('clusterdns')
    .description('DNS-based service discovery for Kubernetes')
    .showSuggestionAfterError(false)
    .exitOverride()
    .configureOutput({ outputError: () => undefined });

  program.addCommand(serveCommand().copyInheritedSettings(program).action(serveAction));
  program.addCommand(bridgeCommand().copyInheritedSettings(program).action(bridgeAction));
  program
    .command('lint')
    .description('Check a config file without starting anything: one line per problem (file:line:col), exit 1 if any')
    .argument('<file>', 'the YAML config file')
    .action((file: string) => {
      const serve = program.commands.find((c) => c.name() === 'serve')!;
      const loaded = loadConfig(file, configKeys(serve));
      const issues = [...loaded.issues, ...applyConfig(serve, loaded, false)];
      for (const i of issues) process.stdout.write(`${formatIssue(file, i)}\n`);
      if (issues.length > 0) process.exit(1);
      process.stdout.write(`${file}: ok (${loaded.values.size} settings)\n`);
    });
  program.addCommand(renderCommand(value).copyInheritedSettings(program));
  program
    .command('explain')
    .description("Why a name resolves or not from a pod: asks a running server (its --http address) and prints every name the pod's resolver tries, what each returned, and the object behind the answer or the reasons it fails")
    .argument('<name>', 'the name as a pod would ask it: web, web.shop, _http._tcp.web.shop, example.com, or absolute with a trailing dot')
    .option('-n, --namespace <ns>', 'namespace of the asking pod (its search path)', 'default')
    .option('-t, --type <type>', 'record type: A, AAAA, SRV, PTR, TXT, CNAME, ...', 'A')
    .option('--server <host:port>', "the server's HTTP address (its --http)", value(parseHostPort), parseHostPort('127.0.0.1:8080'))
    .option('--json', 'print the result as JSON', false)
    .action(async (name: string, o: { namespace: string; type: string; server: ListenAddress; json: boolean }) => {
      try {
        process.stdout.write(await runExplain(name, o));
      } catch (e) {
        if (!(e instanceof ExplainRequestError)) throw e;
        process.stderr.write(`clusterdns explain: ${e.message}\n`);
        process.exit(1);
      }
    });
  return program;
}


/** `clusterdns serve`: its flags (a contract: tests and deployments outside this repository use them). */
export function serveCommand(): Command {
  return new Command('serve')
    .description('Answer DNS for the cluster domain from Kubernetes objects')
    .addOption(
      new Option('--domain <name>', 'cluster domain served').env('DNS_DOMAIN').default('cluster.local').argParser(value(parseDomain)),
    )
    .option('--listen <host:port>', 'UDP and TCP address to answer on; repeat for more ([::1]:5353 for IPv6) (default: 0.0.0.0:53)', collectListen)
    .option('--manifests <dir>', 'directory of Kubernetes manifests (YAML/JSON) to serve; watched for changes')
    .option('--etcd <endpoints>', 'serve SkyDNS-format records from etcd instead: http://HOST:PORT[,...]', value(etcdEndpoints))
    .option('--etcd-prefix <path>', 'where the SkyDNS keys live in etcd', value(etcdPrefix), '/skydns')
    .option('--kubernetes', 'watch the Kubernetes API: in a pod with its service account, else with --kubeconfig or $KUBECONFIG', false)
    .option('--kubeconfig <path>', 'kubeconfig file for --kubernetes (default: $KUBECONFIG, else the in-cluster configuration)')
    .option('--namespaces <list>', 'with --kubernetes: only these namespaces, comma-separated (default: all)', value(parseNamespaces))
    .option('--labels <selector>', 'with --kubernetes: only Services (and their EndpointSlices) matching this label selector', value(parseLabelSelector))
    .option('--startup-timeout <seconds>', 'with --kubernetes: after this long without a full list, answer from what has arrived (names not found stay SERVFAIL until synced)', value((s) => parseSeconds(s, 0, 3600)), 5000)
    .option('--resync <seconds>', 'with --kubernetes: relist everything this often, repairing what a lost watch event left wrong; 0 turns it off', value((s) => parseSeconds(s, 0, 86_400)), 300_000)
    .addOption(
      new Option('--pods <mode>', 'pod records a-b-c-d.<ns>.pod.<domain>: disabled, insecure (any well-formed name) or verified (only IPs of existing pods)')
        .choices(POD_MODES)
        .default('disabled')
        .argParser(value(parsePodMode)),
    )
    .option('--ttl <seconds>', 'TTL of cluster records, 0-3600', value((s) => parseInteger(s, 0, 3600)), 30)
    .option('--autopath', "walk a pod's search path on the server: one query instead of one per search domain (needs --pods verified)", false)
    .option('--endpoint-pod-names', 'name an endpoint without hostname by its pod name instead of its dashed IP', false)
    .addOption(
      new Option(
        '--upstream <list>',
        "comma-separated IP[:PORT] to forward names outside the cluster to, or 'none': such names get REFUSED (default: the nameservers of --resolv-conf)",
      ).argParser(value(parseUpstreams)),
    )
    .option('--resolv-conf <path>', 'where the default upstreams come from', '/etc/resolv.conf')
    .option('--stub-domain <domain=list>', 'forward names under domain to these IP[:PORT] instead; repeat for more', collectStub)
    .addOption(new Option('--policy <policy>', 'order of trying upstreams').choices(['random', 'sequential']).default('random'))
    .option('--max-concurrent <n>', 'questions upstream at once; past this, SERVFAIL at once', value((s) => parseInteger(s, 1, 100_000)), 1000)
    .option('--cache-size <n>', 'forwarded replies kept (least recently used go first); 0 turns the cache off', value((s) => parseInteger(s, 0, 10_000_000)), 10_000)
    .option('--cache-min-ttl <seconds>', 'keep forwarded replies at least this long', value((s) => parseInteger(s, 0, 86_400)), 0)
    .option('--cache-max-ttl <seconds>', 'keep forwarded replies at most this long', value((s) => parseInteger(s, 0, 604_800)), 3600)
    .option('--serve-stale <seconds>', 'when every upstream fails, answer from replies expired up to this long ago (RFC 8767); 0 turns it off', value((s) => parseInteger(s, 0, 604_800)), 0)
    .option('--upstream-timeout <ms>', "a question's time upstream over all its tries (a try waits half of what is left when a healthy upstream is next)", value((s) => parseInteger(s, 50, 30_000)), 2000)
    .addOption(
      new Option('--http <host:port|none>', 'health endpoints: /health (alive) and /ready (loaded once); none to disable')
        .argParser(value((s) => (s === 'none' ? null : parseHostPort(s))))
        .default(parseHostPort('0.0.0.0:8080'), '0.0.0.0:8080'),
    )
    .addOption(
      new Option('--log-queries [per-second]', 'log every query in CoreDNS\'s format, at most this many lines a second (sampled beyond)')
        .argParser(value((s) => parseInteger(s, 1, 1_000_000)))
        .preset('1000'),
    )
    .option('--allow <cidrs>', 'answer only clients in these ranges (e.g. 10.0.0.0/8,fd00::/8); others get REFUSED', value((s) => { parseCidrs(s); return s; }))
    .option('--rate-limit <n>', 'UDP replies a second per client /24 (IPv4) or /56 (IPv6); past it replies are dropped, every --rate-limit-slip-th sent truncated; 0 is off', value((s) => parseInteger(s, 0, 1_000_000)), 0)
    .option('--rate-limit-slip <k>', 'with --rate-limit: every k-th limited reply is sent truncated (TC) so real clients retry over TCP; 0 drops them all', value((s) => parseInteger(s, 0, 100)), 2)
    .option('--tcp-max-connections <n>', 'TCP connections open at once; more are closed', value((s) => parseInteger(s, 1, 1_000_000)), 1000)
    .option('--tcp-idle-timeout <ms>', 'close a TCP connection idle this long', value((s) => parseInteger(s, 10, 3_600_000)), 10_000)
    .option('--tcp-read-timeout <ms>', 'close a TCP connection that leaves a message unfinished this long', value((s) => parseInteger(s, 10, 600_000)), 3000)
    .option('--lameduck <seconds>', 'on SIGTERM, keep answering this long with /ready failing, then stop', value((s) => parseInteger(s, 0, 3600)), 5)
    .option('--workers <n>', 'processes answering DNS on the same addresses, 1-64', value((s) => parseInteger(s, 1, 64)), 1)
    .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .option('--hints', 'print dig commands to try against the loaded names once serving', false)
    .option('--config <file>', 'YAML file of settings: keys are these long flags without the dashes; flags and environment win over it')
    .hook('preAction', (cmd) => {
      const path = cmd.getOptionValue('config') as string | undefined;
      if (!path) return;
      const loaded = loadConfig(path, configKeys(cmd));
      const issues = [...loaded.issues, ...applyConfig(cmd, loaded, true)];
      if (issues.length > 0) {
        const more = issues.length > 1 ? ` (and ${issues.length - 1} more: run clusterdns lint ${path})` : '';
        throw new InvalidArgumentError(`--config: ${formatIssue(path, issues[0])}${more}`);
      }
    });
}

function etcdEndpoints(s: string): string[] {
  try {
    return parseEndpoints(s);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
}

function etcdPrefix(s: string): string {
  if (!/^\/[A-Za-z0-9_.\/-]*$/.test(s) || s.includes('//')) throw new ConfigError(`expected a key path such as /skydns, got '${s}'`);
  return s.length > 1 && s.endsWith('/') ? s.slice(0, -1) : s;
}

/** `clusterdns bridge`: Kubernetes objects -> SkyDNS keys in etcd, one leader among replicas. */
export function bridgeCommand(): Command {
  return new Command('bridge')
    .description('Write Kubernetes Services into etcd in the SkyDNS layout, for serve --etcd (and SkyDNS, CoreDNS etcd) to answer from')
    .option('--manifests <dir>', 'read the objects from a directory of manifests (watched for changes)')
    .option('--kubernetes', 'read the objects from the Kubernetes API', false)
    .option('--kubeconfig <path>', 'kubeconfig for --kubernetes (default: $KUBECONFIG, else the in-cluster configuration)')
    .requiredOption('--etcd <endpoints>', 'etcd to write to: http://HOST:PORT[,...]', value(etcdEndpoints))
    .addOption(new Option('--domain <name>', 'cluster domain').env('DNS_DOMAIN').default('cluster.local').argParser(value(parseDomain)))
    .option('--etcd-prefix <path>', 'where the SkyDNS keys live in etcd', value(etcdPrefix), '/skydns')
    .option('--ttl <seconds>', 'TTL written into every record', value((s) => parseInteger(s, 0, 3600)), 30)
    .option('--lease-ttl <seconds>', 'leader election lease: a dead leader is replaced within this long', value((s) => parseInteger(s, 2, 600)), 10)
    .option('--identity <name>', 'this bridge in the election (default: host name and pid)')
    .addOption(
      new Option('--http <host:port|none>', '/health, /ready (objects loaded once) and /metrics')
        .argParser(value((s) => (s === 'none' ? null : parseHostPort(s))))
        .default(null, 'none'),
    )
    .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']).default('info'));
}

async function bridgeAction(o: Record<string, any>): Promise<void> {
  if (o.manifests && o.kubernetes) throw new InvalidArgumentError('--manifests and --kubernetes: choose one source');
  if (!o.manifests && !o.kubernetes) throw new InvalidArgumentError('a source is required: --manifests DIR or --kubernetes');
  if (o.manifests && !isDirectory(o.manifests)) throw new InvalidArgumentError(`--manifests: '${o.manifests}' is not a directory`);
  if (o.kubeconfig && !o.kubernetes) throw new InvalidArgumentError('--kubeconfig needs --kubernetes');
  const logger = pino({ level: o.logLevel, base: { name: 'clusterdns-bridge' } });
  // The bridge's client libraries (etcd, Kubernetes) load only when a bridge runs.
  const { kubernetesInput, manifestInput, startBridge } = await import('./bridge.js');
  const running = await startBridge(
    {
      input: o.kubernetes ? kubernetesInput(o.kubeconfig) : manifestInput(o.manifests),
      endpoints: o.etcd,
      layout: { prefix: o.etcdPrefix, domain: o.domain, ttl: o.ttl },
      leaseTtl: o.leaseTtl,
      identity: o.identity ?? `${hostname()}-${process.pid}`,
      http: o.http,
    },
    logger,
  ).catch((e: unknown) => {
    process.stderr.write(`clusterdns bridge: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down: resigning leadership');
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

/** Options as commander gives them (untyped); toServeConfig turns them into a checked ServeConfig. */
type ServeOptions = Record<string, any>;

/** Validated settings from commander's options; throws InvalidArgumentError naming the flag. */
function toServeConfig(o: ServeOptions, worker: boolean, configStatus?: () => unknown): ServeConfig {
  const chosen = [o.manifests ? '--manifests' : '', o.etcd ? '--etcd' : '', o.kubernetes ? '--kubernetes' : ''].filter((x) => x !== '');
  if (chosen.length > 1) throw new InvalidArgumentError(`${chosen.join(' and ')}: choose one source, not both`);
  if (chosen.length === 0) throw new InvalidArgumentError('a source is required: --manifests DIR, --kubernetes or --etcd ENDPOINTS');
  if (o.manifests && !isDirectory(o.manifests)) throw new InvalidArgumentError(`--manifests: '${o.manifests}' is not a directory`);
  if (o.etcd && o.pods === 'verified') throw new InvalidArgumentError("--pods verified checks pod IPs against Pod objects, which --etcd does not have: use insecure, or write pod names into etcd as keys");
  if (o.autopath && o.etcd) throw new InvalidArgumentError('--autopath needs pods from the Kubernetes objects; with --etcd there are none: leave --autopath off');
  if (!o.kubernetes) {
    for (const flag of ['kubeconfig', 'namespaces', 'labels'] as const) {
      if (o[flag] !== undefined) throw new InvalidArgumentError(`--${flag} needs --kubernetes`);
    }
  }
  if (o.autopath && o.pods !== 'verified') throw new InvalidArgumentError('--autopath needs --pods verified: the asking pod is found by its IP');
  const listen: ListenAddress[] = o.listen ?? [parseHostPort('0.0.0.0:53')];
  const upstreams: ListenAddress[] = o.upstream ?? defaultUpstreams(o.resolvConf);
  const self = selfUpstreams(upstreams, listen, localAddresses());
  if (self.length > 0) {
    throw new InvalidArgumentError(
      `--upstream: ${self.map(formatAddress).join(', ')} is this server itself (it listens on ${listen.map(formatAddress).join(', ')}); forwarding there would loop: set --upstream to other resolvers, or none`,
    );
  }
  for (const [domain, ups] of (o.stubDomain ?? []) as [string, ListenAddress[]][]) {
    if (selfUpstreams(ups, listen, localAddresses()).length > 0) throw new InvalidArgumentError(`--stub-domain ${domain}: an upstream is this server itself; forwarding there would loop`);
  }
  return {
    zone: { domain: o.domain, ttl: o.ttl, pods: o.pods, endpointPodNames: o.endpointPodNames },
    listen,
    manifests: o.manifests ?? '',
    etcd: o.etcd ? { endpoints: o.etcd, prefix: o.etcdPrefix } : null,
    kubernetes: o.kubernetes
      ? {
          kubeconfig: o.kubeconfig,
          namespaces: o.namespaces ?? [],
          labelSelector: o.labels,
          startupTimeoutMs: o.startupTimeout,
          resyncMs: o.resync,
        }
      : null,
    upstreams,
    stubDomains: new Map(o.stubDomain ?? []),
    policy: o.policy,
    maxConcurrent: o.maxConcurrent,
    upstreamTimeoutMs: o.upstreamTimeout,
    autopath: o.autopath,
    allow: o.allow ? parseCidrs(o.allow) : null,
    rateLimit: o.rateLimit > 0 ? { perSecond: o.rateLimit, slip: o.rateLimitSlip } : null,
    logQueries: o.logQueries ?? 0,
    tcp: { maxConnections: o.tcpMaxConnections, idleMs: o.tcpIdleTimeout, readMs: o.tcpReadTimeout, maxBufferedBytes: 256 * 1024 },
    cache: { maxEntries: o.cacheSize, minTtl: o.cacheMinTtl, maxTtl: o.cacheMaxTtl, staleSeconds: o.serveStale },
    // Workers leave the HTTP port to the primary.
    http: worker ? null : o.http,
    configStatus,
  };
}

/** The serve options as they are now: the same command line, the config file read again. */
async function currentOptions(): Promise<ServeOptions> {
  const args = process.argv.slice(process.argv.indexOf('serve') + 1);
  const cmd = serveCommand()
    .exitOverride()
    .configureOutput({ outputError: () => undefined, writeOut: () => undefined, writeErr: () => undefined })
    .action(() => undefined);
  await cmd.parseAsync(args, { from: 'user' });
  return cmd.opts();
}

async function serveAction(o: ServeOptions): Promise<void> {
  const worker = isWorker();
  const logger = pino({ level: o.logLevel, base: worker ? { name: 'clusterdns', worker: cluster.worker?.id, pid: process.pid } : { name: 'clusterdns' } });
  const status = { path: (o.config as string | undefined) ?? null, hash: configHash(o.config), loadedAt: new Date().toISOString(), reloads: 0, lastReloadError: '' };
  const cfg = toServeConfig(o, worker, () => status);
  let running: { lameDuck(): void; stop(): Promise<void>; reload?(next: ServeConfig): string[] };
  try {
    if (o.workers > 1 && !worker) {
      running = await startPrimary(o.workers, o.http, logger);
    } else {
      const served = await startServe(cfg, logger);
      if (worker) reportServing(served.dns);
      if (o.hints && (!worker || cluster.worker?.id === 1)) printHints(served, o.domain);
      running = served;
    }
  } catch (e) {
    process.stderr.write(`clusterdns serve: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }

  // Reload on SIGHUP and when the config file changes: a valid new configuration is swapped in
  // without dropping a query; an invalid one is logged and the running one stays.
  const reload = (why: string) => {
    currentOptions()
      .then((next) => {
        const fixed = running.reload?.(toServeConfig(next, worker)) ?? [];
        status.reloads++;
        status.hash = configHash(o.config);
        status.loadedAt = new Date().toISOString();
        status.lastReloadError = '';
        logger.info({ why, restartNeededFor: fixed }, fixed.length > 0 ? `configuration reloaded; ${fixed.join(', ')} changed and take effect after a restart` : 'configuration reloaded');
      })
      .catch((e: unknown) => {
        status.lastReloadError = e instanceof Error ? e.message : String(e);
        logger.error({ why, err: status.lastReloadError }, `configuration not reloaded, the running one stays: ${status.lastReloadError}`);
      });
  };
  if (o.workers > 1 && !worker) {
    // Workers watch the file themselves; a SIGHUP to this process is passed on to them.
    process.on('SIGHUP', () => (running as Primary).signal('SIGHUP'));
  } else {
    process.on('SIGHUP', () => reload('SIGHUP'));
  }
  if (o.config && !(o.workers > 1 && !worker)) {
    let last = configHash(o.config);
    watchFile(o.config, { interval: 500 }, () => {
      const now = configHash(o.config);
      if (now === last) return;
      last = now;
      reload('config file changed');
    });
  }

  // SIGTERM (a rolling update, a drain): lame duck first, so /ready fails and clients move on
  // while this process still answers; SIGINT (a person at a terminal): stop now. Workers are
  // lame ducks of their own; their primary waits for them.
  const shutdown = (signal: string) => {
    const primary = o.workers > 1 && !worker;
    const waitMs = signal === 'SIGTERM' && !primary ? o.lameduck * 1000 : 0;
    running.lameDuck();
    if (o.config) unwatchFile(o.config);
    logger.info({ signal, lameduckSeconds: waitMs / 1000 }, waitMs > 0 ? 'lame duck: not ready, still answering' : 'shutting down');
    setTimeout(() => {
      running.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    }, waitMs);
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

/** sha256 of the config file's bytes ('' without a file or when it cannot be read). */
function configHash(path: string | undefined): string {
  if (!path) return '';
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    return '';
  }
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') process.exit(0);
      process.stderr.write(`clusterdns: ${e.message.replace(/^error: /, '')}\n`);
      process.exit(EXIT_USAGE);
    }
    if (e instanceof InvalidArgumentError) {
      process.stderr.write(`clusterdns: ${e.message}\n`);
      process.exit(EXIT_USAGE);
    }
    throw e;
  }
}

