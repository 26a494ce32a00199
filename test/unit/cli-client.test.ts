import { describe, it, expect } from '@jest/globals';
import { createServer } from 'node:net';
import { ApiClient, ConnectionError } from '../../core/client.ts';
import { ApiError, Gone } from '../../core/errors.ts';
import { loadRegistry } from '../../core/crds.ts';
import type { WatchEvent } from '../../core/types.ts';

const registry = loadRegistry();
const ad = registry.resolve('agentdeployment')!;
const cluster = registry.resolve('cluster')!;

function recordingFetch(answer: () => Response) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const f = (async (input: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(input), init: init ?? {} });
    return answer();
  }) as typeof fetch;
  return { f, calls };
}

const ok = (body: unknown) => () => new Response(JSON.stringify(body), { status: 200 });

describe('ApiClient', () => {
  it.each([
    ['get namespaced', (c: ApiClient) => c.get(ad, 'customer1', 'trading'), 'GET', '/apis/drover.dev/v1alpha1/namespaces/customer1/agentdeployments/trading'],
    ['get cluster-scoped ignores a namespace', (c: ApiClient) => c.get(cluster, 'x', 'customer1'), 'GET', '/apis/drover.dev/v1alpha1/clusters/customer1'],
    ['list all namespaces with selectors', (c: ApiClient) => c.list(ad, { labelSelector: 'a=b', limit: 5 }), 'GET', '/apis/drover.dev/v1alpha1/agentdeployments?labelSelector=a%3Db&limit=5'],
    ['server dry-run create', (c: ApiClient) => c.create(ad, { apiVersion: 'drover.dev/v1alpha1', kind: 'AgentDeployment', metadata: { name: 't', namespace: 'n' } }, { dryRun: true }), 'POST', '/apis/drover.dev/v1alpha1/namespaces/n/agentdeployments?dryRun=All'],
    ['status patch', (c: ApiClient) => c.patch(ad, 'n', 't', [{ op: 'add', path: '/x', value: 1 }], 'json', { subresource: 'status' }), 'PATCH', '/apis/drover.dev/v1alpha1/namespaces/n/agentdeployments/t/status'],
    ['delete', (c: ApiClient) => c.delete(ad, 'n', 't'), 'DELETE', '/apis/drover.dev/v1alpha1/namespaces/n/agentdeployments/t'],
  ])('%s', async (_what, call, method, path) => {
    const { f, calls } = recordingFetch(ok({}));
    await call(new ApiClient({ server: 'http://127.0.0.1:9/', token: 'tok', fetch: f }));
    expect(calls[0].url).toBe('http://127.0.0.1:9' + path);
    expect(calls[0].init.method).toBe(method);
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBe('Bearer tok');
  });

  it('sends patches with the right content type', async () => {
    const { f, calls } = recordingFetch(ok({}));
    const c = new ApiClient({ server: 'http://h', fetch: f });
    await c.patch(ad, 'n', 't', { spec: { replicas: 2 } }, 'merge');
    await c.patch(ad, 'n', 't', [], 'json');
    expect(calls.map((x) => (x.init.headers as Record<string, string>)['Content-Type']))
      .toEqual(['application/merge-patch+json', 'application/json-patch+json']);
  });

  it('rebuilds an ApiError from a Status body, causes included', async () => {
    const st = { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 422, reason: 'Invalid', message: 'bad replicas',
      details: { causes: [{ reason: 'FieldValueInvalid', field: 'spec.replicas', message: 'must be >= 0' }] } };
    const { f } = recordingFetch(() => new Response(JSON.stringify(st), { status: 422 }));
    const err = await new ApiClient({ server: 'http://h', fetch: f }).get(ad, 'n', 't').catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 422, reason: 'Invalid', message: 'bad replicas' });
    expect(err.details.causes[0].field).toBe('spec.replicas');
  });

  it('turns a non-Status error body into an ApiError with the HTTP code', async () => {
    const { f } = recordingFetch(() => new Response('upstream broke', { status: 502 }));
    await expect(new ApiClient({ server: 'http://h', fetch: f }).raw('GET', '/healthz')).rejects.toMatchObject({ code: 502, message: 'upstream broke' });
  });

  it('explains a refused connection and how to start a manager', async () => {
    // A port that was free a moment ago: bind, read the port, close.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const err = await new ApiClient({ server: `http://127.0.0.1:${port}` }).get(ad, 'n', 't').catch((e) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.message).toBe(`cannot reach the drover manager at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port} — is it running? (start one with 'drover up')`);
  });

  describe('watch', () => {
    function streamFetch(chunks: string[], httpStatus = 200) {
      return (async () => new Response(new ReadableStream({
        start(ctrl) {
          for (const c of chunks) ctrl.enqueue(new TextEncoder().encode(c));
          ctrl.close();
        },
      }), { status: httpStatus })) as unknown as typeof fetch;
    }
    const obj = (rv: string) => ({ apiVersion: 'drover.dev/v1alpha1', kind: 'AgentDeployment', metadata: { name: 't', resourceVersion: rv } });

    it('parses newline-delimited events even when split across chunks', async () => {
      const lines = [JSON.stringify({ type: 'ADDED', object: obj('5') }), JSON.stringify({ type: 'MODIFIED', object: obj('6') })].join('\n') + '\n';
      const events: WatchEvent[] = [];
      const c = new ApiClient({ server: 'http://h', fetch: streamFetch([lines.slice(0, 17), lines.slice(17, 60), lines.slice(60)]) });
      const h = await c.watch(ad, { namespace: 'n', resourceVersion: '4' }, (e) => events.push(e));
      await h.done;
      expect(events.map((e) => [e.type, e.object.metadata.resourceVersion])).toEqual([['ADDED', '5'], ['MODIFIED', '6']]);
    });

    it('reports a 410 ERROR event as Gone', async () => {
      const errEv = { type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 410, reason: 'Expired', message: 'too old resource version: 1' } };
      const errors: Error[] = [];
      const c = new ApiClient({ server: 'http://h', fetch: streamFetch([JSON.stringify(errEv) + '\n']) });
      const h = await c.watch(ad, { resourceVersion: '1' }, () => undefined, (e) => errors.push(e));
      await h.done;
      expect(errors[0]).toBeInstanceOf(Gone);
      expect(errors[0].message).toBe('too old resource version: 1');
    });

    it('throws Gone when the watch request itself answers 410', async () => {
      const st = { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 410, reason: 'Expired', message: 'too old' };
      const c = new ApiClient({ server: 'http://h', fetch: streamFetch([JSON.stringify(st)], 410) });
      await expect(c.watch(ad, { resourceVersion: '1' }, () => undefined)).rejects.toBeInstanceOf(Gone);
    });

    it('puts the watch parameters in the query', async () => {
      const { f, calls } = recordingFetch(() => new Response(''));
      const h = await new ApiClient({ server: 'http://h', fetch: f }).watch(ad, { namespace: 'n', resourceVersion: '7', allowWatchBookmarks: true, fieldSelector: 'metadata.name=t', timeoutSeconds: 30 }, () => undefined);
      await h.done;
      expect(calls[0].url).toBe('http://h/apis/drover.dev/v1alpha1/namespaces/n/agentdeployments?watch=true&resourceVersion=7&fieldSelector=metadata.name%3Dt&allowWatchBookmarks=true&timeoutSeconds=30');
    });
  });
});

