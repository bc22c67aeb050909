import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { query } from '../helpers/dns-client.js';
import { ROOT, startServe } from '../helpers/serve-process.js';
import { FIXTURE_DIR } from '../helpers/spec-cases.js';
import { startUpstream } from '../helpers/upstream.js';

/**
 * The alerts listed in the README, checked against a real scrape: every series an expression
 * reads (metric name and label matchers, less Prometheus's own `job`) is present.
 */

function alerts(): { name: string; expr: string }[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /### Alerts[\s\S]*?```\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  return block
    .trim()
    .split('\n')
    .map((line) => ({ name: line.slice(0, line.indexOf(':')), expr: line.slice(line.indexOf(':') + 1).trim() }));
}

test('the README alerts find their series in /metrics', async (t) => {
  const good = await startUpstream();
  const failing = await startUpstream('servfail');
  const dead = await startUpstream('silent');
  t.after(() => Promise.all([good.close(), failing.close(), dead.close()]));
  const s = await startServe([
    '--manifests', FIXTURE_DIR,
    '--upstream', `127.0.0.1:${good.port}`,
    '--stub-domain', `bad.example=127.0.0.1:${failing.port}`,
    '--stub-domain', `gone.example=127.0.0.1:${dead.port}`,
    '--upstream-timeout', '200',
  ]);
  t.after(() => s.stop());
  await query(s.dnsPort, 'kubernetes.default.svc.cluster.local', 'A');
  await query(s.dnsPort, 'www.example.com', 'A');
  await query(s.dnsPort, 'www.example.com', 'A');
  await query(s.dnsPort, 'x.bad.example', 'A');
  await query(s.dnsPort, 'x.gone.example', 'A', { timeoutMs: 3000 });
  // Give the dead upstream's health probes time to fail.
  await new Promise((r) => setTimeout(r, 800));
  const metrics = await (await fetch(`http://127.0.0.1:${s.httpPort}/metrics`)).text();
  const list = alerts();
  assert.ok(list.length >= 8, `${list.length} alerts in the README`);
  for (const { name, expr } of list) {
    const selectors = [...expr.matchAll(/([a-z_:]+)\{([^}]*)\}/g)];
    assert.ok(selectors.length > 0, `${name}: no series`);
    for (const [, metric, matchers] of selectors) {
      const wanted = [...matchers.matchAll(/(\w+)="([^"]*)"/g)].filter(([, k]) => k !== 'job').map(([, k, v]) => `${k}="${v}"`);
      const found = metrics.split('\n').some((l) => (l.startsWith(`${metric}{`) || l.startsWith(`${metric} `)) && wanted.every((w) => l.includes(w)));
      assert.ok(found, `${name}: no ${metric}{${wanted.join(',')}} in /metrics`);
    }
  }
});
