// A watch that survives: re-watches when the server ends the stream, relists after 410 Gone, stops on abort.
import type { ApiClient, ClientWatchOptions } from '../core/client.ts';
import { isApiError } from '../core/errors.ts';
import type { ResourceType } from '../core/resources.ts';
import type { KubeObject, WatchEvent } from '../core/types.ts';

export interface WatchLoopOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Start after this revision (from a list). */
  resourceVersion: string;
  signal?: AbortSignal;
  /** Called after a 410 with the fresh list, so the caller can print what changed meanwhile. */
  onRelist?: (items: KubeObject[]) => void;
}

/** Resolves when the signal aborts; rejects on any error other than 410 Gone. */
export async function watchLoop(
  client: ApiClient, rt: ResourceType, opts: WatchLoopOptions, onEvent: (ev: WatchEvent) => void,
): Promise<void> {
  let rv = opts.resourceVersion;
  const base: ClientWatchOptions = { namespace: opts.namespace, labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, allowWatchBookmarks: true };
  while (!opts.signal?.aborted) {
    let failure: Error | undefined;
    const startedAt = Date.now();
    try {
      const handle = await client.watch(rt, { ...base, resourceVersion: rv }, (ev) => {
        const next = ev.object?.metadata?.resourceVersion;
        if (next) rv = next;
        if (ev.type !== 'BOOKMARK') onEvent(ev);
      }, (err) => { failure = err; });
      const stop = () => handle.stop();
      opts.signal?.addEventListener('abort', stop, { once: true });
      await handle.done;
      opts.signal?.removeEventListener('abort', stop);
    } catch (e) {
      failure = e as Error;
    }
    if (opts.signal?.aborted) return;
    if (!failure) {
      // The server closed the stream (timeout): watch again from the last revision, but never spin.
      if (Date.now() - startedAt < 1000) await sleep(1000, opts.signal);
      continue;
    }
    if (!isApiError(failure, 410)) throw failure;
    const list = await client.list(rt, { namespace: opts.namespace, labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector });
    rv = list.metadata.resourceVersion;
    opts.onRelist?.(list.items);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
