import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe } from '../helpers/serve-process.js';

/**
 * EDNS compliance (RFC 6891, RFC 8906; the DNS Flag Day cases) with two outside clients:
 * kdig (Debian knot-dnsutils) and dig (bind9-dnsutils).
 */

function run(tool: 'kdig' | 'dig', args: string[]): string {
  const r = spawnSync(tool, args, { encoding: 'utf8', timeout: 10_000 });
  if (r.error) throw new Error(`${tool} is not installed: run 'apt-get install -y ${tool === 'kdig' ? 'knot-dnsutils' : 'bind9-dnsutils'}'`);
  return r.stdout;
}

test('EDNS: versions, options, flags, DO, unknown types and size limits', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-edns-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const endpoints = Array.from({ length: 100 }, (_, i) => `  - { addresses: [10.2.0.${i + 1}] }`).join('\n');
  writeFileSync(
    join(dir, 'c.yaml'),
    `apiVersion: v1\nkind: Service\nmetadata: { name: web, namespace: default }\nspec: { clusterIP: 10.96.0.5 }\n---\n` +
      `apiVersion: v1\nkind: Service\nmetadata: { name: big, namespace: default }\nspec: { clusterIP: None }\n---\n` +
      `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: { name: big-1, namespace: default, labels: { kubernetes.io/service-name: big } }\n` +
      `addressType: IPv4\nendpoints:\n${endpoints}\n`,
  );
  const s = await startServe(['--manifests', dir]);
  t.after(() => s.stop());
  const at = ['@127.0.0.1', '-p', String(s.dnsPort)];
  const web = 'web.default.svc.cluster.local';

  const v1 = run('kdig', [...at, '+edns=1', web]);
  assert.match(v1, /status: BADVERS/, 'EDNS version 1 gets BADVERS');
  assert.match(v1, /Version: 0;/, 'and an OPT of version 0');

  const opt = run('kdig', [...at, '+ednsopt=65001:abcd', '+nsid', web]);
  assert.match(opt, /status: NOERROR/);
  assert.doesNotMatch(opt, /65001|NSID/, 'unknown options are not echoed');

  const flags = run('dig', [...at, '+ednsflags=0x40', '+nocmd', web]);
  assert.match(flags, /; EDNS: version: 0, flags:;/, 'unknown EDNS flags are zeroed');

  assert.match(run('kdig', [...at, '+dnssec', web]), /flags: do;/, 'DO is echoed');

  const unknownType = run('kdig', [...at, web, 'TYPE1000']);
  assert.match(unknownType, /status: NOERROR/);
  assert.match(unknownType, /ANSWER: 0/);
  assert.match(unknownType, /cluster\.local\.\s+\d+\s+IN\s+SOA/, 'NODATA with SOA for an unknown type');

  for (const [bufsize, limit] of [[600, 600], [4096, 1232]] as const) {
    const out = run('kdig', [...at, `+bufsize=${bufsize}`, '+notcp', '+ignore', 'big.default.svc.cluster.local']);
    const size = Number(/Received (\d+) B/.exec(out)?.[1]);
    assert.ok(size <= limit, `bufsize ${bufsize}: ${size} B, at most ${limit}`);
    assert.match(out, /;; Flags: [^;]*\btc\b/, `bufsize ${bufsize}: TC set when cut`);
  }
});
