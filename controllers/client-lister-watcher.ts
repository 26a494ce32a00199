// The HTTP ListerWatcher: informers outside the manager (node agents, CLI, tests) list and watch
// through the API client. The manager's own controllers use store-lister-watcher.ts instead.
import type { ApiClient } from '../core/client.ts';
import type { ResourceType } from '../core/resources.ts';
import type { KubeObject } from '../core/types.ts';
import type { ListerWatcher } from './informer.ts';

export function clientListerWatcher(client: ApiClient, rt: ResourceType): ListerWatcher {
  return {
    async list(opts) {
      const res = await client.list(rt, { namespace: opts.namespace, labelSelector: opts.labelSelector });
      return { items: res.items.map((o) => withTypeMeta(o, rt)), resourceVersion: res.metadata.resourceVersion };
    },
    // An HTTP 410 rejects (client.watch throws Gone); a 410 ERROR event arrives through onError as Gone;
    // either way the informer relists. A stream the server ends cleanly is reported as onError(undefined).
    async watch(opts, onEvent, onError) {
      let ended = false; // report the end of one watch once: the error, or else the clean end
      let stopped = false;
      const end = (err?: unknown) => {
        if (ended || stopped) return;
        ended = true;
        onError(err);
      };
      const handle = await client.watch(
        rt,
        { namespace: opts.namespace, labelSelector: opts.labelSelector, resourceVersion: opts.resourceVersion, allowWatchBookmarks: true },
        (ev) => {
          if (!ended && !stopped) onEvent(ev);
        },
        end,
      );
      void handle.done.then(() => end(undefined));
      return {
        stop() {
          stopped = true;
          handle.stop();
        },
      };
    },
  };
}

// Kubernetes servers may omit kind/apiVersion on list items; informer handlers expect whole objects.
function withTypeMeta(obj: KubeObject, rt: ResourceType): KubeObject {
  return obj.kind && obj.apiVersion ? obj : { ...obj, apiVersion: rt.apiVersion, kind: rt.kind };
}
