import { BlockList, isIP } from 'node:net';
import { Rcode } from './constants.js';
import { rcodeReply, type Handler } from './handler.js';

/**
 * `--allow CIDR,...`: only clients inside these ranges get answers (and so only they can make
 * the server forward); everyone else gets REFUSED before any zone or upstream is consulted.
 */
export class AclError extends Error {
  readonly code = 'CLUSTERDNS_ERR_CONFIG';
}

export function parseCidrs(text: string): BlockList {
  const list = new BlockList();
  for (const item of text.split(',').map((x) => x.trim()).filter(Boolean)) {
    const [addr, bits] = item.split('/');
    const family = isIP(addr);
    const max = family === 4 ? 32 : 128;
    const prefix = bits === undefined ? max : Number(bits);
    if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) {
      throw new AclError(`expected CIDR ranges such as 10.0.0.0/8,fd00::/8, got '${item}'`);
    }
    list.addSubnet(addr, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

export function aclHandler(allowed: BlockList): Handler {
  return {
    name: 'acl',
    serve(req, next) {
      let ip = req.remoteAddress;
      if (ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4) ip = ip.slice(7);
      const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
      return allowed.check(ip, family) ? next(req) : rcodeReply(Rcode.REFUSED);
    },
  };
}
