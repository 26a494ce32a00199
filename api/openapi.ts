// OpenAPI v3 built from the CRDs, as the apiserver publishes it for custom resources: `/openapi/v3` (the index)
// and `/openapi/v3/apis/drover.dev/v1alpha1` (paths and schemas). kubectl reads it to decide that the server
// validates fields itself (fieldValidation on PATCH), which patch types it takes, and for `kubectl explain`.
import { createHash } from 'node:crypto';
import type { ResourceRegistry, ResourceType } from '../core/resources.ts';
import { GROUP, VERSION } from '../core/types.ts';

type Obj = Record<string, unknown>;

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** `drover.dev` + `Container` → `dev.drover.v1alpha1.Container`, the apiserver's naming for CRD schemas. */
export function schemaName(rt: Pick<ResourceType, 'group' | 'version' | 'kind'>): string {
  return `${rt.group.split('.').reverse().join('.')}.${rt.version}.${rt.kind}`;
}

const str = (description: string) => ({ type: 'string', description });

/** The shared meta.k8s.io schemas the resource schemas point at (enough for validation and explain). */
function metaSchemas(): Record<string, Obj> {
  return {
    [`${META}.ObjectMeta`]: {
      type: 'object',
      description: 'ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.',
      properties: {
        name: str('Name must be unique within a namespace. Cannot be updated.'),
        generateName: str('An optional prefix the server uses to generate a unique name when name is not set.'),
        namespace: str('The namespace (a drover Cluster) the object lives in. Cannot be updated.'),
        uid: str('Unique in time and space; set by the server. Read-only.'),
        resourceVersion: str('The version of this object, for optimistic concurrency and watch. Read-only.'),
        generation: { type: 'integer', format: 'int64', description: 'A sequence number of the desired state (spec). Read-only.' },
        creationTimestamp: { ...str('When the object was created. Read-only.'), format: 'date-time' },
        deletionTimestamp: { ...str('When the object will be deleted (finalizers pending). Read-only.'), format: 'date-time' },
        deletionGracePeriodSeconds: { type: 'integer', format: 'int64', description: 'Seconds allowed for graceful termination. Read-only.' },
        labels: { type: 'object', additionalProperties: { type: 'string', default: '' }, description: 'Map of string keys and values to organize and select objects.' },
        annotations: { type: 'object', additionalProperties: { type: 'string', default: '' }, description: 'Unstructured key value map stored with the object.' },
        finalizers: { type: 'array', items: { type: 'string', default: '' }, description: 'Must be empty before the object is deleted from the store.', 'x-kubernetes-list-type': 'set' },
        ownerReferences: {
          type: 'array', items: { default: {}, allOf: [ref(`${META}.OwnerReference`)] },
          description: 'Objects this object depends on; when all are deleted, it is garbage collected.',
          'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['uid'],
        },
        managedFields: {
          type: 'array', items: { default: {}, allOf: [ref(`${META}.ManagedFieldsEntry`)] },
          description: 'Which field manager (kubectl, a controller) manages which fields (server-side apply).',
        },
      },
    },
    [`${META}.OwnerReference`]: {
      type: 'object', required: ['apiVersion', 'kind', 'name', 'uid'],
      description: 'Enough information to identify an owning object in the same namespace.',
      properties: {
        apiVersion: str('API version of the referent.'), kind: str('Kind of the referent.'), name: str('Name of the referent.'), uid: str('UID of the referent.'),
        controller: { type: 'boolean', description: 'The referent is the managing controller.' },
        blockOwnerDeletion: { type: 'boolean', description: 'The owner cannot be deleted from the store until this reference is removed.' },
      },
      'x-kubernetes-map-type': 'atomic',
    },
    [`${META}.ManagedFieldsEntry`]: {
      type: 'object',
      description: 'A workflow-id, a FieldSet and the group version of the resource that the fieldset applies to.',
      properties: {
        manager: str('The workflow managing these fields.'), operation: str('Apply or Update.'), apiVersion: str('Version of the resource.'),
        time: { ...str('When the entry was last changed.'), format: 'date-time' }, fieldsType: str('FieldsV1.'),
        fieldsV1: { type: 'object', description: 'The set of fields, as a trie of "f:" keys.' }, subresource: str('The subresource written, if any.'),
      },
    },
    [`${META}.ListMeta`]: {
      type: 'object', description: 'Metadata that synthetic resources must have, including lists.',
      properties: { resourceVersion: str('Version of the list.'), continue: str('Token for the next page.'), remainingItemCount: { type: 'integer', format: 'int64' } },
    },
    [`${META}.Patch`]: { type: 'object', description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.' },
    [`${META}.Status`]: {
      type: 'object', description: 'Status is a return value for calls that do not return other objects.',
      properties: {
        apiVersion: { type: 'string' }, kind: { type: 'string' }, code: { type: 'integer', format: 'int32' }, message: { type: 'string' },
        reason: { type: 'string' }, status: { type: 'string' }, details: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        metadata: { default: {}, allOf: [ref(`${META}.ListMeta`)] },
      },
    },
    [`${META}.DeleteOptions`]: {
      type: 'object', description: 'Options for a delete.',
      properties: {
        apiVersion: { type: 'string' }, kind: { type: 'string' }, propagationPolicy: { type: 'string' },
        dryRun: { type: 'array', items: { type: 'string' } }, gracePeriodSeconds: { type: 'integer', format: 'int64' },
        preconditions: { type: 'object', properties: { uid: { type: 'string' }, resourceVersion: { type: 'string' } } },
      },
    },
    [`${META}.WatchEvent`]: {
      type: 'object', required: ['type', 'object'],
      properties: { type: { type: 'string' }, object: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
    },
    'io.k8s.api.autoscaling.v1.Scale': {
      type: 'object', description: 'Scale represents a scaling request for a resource.',
      properties: {
        apiVersion: { type: 'string' }, kind: { type: 'string' },
        metadata: { default: {}, allOf: [ref(`${META}.ObjectMeta`)] },
        spec: { type: 'object', properties: { replicas: { type: 'integer', format: 'int32', description: 'Desired number of replicas.' } } },
        status: { type: 'object', required: ['replicas'], properties: { replicas: { type: 'integer', format: 'int32' }, selector: { type: 'string' } } },
      },
      'x-kubernetes-group-version-kind': [{ group: 'autoscaling', kind: 'Scale', version: 'v1' }],
    },
  };
}

/** The CRD's schema with Kubernetes' standard apiVersion/kind/metadata fields, as the apiserver publishes it. */
function resourceSchema(rt: ResourceType): Obj {
  const schema = structuredClone(rt.schema) as Obj;
  const props = { ...((schema.properties as Obj | undefined) ?? {}) };
  props.apiVersion = str('APIVersion defines the versioned schema of this representation of an object.');
  props.kind = str('Kind is a string value representing the REST resource this object represents.');
  props.metadata = { description: "Standard object's metadata.", allOf: [ref(`${META}.ObjectMeta`)] };
  return { ...schema, properties: props, 'x-kubernetes-group-version-kind': [{ group: rt.group, kind: rt.kind, version: rt.version }] };
}

function listSchema(rt: ResourceType): Obj {
  return {
    type: 'object', required: ['items'], description: `${rt.listKind} is a list of ${rt.kind}`,
    properties: {
      apiVersion: { type: 'string' }, kind: { type: 'string' },
      items: { type: 'array', items: ref(schemaName(rt)), description: `List of ${rt.plural}.` },
      metadata: { description: 'Standard list metadata.', allOf: [ref(`${META}.ListMeta`)] },
    },
    'x-kubernetes-group-version-kind': [{ group: rt.group, kind: rt.listKind, version: rt.version }],
  };
}

const query = (name: string, description: string, schema: Obj = { type: 'string', uniqueItems: true }) => ({ name, in: 'query', description, schema });
const pathParam = (name: string, description: string) => ({ name, in: 'path', description, required: true, schema: { type: 'string', uniqueItems: true } });

const DRY_RUN = query('dryRun', 'When present (All), modifications are not persisted.');
const FIELD_MANAGER = query('fieldManager', 'The name of the actor making the change; required for apply (application/apply-patch+yaml).');
const FIELD_VALIDATION = query('fieldValidation', 'How unknown fields are handled: Strict (refused, the default), Warn (dropped with a Warning header) or Ignore (dropped).');
const FORCE = query('force', 'Apply only: take over fields other managers own instead of failing with a conflict.', { type: 'boolean', uniqueItems: true });
const LIST_PARAMS = [
  query('labelSelector', 'A selector on the objects\' labels.'), query('fieldSelector', 'A selector on the objects\' fields.'),
  query('limit', 'Page size.', { type: 'integer', uniqueItems: true }), query('continue', 'Token of the next page.'),
  query('resourceVersion', 'List or watch from this version.'), query('watch', 'Stream changes.', { type: 'boolean', uniqueItems: true }),
  query('allowWatchBookmarks', 'Send BOOKMARK events.', { type: 'boolean', uniqueItems: true }),
  query('timeoutSeconds', 'End the watch after this many seconds.', { type: 'integer', uniqueItems: true }),
];
const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];

function json(schema: Obj) {
  return { content: { 'application/json': { schema }, 'application/yaml': { schema } } };
}

function operation(rt: ResourceType, action: string, id: string, extra: Obj, responseSchema: Obj, gvk = { group: rt.group, version: rt.version, kind: rt.kind }): Obj {
  return {
    tags: [`${rt.group.split('.')[0]}_${rt.version}`], operationId: id,
    responses: { '200': { description: 'OK', ...json(responseSchema) }, '401': { description: 'Unauthorized' } },
    'x-kubernetes-action': action, 'x-kubernetes-group-version-kind': gvk, ...extra,
  };
}

function bodyOf(schema: Obj, types = ['application/json', 'application/yaml']) {
  return { requestBody: { required: true, content: Object.fromEntries(types.map((t) => [t, { schema }])) } };
}

function pathsOf(rt: ResourceType): Record<string, Obj> {
  const base = `/apis/${rt.group}/${rt.version}`;
  const coll = rt.namespaced ? `${base}/namespaces/{namespace}/${rt.plural}` : `${base}/${rt.plural}`;
  const item = `${coll}/{name}`;
  const nsParam = rt.namespaced ? [pathParam('namespace', 'object name and auth scope, a drover Cluster')] : [];
  const nameParam = pathParam('name', `name of the ${rt.kind}`);
  const pretty = query('pretty', 'If true, the output is pretty printed.');
  const self = ref(schemaName(rt));
  const K = rt.kind;
  const scope = rt.namespaced ? 'Namespaced' : '';
  const writeParams = { parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION] };
  const patchOp = (id: string, schema: Obj, gvk?: { group: string; version: string; kind: string }) => operation(rt, 'patch', id, {
    description: `partially update the specified ${K}`,
    parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION, FORCE],
    ...bodyOf(ref(`${META}.Patch`), PATCH_TYPES),
  }, schema, gvk);
  const paths: Record<string, Obj> = {
    [coll]: {
      get: operation(rt, 'list', `list${scope}${K}`, { description: `list objects of kind ${K}`, parameters: LIST_PARAMS }, ref(`${schemaName(rt)}List`)),
      post: operation(rt, 'post', `create${scope}${K}`, { description: `create a ${K}`, ...writeParams, ...bodyOf(self) }, self),
      delete: operation(rt, 'deletecollection', `deletecollection${scope}${K}`, { description: `delete collection of ${K}`, parameters: [...LIST_PARAMS, DRY_RUN] }, ref(`${META}.Status`)),
      parameters: [...nsParam, pretty],
    },
    [item]: {
      get: operation(rt, 'get', `read${scope}${K}`, { description: `read the specified ${K}` }, self),
      put: operation(rt, 'put', `replace${scope}${K}`, { description: `replace the specified ${K}`, ...writeParams, ...bodyOf(self) }, self),
      patch: patchOp(`patch${scope}${K}`, self),
      delete: operation(rt, 'delete', `delete${scope}${K}`, { description: `delete a ${K}`, parameters: [DRY_RUN, query('propagationPolicy', 'Orphan, Background or Foreground.')] }, ref(`${META}.Status`)),
      parameters: [nameParam, ...nsParam, pretty],
    },
  };
  if (rt.namespaced) {
    paths[`${base}/${rt.plural}`] = {
      get: operation(rt, 'list', `list${K}ForAllNamespaces`, { description: `list objects of kind ${K} in every namespace`, parameters: LIST_PARAMS }, ref(`${schemaName(rt)}List`)),
      parameters: [pretty],
    };
  }
  if (rt.hasStatus) {
    paths[`${item}/status`] = {
      get: operation(rt, 'get', `read${scope}${K}Status`, { description: `read status of the specified ${K}` }, self),
      put: operation(rt, 'put', `replace${scope}${K}Status`, { description: `replace status of the specified ${K}`, ...writeParams, ...bodyOf(self) }, self),
      patch: patchOp(`patch${scope}${K}Status`, self),
      parameters: [nameParam, ...nsParam, pretty],
    };
  }
  if (rt.scale) {
    const scale = ref('io.k8s.api.autoscaling.v1.Scale');
    const gvk = { group: 'autoscaling', version: 'v1', kind: 'Scale' };
    paths[`${item}/scale`] = {
      get: operation(rt, 'get', `read${scope}${K}Scale`, { description: `read scale of the specified ${K}` }, scale, gvk),
      put: operation(rt, 'put', `replace${scope}${K}Scale`, { description: `replace scale of the specified ${K}`, ...writeParams, ...bodyOf(scale) }, scale, gvk),
      patch: patchOp(`patch${scope}${K}Scale`, scale, gvk),
      parameters: [nameParam, ...nsParam, pretty],
    };
  }
  return paths;
}

