// Watch streams: newline-delimited JSON events over a chunked 200 response, Kubernetes semantics.
// No resourceVersion (or "0") → a synthetic ADDED per current object, then live changes;
// a resourceVersion → replay after it; one too old → an ERROR event with a 410 Status, then the end.
import type { Request, Response } from 'express';
import { BadRequest, Gone, isApiError } from '../core/errors.ts';
import type { Watcher } from '../core/store.ts';
import type { KubeObject, WatchEvent } from '../core/types.ts';
import type { ApiContext } from './context.ts';
import { listOptions } from './object-handlers.ts';
import type { ResourceTarget } from './resource-path.ts';

interface Session {
  end(): void;
}

/** Open watch streams, so shutting the server down can end them promptly. */
export class WatchSessions {
  private readonly open = new Set<Session>();
  add(s: Session): void {
    this.open.add(s);
  }
  remove(s: Session): void {
    this.open.delete(s);
  }
  get size(): number {
    return this.open.size;
  }
  endAll(): void {
    for (const s of [...this.open]) s.end();
  }
}

const MAX_TIMER_MS = 2 ** 31 - 1;

function timeoutMs(query: Record<string, unknown>): number | undefined {
  const raw = query.timeoutSeconds;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^[0-9]+(\.[0-9]+)?$/.test(raw) || !Number.isFinite(n)) {
    throw new BadRequest(`timeoutSeconds must be a non-negative number of seconds, got ${JSON.stringify(raw)}`);
  }
  // past what a timer can hold (~24.8 days) a timeout is the same as none
  return n > 0 && n * 1000 <= MAX_TIMER_MS ? n * 1000 : undefined;
}

/** `render` rewrites each event before it is sent (a Table row for `kubectl get -w`, a core/v1 view). */
export async function serveWatch(ctx: ApiContext, t: ResourceTarget, req: Request, res: Response, render?: (ev: WatchEvent) => WatchEvent): Promise<void> {
  const { rt } = t;
  const query = req.query as Record<string, unknown>;
  const opts = listOptions(t, query);
  if (t.name) opts.fieldSelector = [opts.fieldSelector, `metadata.name=${t.name}`].filter(Boolean).join(',');
  const rv = typeof query.resourceVersion === 'string' ? query.resourceVersion : '';
  const bookmarks = query.allowWatchBookmarks === 'true' || query.allowWatchBookmarks === '1';
  const timeout = timeoutMs(query);

  let closed = false;
  let started = false;
  let watcher: Watcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  const pending: WatchEvent[] = [];
  const resource = t.rt.plural;

  const cleanup = () => {
    if (closed) return;
    closed = true;
    watcher?.stop();
    if (timer) clearTimeout(timer);
    ctx.sessions.remove(session);
    if (started) ctx.metrics.watchers.dec({ resource });
  };
  const session: Session = {
    end() {
      cleanup();
      if (!res.writableEnded) res.end();
    },
  };
  const send = (ev: WatchEvent) => {
    if (closed) return;
    let out = ev;
    if (ev.type === 'BOOKMARK') {
      out = { type: 'BOOKMARK', object: { kind: rt.kind, apiVersion: rt.apiVersion, metadata: { resourceVersion: ev.object.metadata?.resourceVersion } } as KubeObject };
    }
    if (render) out = render(out);
    res.write(JSON.stringify(out) + '\n');
    if (res.writableLength > ctx.maxWatchBufferBytes) {
      // the client cannot keep up; it re-watches from its last resourceVersion
      ctx.logger.warn('watch closed: client too slow', { resource, buffered: res.writableLength });
      session.end();
    }
  };
  const handler = (ev: WatchEvent) => (started ? send(ev) : pending.push(ev));
  const start = () => {
    res.status(200);
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Cache-Control', 'no-cache, private');
    res.setHeader('Transfer-Encoding', 'chunked');
    res.flushHeaders();
    started = true;
    ctx.metrics.watchers.inc({ resource });
  };

  ctx.sessions.add(session);
  res.on('close', cleanup);
  if (timeout !== undefined) timer = setTimeout(() => session.end(), timeout);
  try {
    let from = rv;
    if (rv === '' || rv === '0') {
      const list = await ctx.store.list(rt.key, { ...opts, limit: undefined, continue: undefined });
      if (closed) return;
      start();
      for (const obj of list.items) send({ type: 'ADDED', object: obj });
      from = list.resourceVersion;
    }
    if (closed) return;
    watcher = await ctx.store.watch(rt.key, {
      namespace: opts.namespace, labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector,
      resourceVersion: from, bookmarkIntervalMs: bookmarks ? ctx.bookmarkIntervalMs : undefined,
    }, handler);
    if (closed) {
      watcher.stop();
      return;
    }
    if (!started) start();
    for (const ev of pending.splice(0)) send(ev);
  } catch (e) {
    if (!isApiError(e, 410)) {
      cleanup();
      throw e;
    }
    if (!started) start();
    const status = new Gone(e.message.startsWith('too old resource version') ? e.message : `too old resource version: ${rv}`).toStatus();
    send({ type: 'ERROR', object: status as unknown as KubeObject });
    session.end();
  }
}
