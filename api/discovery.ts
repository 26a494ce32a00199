// Minimal discovery documents so kubectl and client-node can map kinds to URLs.
import type { ResourceRegistry } from '../core/resources.ts';
import { API_VERSION, GROUP, VERSION } from '../core/types.ts';
import { coreV1Resources } from './core-v1.ts';

export const OBJECT_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
export const SUBRESOURCE_VERBS = ['get', 'patch', 'update'];

export function apiResourceList(registry: ResourceRegistry) {
  const resources = [];
  for (const rt of registry.all().filter((r) => r.group === GROUP && r.version === VERSION)) {
    resources.push({
      name: rt.plural, singularName: rt.singular, namespaced: rt.namespaced, kind: rt.kind,
      verbs: OBJECT_VERBS, shortNames: rt.shortNames, categories: rt.categories, storageVersionHash: '',
    });
    if (rt.hasStatus) resources.push({ name: `${rt.plural}/status`, singularName: '', namespaced: rt.namespaced, kind: rt.kind, verbs: SUBRESOURCE_VERBS });
    if (rt.scale) {
      resources.push({ name: `${rt.plural}/scale`, singularName: '', namespaced: rt.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: SUBRESOURCE_VERBS });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: API_VERSION, resources };
}

function apiGroup() {
  const version = { groupVersion: API_VERSION, version: VERSION };
  return { kind: 'APIGroup', apiVersion: 'v1', name: GROUP, versions: [version], preferredVersion: version };
}

export const apiGroupDocument = apiGroup;

export function apiGroupList() {
  const { kind: _kind, apiVersion: _apiVersion, ...group } = apiGroup();
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [group] };
}

/** The core group holds only the read-only Namespace (= Cluster) and Event views of api/core-v1.ts. */
export function coreApiVersions(serverAddress: string) {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

export function coreResourceList() {
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'v1', resources: coreV1Resources() };
}
