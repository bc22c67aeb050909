import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildQuery, sendUdp } from '../helpers/dns-client.js';
import { launchChromium } from '../helpers/chromium.js';
import { ROOT, startServe } from '../helpers/serve-process.js';

/**
 * The status page at / in a real browser (Debian chromium, headless): it shows the example
 * cluster, its chart moves under a short query load, the search box explains names, and a
 * change to the manifests shows up in the list of last changes. A screenshot taken under
 * load is saved where the test prints.
 */

const EXAMPLE_SERVICES = ['default/kubernetes', 'kube-system/kube-dns', 'shop/web', 'shop/db', 'shop/cache', 'shop/payments'];
const NAMES = ['kubernetes.default.svc.cluster.local', 'web.shop.svc.cluster.local', 'db.shop.svc.cluster.local', '_http._tcp.web.shop.svc.cluster.local'];
const MISSING = 'web.default.svc.cluster.local';

/** Sends queries, `concurrency` at a time, until stop() or `max` have been sent; resolves with the count. */
function load(port: number, max: number, concurrency = 64): { done: Promise<number>; stop(): void } {
  let stopped = false;
  let sent = 0;
  const worker = async () => {
    while (!stopped && sent < max) {
      const i = sent++;
      const name = i % 5 === 4 ? MISSING : NAMES[i % NAMES.length];
      await sendUdp(port, buildQuery(name, i % NAMES.length === 3 ? 'SRV' : 'A'), 10_000).catch(() => undefined);
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, worker)).then(() => sent);
  return { done, stop: () => void (stopped = true) };
}

test('the status page shows the cluster, charts a query load and explains names', { timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-status-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(ROOT, 'examples/cluster'), dir, { recursive: true });
  const s = await startServe(['--manifests', dir, '--ttl', '5']);
  t.after(() => s.stop());
  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await browser.context.newPage();
  page.setDefaultTimeout(30_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const outside: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(`http://127.0.0.1:${s.httpPort}/`)) outside.push(r.url());
  });

  await page.goto(`http://127.0.0.1:${s.httpPort}/`);
  // The example cluster's Services, each in its own row.
  for (const svc of EXAMPLE_SERVICES) await page.locator(`#services tr[data-service="${svc}"]`).waitFor();
  assert.equal(await page.locator('#ready').textContent(), 'ready');
  assert.match((await page.locator('#services tr[data-service="shop/web"]').textContent()) ?? '', /10\.96\.10\.20/);
  assert.match((await page.locator('#sources').textContent()) ?? '', /manifests\s*synced/);
  assert.match((await page.locator('#zones').textContent()) ?? '', /cluster\.local\./);
  assert.equal(await page.locator('#chart').getAttribute('data-max-qps'), '0', 'no queries yet');

  // A short load: the chart's rate goes above zero and the counters move. Bounded in count
  // and time; stopped once the screenshot is taken.
  const l = load(s.dnsPort, 300_000);
  const stopTimer = setTimeout(() => l.stop(), 90_000);
  let sent = 0;
  try {
    await page.waitForFunction(() => Number(document.getElementById('chart')!.dataset.maxQps) > 0 && document.querySelector('#top-nx code') !== null, undefined, { timeout: 60_000, polling: 200 });
    // The search box explains a name that fails, while the load goes on.
    await page.fill('#explain-name', 'web');
    await page.fill('#explain-ns', 'default');
    await page.click('#explain-form button');
    await page.locator('#explain-result[data-outcome="nxdomain"]').waitFor();
    // A few seconds of load on the chart, then the picture, taken while the load is on.
    await page.waitForFunction(() => Number(document.getElementById('chart')!.dataset.loaded) >= 5, undefined, { timeout: 60_000, polling: 200 });
    const shot = join(tmpdir(), `clusterdns-status-${process.pid}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`status page screenshot under load: ${shot}`);
  } finally {
    l.stop();
    clearTimeout(stopTimer);
    sent = await l.done;
  }
  assert.ok(sent >= 1000, `sent ${sent} queries`);

  // The chart drew the rate: a good share of its pixels carry the rate's colour.
  const blue = await page.evaluate(() => {
    const c = document.getElementById('chart') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i + 2] > 150 && d[i] < 120) n++;
    return n;
  });
  assert.ok(blue > 100, `chart pixels drawn in the rate colour: ${blue}`);
  await page.waitForFunction(() => document.querySelector('#rcodes tr[data-rcode="NXDOMAIN"]') !== null, undefined, { timeout: 30_000 });
  assert.match((await page.locator('#top-names').textContent()) ?? '', /svc\.cluster\.local\./);
  assert.match((await page.locator('#top-nx').textContent()) ?? '', new RegExp(MISSING.replaceAll('.', '\\.')));
  assert.notEqual(await page.locator('#hit-rate').textContent(), '-');

  // What the search box said about the name that fails, and a name that answers.
  const failed = (await page.locator('#explain-out').textContent()) ?? '';
  assert.match(failed, /web\.default\.svc\.cluster\.local\./);
  assert.match(failed, /no Service web in namespace default/);
  assert.match(failed, /web\.shop\.svc\.cluster\.local\./, 'the other namespace is offered');

  await page.fill('#explain-name', 'db');
  await page.fill('#explain-ns', 'shop');
  await page.click('#explain-form button');
  await page.locator('#explain-result[data-outcome="answered"]').waitFor();
  const ok = (await page.locator('#explain-out').textContent()) ?? '';
  assert.match(ok, /Service shop\/db — headless: 2 ready endpoint addresses/);
  assert.match(ok, /EndpointSlice shop\/db-x7k2p/);

  // A change to the manifests appears in the list of last changes and among the Services.
  writeFileSync(join(dir, 'added.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: { name: added, namespace: default }\nspec: { clusterIP: 10.96.0.77 }\n');
  await page.locator('#services tr[data-service="default/added"]').waitFor();
  await page.waitForFunction(() => (document.getElementById('changes')!.textContent ?? '').includes('+ Service/default/added'), undefined, { timeout: 30_000 });

  assert.deepEqual(errors, [], 'no script errors');
  assert.deepEqual(outside, [], 'the page asks nothing but its own server');
});
