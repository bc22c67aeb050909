import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { FakeApiServer, testCertificates } from './fake-apiserver.js';

/** The fake API's own protocol, checked with a plain HTTPS client that trusts its CA. */

function get(api: FakeApiServer, path: string, token = api.token): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(`${api.url}${path}`, { ca: testCertificates().ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

/** Reads a watch stream's events until `count` arrived (or the stream ended). */
function watch(api: FakeApiServer, path: string, count: number): Promise<{ type: string; object: any }[]> {
  return new Promise((resolve, reject) => {
    const events: { type: string; object: any }[] = [];
    const req = https.get(`${api.url}${path}`, { ca: testCertificates().ca, headers: { authorization: `Bearer ${api.token}` } }, (res) => {
      let buf = '';
      res.on('data', (c) => {
        buf += c;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, nl)));
          buf = buf.slice(nl + 1);
          if (events.length === count) {
            req.destroy();
            resolve(events);
          }
        }
      });
      res.on('end', () => resolve(events));
    });
    req.on('error', (e) => (events.length === count ? undefined : reject(e)));
  });
}

const svc = (name: string, labels: Record<string, string> = {}) => ({ kind: 'Service', metadata: { name, namespace: 'a', labels }, spec: { clusterIP: '10.0.0.1' } });

test('fake API: auth, paths, paged lists from a snapshot, 410s and watch streams', async () => {
  const api = await FakeApiServer.start({ maxWatchSeconds: 5 });
  try {
    for (let i = 0; i < 5; i++) api.put(svc(`s${i}`, { n: String(i) }));
    assert.equal((await get(api, '/api/v1/services', 'wrong')).status, 401);
    assert.equal((await get(api, '/api/v1/configmaps')).status, 404);

    const first = JSON.parse((await get(api, '/api/v1/services?limit=2')).body);
    assert.deepEqual(first.items.map((o: any) => o.metadata.name), ['s0', 's1']);
    assert.equal(first.metadata.remainingItemCount, 3);
    api.put(svc('s9'));
    const second = JSON.parse((await get(api, `/api/v1/services?limit=10&continue=${first.metadata.continue}`)).body);
    assert.deepEqual(second.items.map((o: any) => o.metadata.name), ['s2', 's3', 's4'], 'pages come from the first page\'s snapshot');
    assert.equal(second.metadata.resourceVersion, first.metadata.resourceVersion);
    assert.equal((await get(api, '/api/v1/namespaces/a/services?labelSelector=n%20in%20(1,3)')).body.match(/"name":"s\d"/g)?.length, 2);

    const rv = Number(first.metadata.resourceVersion);
    // Resuming from the list's resourceVersion replays what happened since.
    const replay = await watch(api, `/api/v1/services?watch=true&resourceVersion=${rv}`, 1);
    assert.deepEqual(replay.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 's9']]);

    // A watch with a selector sees an object leave it as DELETED.
    const live = watch(api, `/api/v1/services?watch=true&resourceVersion=${api.resourceVersion}&labelSelector=n%3D1`, 1);
    await new Promise((r) => setTimeout(r, 100));
    api.put(svc('s1', { n: 'x' }));
    assert.deepEqual((await live).map((e) => [e.type, e.object.metadata.name]), [['DELETED', 's1']]);

    api.compact();
    assert.equal((await get(api, `/api/v1/services?limit=2&continue=${first.metadata.continue}`)).status, 410);
    const expired = await watch(api, `/api/v1/services?watch=true&resourceVersion=${rv}`, 1);
    assert.equal(expired[0].type, 'ERROR');
    assert.equal(expired[0].object.code, 410);
  } finally {
    await api.stop();
  }
});
