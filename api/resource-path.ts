// `[watch/][namespaces/NS/]PLURAL[/NAME[/status|/scale]]` under /apis/drover.dev/v1alpha1.
import { BadRequest } from '../core/errors.ts';
import type { ResourceRegistry, ResourceType } from '../core/resources.ts';
import { GROUP } from '../core/types.ts';
import { resourceNotFound } from './status.ts';

export const Subresources = ['status', 'scale'] as const;
export type Subresource = (typeof Subresources)[number];

export interface ResourceTarget {
  rt: ResourceType;
  /** From the path; undefined for cluster-scoped kinds and all-namespace collections. */
  namespace?: string;
  name?: string;
  subresource?: Subresource;
  /** The legacy `/watch/` path prefix was used. */
  watchPath: boolean;
}

function segments(path: string): string[] {
  try {
    return path.split('/').filter((s) => s !== '').map(decodeURIComponent);
  } catch (e) {
    throw new BadRequest(`malformed URL path "${path}"`, undefined, { cause: e });
  }
}

/** Throws the generic 404 Status for anything that does not name a served resource. */
export function parseResourcePath(path: string, registry: ResourceRegistry): ResourceTarget {
  let segs = segments(path);
  const watchPath = segs[0] === 'watch';
  if (watchPath) segs = segs.slice(1);
  let namespace: string | undefined;
  if (segs[0] === 'namespaces' && segs.length >= 3) {
    namespace = segs[1];
    segs = segs.slice(2);
  }
  if (segs.length < 1 || segs.length > 3) throw resourceNotFound();
  const [plural, name, sub] = segs;
  const rt = registry.byPlural(GROUP, plural);
  if (!rt) throw resourceNotFound();
  if (namespace !== undefined && !rt.namespaced) throw resourceNotFound();
  if (rt.namespaced && namespace === undefined && name !== undefined) throw resourceNotFound();
  if (sub !== undefined) {
    const served = (sub === 'status' && rt.hasStatus) || (sub === 'scale' && rt.scale !== undefined);
    if (!served || watchPath) throw resourceNotFound();
  }
  return { rt, namespace, name, subresource: sub as Subresource | undefined, watchPath };
}
