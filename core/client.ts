// HTTP client for the drover API (Kubernetes REST + NDJSON watch). Errors are ApiErrors rebuilt from Status bodies.
import { Agent } from 'undici';
import { ApiError, Gone, fromStatus } from './errors.ts';
import type { ResourceType } from './resources.ts';
import type { KubeList, KubeObject, Status, WatchEvent } from './types.ts';

export interface ApiClientOptions {
  server: string;
  token?: string;
  fetch?: typeof fetch;
  /** PEM of the CA that signs an https server's certificate (trusted instead of the system CAs); ignored when `fetch` is given. */
  ca?: string;
  userAgent?: string;
}

/**
 * Node's global fetch that trusts only `caPem` for https (with full hostname verification). Node's fetch takes no CA
 * option: an undici Agent with that CA is handed over as the dispatcher, for every request of this function.
 */
export function fetchTrusting(caPem: string): typeof fetch {
  const dispatcher = new Agent({ connect: { ca: caPem } });
  const f = (input: string | URL | Request, init?: RequestInit) => globalThis.fetch(input, { ...init, dispatcher } as RequestInit);
  return f as typeof fetch;
}

export interface ClientListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface ClientWatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

export interface ClientDeleteOptions {
  dryRun?: boolean;
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
}

export interface WatchHandle {
  stop(): void;
  /** Resolves when the stream ends (server closed, timeoutSeconds, or stop()); rejects never — errors go to onError. */
  done: Promise<void>;
}

export type PatchType = 'merge' | 'json';

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
};

/** The manager could not be reached at all (connection refused, DNS, reset). */
export class ConnectionError extends Error {
  readonly server: string;
  constructor(server: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConnectionError';
    this.server = server;
  }
}

export class ApiClient {
  readonly server: string;
  readonly #token?: string;
  readonly #fetch: typeof fetch;
  readonly #userAgent: string;

  constructor(opts: ApiClientOptions) {
    this.server = opts.server.replace(/\/+$/, '');
    this.#token = opts.token;
    this.#fetch = opts.fetch ?? (opts.ca ? fetchTrusting(opts.ca) : globalThis.fetch);
    this.#userAgent = opts.userAgent ?? 'drover-cli';
  }

  /** `/apis/GROUP/VERSION[/namespaces/NS]/PLURAL[/NAME[/SUB]]`; cluster-scoped kinds never get a namespace segment. */
  path(rt: ResourceType, ns: string | undefined, name?: string, subresource?: string): string {
    let p = `/apis/${rt.group}/${rt.version}`;
    if (rt.namespaced && ns) p += `/namespaces/${encodeURIComponent(ns)}`;
    p += `/${rt.plural}`;
    if (name !== undefined) p += `/${encodeURIComponent(name)}`;
    if (subresource) p += `/${subresource}`;
    return p;
  }

  async get(rt: ResourceType, ns: string | undefined, name: string): Promise<KubeObject> {
    return this.#json('GET', this.path(rt, ns, name));
  }

  async list(rt: ResourceType, opts: ClientListOptions = {}): Promise<KubeList> {
    const q = query({ labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit: opts.limit, continue: opts.continue });
    return this.#json('GET', this.path(rt, opts.namespace) + q);
  }

  async create(rt: ResourceType, obj: KubeObject, opts: { dryRun?: boolean } = {}): Promise<KubeObject> {
    return this.#json('POST', this.path(rt, obj.metadata.namespace) + query({ dryRun: opts.dryRun ? 'All' : undefined }), obj);
  }

  async replace(rt: ResourceType, obj: KubeObject): Promise<KubeObject> {
    return this.#json('PUT', this.path(rt, obj.metadata.namespace, obj.metadata.name), obj);
  }

  async updateStatus(rt: ResourceType, obj: KubeObject): Promise<KubeObject> {
    return this.#json('PUT', this.path(rt, obj.metadata.namespace, obj.metadata.name, 'status'), obj);
  }

