import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { BASE, agentDeployment, cluster, openWatch, startApi } from './api-harness.ts';
import type { Harness } from './api-harness.ts';

const AD = `${BASE}/namespaces/demo/agentdeployments`;

let h: Harness;

beforeAll(async () => {
  h = await startApi({ bookmarkIntervalMs: 50 });
  expect((await h.call('POST', `${BASE}/clusters`, cluster('demo'))).status).toBe(201);
});

afterAll(async () => {
  await h.close();
});

describe('watch', () => {
  it('replays after a resourceVersion, then streams MODIFIED and DELETED live', async () => {
    const a = (await h.call('POST', AD, agentDeployment('w-a'))).body;
    await h.call('POST', AD, agentDeployment('w-b'));
    await h.call('PATCH', `${AD}/w-b`, { spec: { replicas: 3 } });

    const w = await openWatch(h, `${AD}?watch=true&resourceVersion=${a.metadata.resourceVersion}`);
    expect(w.status).toBe(200);
    expect(w.contentType).toMatch(/^application\/json/);
    try {
      expect(await w.next()).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'w-b' } } });
      expect(await w.next()).toMatchObject({ type: 'MODIFIED', object: { metadata: { name: 'w-b' }, spec: { replicas: 3 } } });

      await h.call('PATCH', `${AD}/w-a`, { spec: { replicas: 4 } });
      expect(await w.next()).toMatchObject({ type: 'MODIFIED', object: { metadata: { name: 'w-a' }, spec: { replicas: 4 } } });
      await h.call('DELETE', `${AD}/w-a`);
      expect(await w.next()).toMatchObject({ type: 'DELETED', object: { metadata: { name: 'w-a' } } });
    } finally {
      w.close();
    }
  });

  it('without a resourceVersion starts with an ADDED per current object', async () => {
    await h.call('POST', `${BASE}/clusters`, cluster('fresh'));
    const path = `${BASE}/namespaces/fresh/agentdeployments`;
    await h.call('POST', path, agentDeployment('f1'));
    await h.call('POST', path, agentDeployment('f2', { labels: { pick: 'me' } }));

    const all = await openWatch(h, `${path}?watch=1`);
    const picked = await openWatch(h, `${path}?watch=true&resourceVersion=0&labelSelector=pick%3Dme`);
    try {
      const first = [await all.next(), await all.next()].map((e) => `${e?.type} ${e?.object.metadata.name}`);
      expect(first).toEqual(['ADDED f1', 'ADDED f2']);
      expect(await picked.next()).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'f2' } } });

      await h.call('POST', path, agentDeployment('f3'));
      expect(await all.next()).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'f3' } } });
      // the label change takes f2 out of the selector: Kubernetes reports that as DELETED
      await h.call('PATCH', `${path}/f2`, { metadata: { labels: { pick: null } } });
      expect(await picked.next()).toMatchObject({ type: 'DELETED', object: { metadata: { name: 'f2' } } });
    } finally {
      all.close();
      picked.close();
    }
  });

  it('sends an ERROR event with a 410 Status for a compacted resourceVersion, then ends', async () => {
    const old = (await h.call('POST', AD, agentDeployment('w-old'))).body.metadata.resourceVersion;
    await h.call('PATCH', `${AD}/w-old`, { spec: { replicas: 2 } });
    await h.call('PATCH', `${AD}/w-old`, { spec: { replicas: 3 } });
    await h.store.compact(await h.store.revision());

    const w = await openWatch(h, `${AD}?watch=true&resourceVersion=${old}`);
    const ev = await w.next();
    expect(ev).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    expect(ev!.object.message).toMatch(/^too old resource version: /);
    expect(await w.next()).toBeUndefined(); // the stream ended
  });

  it('sends BOOKMARK events when asked', async () => {
    const rv = (await h.call('GET', AD)).body.metadata.resourceVersion;
    const w = await openWatch(h, `${AD}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`);
    try {
      const ev = await w.next(3000);
      expect(ev).toMatchObject({ type: 'BOOKMARK', object: { kind: 'AgentDeployment', apiVersion: 'drover.dev/v1alpha1' } });
      expect(Number(ev!.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(rv));
    } finally {
      w.close();
    }
  });

  it('sends no BOOKMARK events unless asked', async () => {
    const rv = (await h.call('GET', AD)).body.metadata.resourceVersion;
    const w = await openWatch(h, `${AD}?watch=true&resourceVersion=${rv}&timeoutSeconds=0.3`);
    expect(await w.next(3000)).toBeUndefined();
  });

  it('ends the stream cleanly after timeoutSeconds', async () => {
    const started = Date.now();
    const w = await openWatch(h, `${AD}?watch=true&resourceVersion=0&timeoutSeconds=1&labelSelector=none%3Dnone`);
    expect(await w.next(5000)).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('watches one object through the legacy /watch/ path', async () => {
    await h.call('POST', AD, agentDeployment('w-legacy'));
    const w = await openWatch(h, `${BASE}/watch/namespaces/demo/agentdeployments/w-legacy`);
    try {
      expect(await w.next()).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'w-legacy' } } });
    } finally {
      w.close();
    }
  });

  it('answers a bad selector with a plain 400 Status', async () => {
    const res = await h.call('GET', `${AD}?watch=true&labelSelector=${encodeURIComponent('a in (b')}`);
    expect(res.status).toBe(400);
    expect(res.body.kind).toBe('Status');
  });
});

describe('shutdown', () => {
  it('close() ends open watch streams promptly', async () => {
    const own = await startApi();
    await own.call('POST', `${BASE}/clusters`, cluster('demo'));
    const w = await openWatch(own, `${AD}?watch=true`);
    const started = Date.now();
    await own.close();
    expect(await w.next(2000)).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe('watch metrics', () => {
  it('counts open watchers', async () => {
    const w = await openWatch(h, `${AD}?watch=true`);
    try {
      expect(await w.next()).toMatchObject({ type: 'ADDED' }); // the session is registered by now
      const metrics = (await h.call('GET', '/metrics')).text;
      expect(metrics).toMatch(/drover_watchers\{resource="agentdeployments"\} [1-9]/);
    } finally {
      w.close();
    }
  });
});