describe('ApiClient and rate limits', () => {
  it('waits as a 429 answer asks (Retry-After) and sends the same write again; gives up after a few', async () => {
    const seen: Array<{ at: number; body: string }> = [];
    let answers = [429, 201];
    const f = (async (_url: string, init: RequestInit) => {
      seen.push({ at: Date.now(), body: String(init.body) });
      const code = answers.shift() ?? 429;
      return new Response(JSON.stringify(code === 429 ? { kind: 'Status', code, reason: 'TooManyRequests', message: 'too many requests' } : { ok: true }), { status: code, headers: { 'retry-after': '1' } });
    }) as unknown as typeof fetch;
    const c = new ApiClient({ server: 'http://h', fetch: f });
    expect(await c.raw('POST', '/api/v1/x', { a: 1 })).toEqual({ ok: true });
    expect(seen).toHaveLength(2);
    expect(seen[1].body).toBe(seen[0].body);
    expect(seen[1].at - seen[0].at).toBeGreaterThanOrEqual(950);

    answers = [];
    seen.length = 0;
    const sleeps: number[] = [];
    const realSetTimeout = globalThis.setTimeout;
    globalThis.setTimeout = ((fn: () => void, ms: number) => { sleeps.push(ms); return realSetTimeout(fn, 0); }) as typeof setTimeout;
    try {
      const err = (await c.raw("POST", "/api/v1/x", { a: 1 }).catch((e: unknown) => e)) as ApiError;
      expect(err).toBeInstanceOf(ApiError);
      expect(err.code).toBe(429);
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
    expect(seen).toHaveLength(5);
    expect(sleeps.filter((ms) => ms === 1000)).toHaveLength(4);
  });
});