  async patch(
    rt: ResourceType, ns: string | undefined, name: string, patch: unknown, type: PatchType,
    opts: { subresource?: string; dryRun?: boolean } = {},
  ): Promise<KubeObject> {
    const p = this.path(rt, ns, name, opts.subresource) + query({ dryRun: opts.dryRun ? 'All' : undefined });
    return this.#json('PATCH', p, patch, PATCH_CONTENT_TYPES[type]);
  }

  async delete(rt: ResourceType, ns: string | undefined, name: string, opts: ClientDeleteOptions = {}): Promise<KubeObject | Status> {
    const q = query({ dryRun: opts.dryRun ? 'All' : undefined, propagationPolicy: opts.propagationPolicy, gracePeriodSeconds: opts.gracePeriodSeconds });
    return this.#json('DELETE', this.path(rt, ns, name) + q);
  }

  /** Any request; the answer parsed as JSON when it is JSON, else returned as text. */
  async raw(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await this.#request(method, path, body);
    const text = await res.text();
    if (!res.ok) throw errorFromBody(text, res.status);
    return parseMaybeJson(text);
  }

  /** A plain-text request (container logs): the body is sent as is and the answer returned as text. */
  async text(method: string, path: string, body?: string, contentType = 'text/plain; charset=utf-8'): Promise<string> {
    const res = await this.#requestText(method, path, body, contentType);
    const text = await res.text();
    if (!res.ok) throw errorFromBody(text, res.status);
    return text;
  }

  /** GET a streamed plain-text answer chunk by chunk until the server ends it or `signal` aborts (then it resolves). */
  async streamText(path: string, onChunk: (text: string) => void, signal?: AbortSignal): Promise<void> {
    let res: Response;
    try {
      res = await this.#requestText('GET', path, undefined, undefined, signal);
    } catch (e) {
      if (signal?.aborted) return;
      throw e;
    }
    if (!res.ok) throw errorFromBody(await res.text(), res.status);
    const reader = res.body?.getReader();
    if (!reader) return;
    const decoder = new TextDecoder();
    const onAbort = () => { reader.cancel().catch(() => undefined); };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const text = decoder.decode(value, { stream: true });
        if (text) onChunk(text);
      }
      const rest = decoder.decode();
      if (rest) onChunk(rest);
    } catch (e) {
      if (!signal?.aborted) throw connectionError(this.server, e);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async #requestText(method: string, path: string, body?: string, contentType?: string, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'text/plain, application/json', 'User-Agent': this.#userAgent };
    if (this.#token) headers.Authorization = `Bearer ${this.#token}`;
    if (body !== undefined) headers['Content-Type'] = contentType ?? 'text/plain; charset=utf-8';
    try {
      return await this.#fetch(this.server + path, { method, headers, body, signal });
    } catch (e) {
      throw connectionError(this.server, e);
    }
  }

  /**
   * Stream changes as newline-delimited JSON. A 410 answer or a 410 ERROR event is reported to
   * onError as Gone (the caller relists); other ERROR events are reported as their ApiError.
   */
  async watch(
    rt: ResourceType, opts: ClientWatchOptions,
    onEvent: (ev: WatchEvent) => void, onError?: (err: Error) => void,
  ): Promise<WatchHandle> {
    const abort = new AbortController();
    const q = query({
      watch: 'true', resourceVersion: opts.resourceVersion, labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector,
      allowWatchBookmarks: opts.allowWatchBookmarks ? 'true' : undefined, timeoutSeconds: opts.timeoutSeconds,
    });
    const res = await this.#request('GET', this.path(rt, opts.namespace) + q, undefined, undefined, abort.signal);
    if (!res.ok) {
      const err = errorFromBody(await res.text(), res.status);
      throw err.code === 410 ? new Gone(err.message, err.details, { cause: err }) : err;
    }
    const report = (e: Error) => { if (onError) onError(e); };
    const reader = res.body?.getReader();
    // Cancel the body explicitly on stop(): not every fetch implementation ties the body to the signal.
    abort.signal.addEventListener('abort', () => { reader?.cancel().catch(() => undefined); }, { once: true });
    const done = (async () => {
      try {
        for await (const line of ndjsonLines(reader)) {
          const ev = JSON.parse(line) as WatchEvent;
          if (ev.type === 'ERROR') {
            const st = ev.object as unknown as Partial<Status>;
            const err = fromStatus(st);
            report(err.code === 410 ? new Gone(err.message, err.details, { cause: err }) : err);
            abort.abort();
            return;
          }
          onEvent(ev);
        }
      } catch (e) {
        if (abort.signal.aborted) return; // stop() was called: the aborted read is expected
        report(e instanceof Error ? e : new Error(String(e)));
      }
    })();
    return { stop: () => abort.abort(), done };
  }

  async #json<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const res = await this.#request(method, path, body, contentType);
    const text = await res.text();
    if (!res.ok) throw errorFromBody(text, res.status);
    return (text ? JSON.parse(text) : {}) as T;
  }

  async #request(method: string, path: string, body?: unknown, contentType?: string, signal?: AbortSignal): Promise<Response> {
    const url = this.server + path;
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': this.#userAgent };
    if (this.#token) headers.Authorization = `Bearer ${this.#token}`;
    if (body !== undefined) headers['Content-Type'] = contentType ?? 'application/json';
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await this.#fetch(url, { method, headers, body: payload, signal });
      } catch (e) {
        throw connectionError(this.server, e);
      }
      // Rate limited: wait as the server asks (Retry-After, capped), a few times, then report the 429.
      if (res.status !== 429 || attempt >= RATE_LIMIT_RETRIES || signal?.aborted) return res;
      const waitS = Math.min(MAX_RETRY_AFTER_S, Math.max(1, Number(res.headers.get('retry-after')) || 1));
      await res.text().catch(() => undefined);
      await new Promise((r) => setTimeout(r, waitS * 1000));
    }
  }
}

