// `[watch/][namespaces/NS/]PLURAL[/NAME[/status|/scale]]` under /apis/drover.dev/v1alpha1.
import { BadRequest } from '../core/errors.ts';
import { dns1123Label, dns1123Subdomain } from '../core/names.ts';
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
  /** Lists and watches see only the object of this name (a Cluster-bound token listing Clusters). */
  onlyName?: string;
}

function segments(path: string): string[] {
  try {
    return path.split('/').filter((s) => s !== '').map(decodeURIComponent);
  } catch (e) {
    throw new BadRequest(`malformed URL path "${path}"`, undefined, { cause: e });
  }
}

/**
 * A namespace or object name taken from a URL (path segment or query): it must be one a stored object
 * can have, so `..`, `a/b`, `%2e%2e`, NUL or look-alike unicode never reach the store. 400 naming the rule.
 */
export function checkUrlName(value: string, what: 'name' | 'namespace', label = what === 'namespace'): void {
  const problems = label ? dns1123Label(value) : dns1123Subdomain(value);
  if (problems.length === 0) return;
  const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  throw new BadRequest(`invalid ${what} ${shown} in the request: ${problems.join('; ')}`);
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
  if (namespace !== undefined) checkUrlName(namespace, 'namespace');
  // Cluster names are namespaces, hence DNS-1123 labels; every other name a DNS-1123 subdomain
  if (name !== undefined) checkUrlName(name, 'name', rt.kind === 'Cluster');
  return { rt, namespace, name, subresource: sub as Subresource | undefined, watchPath };
}
