// Aggregated discovery (apidiscovery.k8s.io/v2): the whole resource list of /api or /apis in one answer,
// which kubectl ≥ 1.30 asks for first and which saves it one request per group version.
import type { ResourceRegistry } from '../core/resources.ts';
import { GROUP, VERSION } from '../core/types.ts';
import { coreV1Resources } from './core-v1.ts';
import { OBJECT_VERBS, SUBRESOURCE_VERBS } from './discovery.ts';

interface GroupVersionKind { group: string; version: string; kind: string }

interface DiscoveryResource {
  resource: string;
  responseKind: GroupVersionKind;
  scope: 'Namespaced' | 'Cluster';
  singularResource: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  subresources?: { subresource: string; responseKind: GroupVersionKind; verbs: string[] }[];
}

function groupDiscovery(name: string, version: string, resources: DiscoveryResource[]) {
  return { metadata: { name, creationTimestamp: null }, versions: [{ version, resources, freshness: 'Current' }] };
}

function list(items: unknown[]) {
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}

/** /apis: the drover.dev group, built from the CRDs. */
export function aggregatedGroups(registry: ResourceRegistry) {
  const resources: DiscoveryResource[] = registry.all()
    .filter((rt) => rt.group === GROUP && rt.version === VERSION)
    .sort((a, b) => a.plural.localeCompare(b.plural))
    .map((rt) => {
      const kind = { group: rt.group, version: rt.version, kind: rt.kind };
      const subresources = [
        ...(rt.hasStatus ? [{ subresource: 'status', responseKind: kind, verbs: SUBRESOURCE_VERBS }] : []),
        ...(rt.scale ? [{ subresource: 'scale', responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: SUBRESOURCE_VERBS }] : []),
      ];
      return {
        resource: rt.plural, responseKind: kind, scope: rt.namespaced ? 'Namespaced' as const : 'Cluster' as const,
        singularResource: rt.singular, verbs: OBJECT_VERBS,
        ...(rt.shortNames.length ? { shortNames: rt.shortNames } : {}),
        ...(rt.categories.length ? { categories: rt.categories } : {}),
        ...(subresources.length ? { subresources } : {}),
      };
    });
  return list([groupDiscovery(GROUP, VERSION, resources)]);
}

/** /api: the legacy core group, holding only the read-only Namespace and Event views (api/core-v1.ts). */
export function aggregatedCore() {
  const resources: DiscoveryResource[] = coreV1Resources().map((r) => ({
    resource: r.name, responseKind: { group: '', version: 'v1', kind: r.kind }, scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singularName, verbs: r.verbs, shortNames: r.shortNames,
  }));
  return list([groupDiscovery('', 'v1', resources)]);
}