/** 429 answers are retried this many times in all, after the server's Retry-After (at most MAX_RETRY_AFTER_S). */
const RATE_LIMIT_RETRIES = 5;
const MAX_RETRY_AFTER_S = 10;

/** OpenSSL / Node codes of a certificate the client does not trust or that names another host. */
const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_SIGNATURE_FAILURE', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function connectionError(server: string, e: unknown): Error {
  if ((e as Error)?.name === 'AbortError') return e as Error;
  const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code && TLS_TRUST_CODES.has(cause.code)) {
    return new ConnectionError(server,
      `the TLS certificate of ${server} is not trusted (${cause.code}: ${cause.message ?? ''}) — give the manager's CA ` +
      `(certificate-authority-data in the context, 'drover config set-context NAME --certificate-authority FILE', or --ca-file for an agent) ` +
      `and use a server address the certificate names (the manager's --advertise-address)`, { cause: e });
  }
  const detail = cause?.message || (cause?.code ? `connect ${cause.code}` : (e as Error)?.message ?? String(e));
  return new ConnectionError(server,
    `cannot reach the drover manager at ${server}: ${detail} — is it running? (start one with 'drover up')`, { cause: e });
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

function parseMaybeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // /healthz and friends answer plain text
  }
}

/** A Status body becomes its ApiError; anything else becomes an ApiError carrying the HTTP code and text. */
export function errorFromBody(text: string, httpCode: number): ApiError {
  const body = parseMaybeJson(text);
  if (body && typeof body === 'object' && (body as Status).kind === 'Status') return fromStatus(body as Status, httpCode);
  const msg = typeof body === 'string' && body.trim() ? body.trim() : `the server answered HTTP ${httpCode}`;
  return fromStatus({ code: httpCode, message: msg, reason: httpCode === 410 ? 'Expired' : undefined }, httpCode);
}

async function* ndjsonLines(reader: ReadableStreamDefaultReader<Uint8Array> | undefined): AsyncGenerator<string> {
  if (!reader) return;
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) yield line;
    }
  }
  const rest = (buf + decoder.decode()).trim();
  if (rest) yield rest;
}
