import { Command, InvalidArgumentError, Option } from 'commander';
import { parseDomain, parseInteger, parsePodMode, POD_MODES } from '../config/values.js';
import { MODES, parseEtcdPrefix, parseImage, parseMode, parseServerIp } from '../deploy/inputs.js';
import type { RenderOptions } from '../deploy/manifests.js';
import { DEFAULT_ETCD_IMAGE, DEFAULT_ETCD_PREFIX, DEFAULT_IMAGE, render } from '../deploy/render.js';
import { VERSION } from './version.js';
import { parseCidrs } from '../dns/acl.js';

/** `clusterdns render`: the manifests that run clusterdns in a cluster, on stdout for `kubectl apply -f -`. */

type Value = <T>(parse: (s: string) => T) => (s: string) => T;

export function renderCommand(value: Value): Command {
  return new Command('render')
    .description('Print the Kubernetes manifests that run clusterdns in place of kube-dns or CoreDNS (for kubectl apply -f -)')
    .addOption(new Option('--domain <name>', 'cluster domain').env('DNS_DOMAIN').default('cluster.local').argParser(value(parseDomain)))
    .addOption(new Option('--server-ip <ip>', "the kube-dns Service's fixed cluster IP (the kubelets' --cluster-dns)").env('DNS_SERVER_IP').argParser(value(parseServerIp)).makeOptionMandatory())
    .addOption(new Option('--replicas <n>', 'DNS pods, 1-1000').env('DNS_REPLICAS').default(2).argParser(value((s) => parseInteger(s, 1, 1000))))
    .addOption(new Option('--mode <mode>', 'direct: one container watching the API; etcd: the original pod (etcd + bridge + serve)').choices(MODES).default('direct').argParser(value(parseMode)))
    .addOption(new Option('--pods <mode>', 'pod records (verified also lets it list and watch pods)').choices(POD_MODES).default('insecure').argParser(value(parsePodMode)))
    .addOption(new Option('--image <ref>', 'the clusterdns image (see the Dockerfile)').default(DEFAULT_IMAGE(VERSION)).argParser(value(parseImage)))
    .addOption(new Option('--etcd-image <ref>', 'the etcd image (--mode etcd)').default(DEFAULT_ETCD_IMAGE).argParser(value(parseImage)))
    .addOption(new Option('--etcd-prefix <path>', 'where records live in etcd (--mode etcd)').default(DEFAULT_ETCD_PREFIX).argParser(value(parseEtcdPrefix)))
    .addOption(
      new Option('--allow <cidrs>', "the cluster's client ranges (pod and node CIDRs, e.g. 10.244.0.0/16,10.0.0.0/24): others get REFUSED").argParser(
        value((s) => {
          parseCidrs(s);
          return s.split(',').map((c) => c.trim()).join(',');
        }),
      ),
    )
    .action((o: RenderOptions) => {
      if (o.mode === 'etcd' && o.pods === 'verified') {
        throw new InvalidArgumentError('--pods verified needs --mode direct: in etcd mode the server reads only etcd, which holds no pods');
      }
      process.stdout.write(render(o, VERSION));
    });
}