function served(registry: ResourceRegistry): ResourceType[] {
  return registry.all().filter((rt) => rt.group === GROUP && rt.version === VERSION).sort((a, b) => a.kind.localeCompare(b.kind));
}

/** The OpenAPI v3 document of drover.dev/v1alpha1. */
export function groupVersionDocument(registry: ResourceRegistry, serverVersion: string): Obj {
  const schemas: Record<string, Obj> = metaSchemas();
  let paths: Record<string, Obj> = {};
  for (const rt of served(registry)) {
    schemas[schemaName(rt)] = resourceSchema(rt);
    schemas[`${schemaName(rt)}List`] = listSchema(rt);
    paths = { ...paths, ...pathsOf(rt) };
  }
  return {
    openapi: '3.0.0', info: { title: 'drover', version: serverVersion }, paths,
    components: { schemas, securitySchemes: { BearerToken: { type: 'apiKey', name: 'authorization', in: 'header' } } },
    security: [{ BearerToken: [] }],
  };
}

export const GROUP_VERSION_PATH = `apis/${GROUP}/${VERSION}`;

/** Built once per server: the documents only change with the CRDs, which are read at start-up. */
export function openApiV3(registry: ResourceRegistry, serverVersion: string) {
  const doc = groupVersionDocument(registry, serverVersion);
  const text = JSON.stringify(doc);
  const hash = createHash('sha512').update(text).digest('hex').slice(0, 128).toUpperCase();
  return {
    index: { paths: { [GROUP_VERSION_PATH]: { serverRelativeURL: `/openapi/v3/${GROUP_VERSION_PATH}?hash=${hash}` } } },
    groupVersion: { path: `/openapi/v3/${GROUP_VERSION_PATH}`, text, hash },
  };
}
