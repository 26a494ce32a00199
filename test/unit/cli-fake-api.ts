// An in-memory stand-in for the drover API behind a `fetch` function, so CLI tests run in-process.
// It records every request; it is not a server implementation (no validation, no defaulting).
import { applyMergePatch } from '../../core/patch.ts';
import type { KubeObject, Status } from '../../core/types.ts';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body?: unknown;
  contentType?: string;
  authorization?: string;
}

export interface FakeApi {
  fetch: typeof fetch;
  requests: RecordedRequest[];
  objects: Map<string, KubeObject>;
  put(path: string, obj: KubeObject): void;
  /** Answer this path with a Status error (e.g. 422 with causes) instead of handling it. */
  failures: Map<string, Status>;
  /** Send a line to every open watch stream (an event object, or a raw ERROR event). */
  emit(event: unknown): void;
  /** Resolves once `n` watch streams have been opened in total. */
  watchesOpened(n: number): Promise<void>;
}

function status(code: number, reason: string, message: string, details?: Status['details']): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code, reason, message, details };
}

const json = (code: number, body: unknown) =>
  new Response(JSON.stringify(body), { status: code, headers: { 'Content-Type': 'application/json' } });

export function fakeApi(): FakeApi {
  const objects = new Map<string, KubeObject>();
  const failures = new Map<string, Status>();
  const requests: RecordedRequest[] = [];
  let rv = 100;
  const streams: ReadableStreamDefaultController<Uint8Array>[] = [];
  let opened = 0;
  const openWaiters: Array<{ n: number; resolve: () => void }> = [];
  let uid = 0;

  const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    const method = init?.method ?? 'GET';
    requests.push({ method, path: url.pathname, query: url.searchParams, body, contentType: headers['Content-Type'], authorization: headers.Authorization });
    const fail = failures.get(`${method} ${url.pathname}`);
    if (fail) return json(fail.code, fail);
    if (url.pathname === '/version') return json(200, { gitVersion: 'v0.1.0-fake' });

    const m = /^\/apis\/([^/]+)\/([^/]+)(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return json(404, status(404, 'NotFound', `no route ${url.pathname}`));
    const [, , , , plural, name] = m;
    const dryRun = url.searchParams.get('dryRun') === 'All';
    if (name === undefined && url.searchParams.get('watch') === 'true') {
      const stream = new ReadableStream<Uint8Array>({
        start(ctrl) { streams.push(ctrl); },
        cancel() { /* the client stopped watching */ },
      });
      opened++;
      for (const w of openWaiters.filter((x) => x.n <= opened)) w.resolve();
      return new Response(stream, { status: 200 });
    }
    if (name === undefined) {
      if (method === 'POST') {
        const itemPath = `${url.pathname}/${body.metadata.name}`;
        if (objects.has(itemPath)) return json(409, status(409, 'AlreadyExists', `${plural}.drover.dev "${body.metadata.name}" already exists`));
        const stored = { ...body, metadata: { ...body.metadata, uid: `uid-${++uid}`, resourceVersion: String(++rv), creationTimestamp: '2026-01-01T00:00:00Z', generation: 1 } };
        if (!dryRun) objects.set(itemPath, stored);
        return json(201, stored);
      }
      const field = url.searchParams.get('fieldSelector') ?? '';
      const [fk, fv] = field.split('=');
      const items = [...objects.entries()]
        .filter(([p]) => (m[3] ? p.startsWith(url.pathname + '/') : p.startsWith(`/apis/${m[1]}/${m[2]}/`) && p.split('/').at(-2) === plural))
        .map(([, o]) => o)
        .filter((o) => !fk || fk.split('.').reduce<unknown>((cur, k) => (cur as Record<string, unknown> | undefined)?.[k], o) === fv);
      return json(200, { apiVersion: 'drover.dev/v1alpha1', kind: 'List', metadata: { resourceVersion: String(rv) }, items });
    }
    const existing = objects.get(url.pathname);
    const notFound = () => json(404, status(404, 'NotFound', `${plural}.drover.dev "${name}" not found`));
    if (method === 'GET') return existing ? json(200, existing) : notFound();
    if (method === 'DELETE') {
      if (!existing) return notFound();
      objects.delete(url.pathname);
      return json(200, existing);
    }
    if (method === 'PATCH') {
      if (!existing) return notFound();
      const next = applyMergePatch<KubeObject>(existing, body);
      next.metadata = { ...next.metadata, resourceVersion: String(++rv) };
      if (!dryRun) objects.set(url.pathname, next);
      return json(200, next);
    }
    return json(405, status(405, 'MethodNotAllowed', `${method} not allowed`));
  }) as typeof fetch;

  return {
    fetch: fetchFn, requests, objects, failures, put: (p, o) => objects.set(p, o),
    emit(event) {
      const line = new TextEncoder().encode(JSON.stringify(event) + '\n');
      for (const c of streams) {
        try { c.enqueue(line); } catch { /* that stream was cancelled by its reader */ }
      }
    },
    watchesOpened: (n) => new Promise((resolve) => { if (opened >= n) resolve(); else openWaiters.push({ n, resolve }); }),
  };
}

/** Collects what a CLI run writes. */
export function captureIo(extra: Record<string, unknown> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
      env: {} as Record<string, string | undefined>,
      ...extra,
    },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}
