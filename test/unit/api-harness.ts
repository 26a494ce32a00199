// In-process API server on 127.0.0.1:0 over a :memory: SQLite store, driven with global fetch.
import { loadRegistry } from '../../core/crds.ts';
import { createValidator } from '../../core/validation.ts';
import { nullLogger } from '../../core/logging.ts';
import type { KubeObject } from '../../core/types.ts';
import { openSqliteStore } from '../../store/sqlite-store.ts';
import type { SqliteStore } from '../../store/sqlite-store.ts';
import { createApiServer, listen } from '../../api/server.ts';
import type { ApiServerOptions } from '../../api/context.ts';
import { staticAuthenticator } from '../../api/auth.ts';
import { createApiMetrics } from '../../api/metrics.ts';

export const TOKENS = {
  admin: 'admin-token',
  viewer: 'viewer-token',
  demoOperator: 'demo-operator-token',
} as const;

export const BASE = '/apis/drover.dev/v1alpha1';

export interface CallOptions {
  token?: string | null;
  contentType?: string;
  rawBody?: string;
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

export interface Harness {
  url: string;
  store: SqliteStore;
  call(method: string, path: string, body?: unknown, opts?: CallOptions): Promise<Reply>;
  close(): Promise<void>;
}

export async function startApi(overrides: Partial<ApiServerOptions> = {}): Promise<Harness> {
  const store = await openSqliteStore({ path: ':memory:' });
  const registry = loadRegistry();
  const app = createApiServer({
    store, registry, validator: createValidator(registry), logger: nullLogger(),
    metrics: createApiMetrics({ processMetrics: false }),
    authenticator: staticAuthenticator({
      [TOKENS.admin]: { name: 'alice', role: 'admin' },
      [TOKENS.viewer]: { name: 'victor', role: 'viewer' },
      [TOKENS.demoOperator]: { name: 'olga', role: 'operator', cluster: 'demo' },
    }),
    ...overrides,
  });
  const server = await listen(app, '127.0.0.1', 0);
  return {
    url: server.url,
    store,
    async call(method, path, body, opts = {}) {
      const headers: Record<string, string> = {};
      const token = opts.token === undefined ? TOKENS.admin : opts.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let payload: string | undefined = opts.rawBody;
      if (body !== undefined) payload = JSON.stringify(body);
      if (payload !== undefined) headers['content-type'] = opts.contentType ?? (method === 'PATCH' ? 'application/merge-patch+json' : 'application/json');
      const res = await fetch(server.url + path, { method, headers, body: payload });
      const text = await res.text();
      let parsed: unknown = text;
      if ((res.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
    async close() {
      await server.close();
      await store.close();
    },
  };
}

export function cluster(name: string): KubeObject {
  return { apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name }, spec: {} };
}

export function agentDeployment(name: string, extra: { labels?: Record<string, string>; replicas?: number } = {}): KubeObject {
  return {
    apiVersion: 'drover.dev/v1alpha1', kind: 'AgentDeployment',
    metadata: { name, ...(extra.labels ? { labels: extra.labels } : {}) },
    spec: { agentType: 'trading', replicas: extra.replicas ?? 2, template: { command: ['node', 'agents/trading.js'] } },
  };
}

/** Reads an NDJSON watch stream event by event. */
export interface WatchStream {
  status: number;
  contentType: string | null;
  next(timeoutMs?: number): Promise<{ type: string; object: any } | undefined>; // eslint-disable-line @typescript-eslint/no-explicit-any
  close(): void;
}

export async function openWatch(h: Harness, path: string, token: string = TOKENS.admin): Promise<WatchStream> {
  const ac = new AbortController();
  const res = await fetch(h.url + path, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let ended = false;
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    async next(timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const nl = buf.indexOf('\n');
        if (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim()) return JSON.parse(line);
          continue;
        }
        if (ended) return undefined;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no watch event within ${timeoutMs} ms`);
        let timer: NodeJS.Timeout | undefined;
        const r = await Promise.race([
          reader.read(),
          new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), left); }),
        ]);
        clearTimeout(timer);
        if (r === 'timeout') throw new Error(`no watch event within ${timeoutMs} ms`);
        if (r.done) ended = true;
        else buf += decoder.decode(r.value, { stream: true });
      }
    },
    close() {
      ac.abort();
    },
  };
}
