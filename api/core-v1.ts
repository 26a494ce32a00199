// The slice of the core v1 API that kubectl needs from drover, read-only and mapped from drover objects:
// Namespaces are Clusters (`kubectl get ns`), Events are drover Events (`kubectl describe`, `kubectl get events`).
//   GET /api/v1/namespaces[/NAME]                        list, get, ?watch=true
//   GET /api/v1/events, /api/v1/namespaces/NS/events[/NAME]  list, get, ?watch=true (fieldSelector involvedObject.*)
import { Router } from 'express';
import type { Request, Response } from 'express';
import { MethodNotAllowed, NotFound, isApiError } from '../core/errors.ts';
import { formatAge } from '../core/printer.ts';
import type { PrinterColumn, ResourceType } from '../core/resources.ts';
import type { KubeObject, WatchEvent } from '../core/types.ts';
import type { Principal } from './auth.ts';
import { authorize, scopedListName, type Verb } from './authorize.ts';
import { includeObjectOf, negotiateObjectRendering } from './content-negotiation.ts';
import type { ApiContext } from './context.ts';
import { getObject, listObjects } from './object-handlers.ts';
import { checkUrlName, type ResourceTarget } from './resource-path.ts';
import { renderReply, renderWatchEvent, type TableSpec } from './table.ts';
import { serveWatch } from './watch.ts';

type Obj = Record<string, unknown>;

const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** A Cluster seen as a core/v1 Namespace (its name is the namespace of everything in it). */
export function namespaceOf(cluster: KubeObject): KubeObject {
  const m = cluster.metadata;
  return {
    apiVersion: 'v1', kind: 'Namespace',
    metadata: {
      name: m.name, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp,
      ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
      labels: { ...(m.labels ?? {}), [NAMESPACE_NAME_LABEL]: m.name },
      ...(m.annotations ? { annotations: m.annotations } : {}),
    },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: m.deletionTimestamp ? 'Terminating' : 'Active' },
  };
}

/** A drover Event in core/v1 shape: the fields already match, only the identity and the reporter's name differ. */
export function coreEventOf(ev: KubeObject): KubeObject {
  const { apiVersion: _a, kind: _k, metadata, reportingController, spec: _s, status: _st, ...fields } = ev;
  const { managedFields: _mf, ...meta } = metadata;
  return {
    apiVersion: 'v1', kind: 'Event', metadata: meta, ...fields,
    reportingComponent: typeof reportingController === 'string' ? reportingController : '',
    reportingInstance: typeof fields.reportingInstance === 'string' ? fields.reportingInstance : '',
  };
}

const NAME_COLUMN: PrinterColumn = { name: 'Name', type: 'string', jsonPath: '.metadata.name' };
const age = (ts: unknown, now: number) => (typeof ts === 'string' && !Number.isNaN(Date.parse(ts)) ? formatAge(now - Date.parse(ts)) : '<unknown>');

export const namespaceTable: TableSpec = {
  columns: [NAME_COLUMN, { name: 'Status', type: 'string', jsonPath: '.status.phase' }, { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
  row: (o, now) => [o.metadata.name, String((o.status as Obj | undefined)?.phase ?? ''), age(o.metadata.creationTimestamp, now)],
};

/** kubectl's own event columns (LAST SEEN, TYPE, REASON, OBJECT, MESSAGE; more with -o wide). */
export const eventTable: TableSpec = {
  columns: [
    { name: 'Last Seen', type: 'string', jsonPath: '.lastTimestamp' },
    { name: 'Type', type: 'string', jsonPath: '.type' },
    { name: 'Reason', type: 'string', jsonPath: '.reason' },
    { name: 'Object', type: 'string', jsonPath: '.involvedObject.name' },
    { name: 'Subobject', type: 'string', jsonPath: '.involvedObject.fieldPath', priority: 1 },
    { name: 'Source', type: 'string', jsonPath: '.source.component', priority: 1 },
    { name: 'Message', type: 'string', jsonPath: '.message' },
    { name: 'First Seen', type: 'string', jsonPath: '.firstTimestamp', priority: 1 },
    { name: 'Count', type: 'integer', jsonPath: '.count', priority: 1 },
    { name: 'Name', type: 'string', jsonPath: '.metadata.name', priority: 1 },
  ],
  row: (o, now) => {
    const inv = (o.involvedObject ?? {}) as Obj;
    const last = o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp;
    const first = o.firstTimestamp ?? last;
    const count = typeof o.count === 'number' ? o.count : 1;
    const lastSeen = count > 1 ? `${age(last, now)} (x${count} over ${age(first, now)})` : age(last, now);
    const source = (o.source ?? {}) as Obj;
    return [
      lastSeen, o.type ?? '', o.reason ?? '', `${String(inv.kind ?? '').toLowerCase()}/${String(inv.name ?? '')}`,
      inv.fieldPath ?? '', source.component ?? o.reportingComponent ?? '', o.message ?? '', age(first, now), count, o.metadata.name,
    ];
  },
};

interface CoreView {
  plural: 'namespaces' | 'events';
  rt: ResourceType;
  map(obj: KubeObject): KubeObject;
  table: TableSpec;
  kind: string;
}

function isWatch(req: Request): boolean {
  return req.query.watch === 'true' || req.query.watch === '1';
}

function readOnly(res: Response, what: string): never {
  res.setHeader('Allow', 'GET');
  throw new MethodNotAllowed(`${what} are read-only here: ${what === 'namespaces'
    ? 'a namespace is a drover Cluster; create or delete the Cluster (kubectl apply -f cluster.yaml, kubectl delete cluster NAME)'
    : 'events are written by drover itself (events.drover.dev)'}`);
}

async function serve(ctx: ApiContext, view: CoreView, req: Request, res: Response, namespace: string | undefined, name: string | undefined): Promise<void> {
  const principal = res.locals.principal as Principal;
  const watch = isWatch(req);
  const verb: Verb = name !== undefined ? (watch ? 'watch' : 'get') : watch ? 'watch' : 'list';
  if (namespace !== undefined) checkUrlName(namespace, 'namespace');
  if (name !== undefined) checkUrlName(name, 'name', view.plural === 'namespaces');
  res.locals.verb = verb;
  res.locals.resource = view.plural;
  const clusterScoped = view.plural === 'namespaces';
  authorize(principal, {
    verb, plural: view.rt.plural, group: view.rt.group, namespace, name, clusterScoped,
    ...(typeof req.query.fieldSelector === 'string' ? { fieldSelector: req.query.fieldSelector } : {}),
  });
  const only = verb === 'list' || verb === 'watch' ? scopedListName(principal, view.rt.plural) : undefined;
  const t: ResourceTarget = { rt: view.rt, namespace, name, watchPath: false, ...(only !== undefined ? { onlyName: only } : {}) };
  const rendering = negotiateObjectRendering(req.headers.accept);
  const include = includeObjectOf(req.query as Obj);
  if (verb === 'watch') {
    await serveWatch(ctx, t, req, res, (ev: WatchEvent) => {
      const mapped = ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED' ? { type: ev.type, object: view.map(ev.object) } : ev;
      return renderWatchEvent(mapped, rendering, view.table, include);
    });
    return;
  }
  let body: unknown;
  if (verb === 'get') {
    try {
      body = view.map((await getObject(ctx, t)).body as KubeObject);
    } catch (e) {
      if (!isApiError(e, 404)) throw e;
      throw new NotFound(`${view.plural} "${name}" not found`, { name, kind: view.plural }, { cause: e });
    }
  } else {
    const list = (await listObjects(ctx, t, req.query as Obj)).body as { metadata: Obj; items: KubeObject[] };
    body = { apiVersion: 'v1', kind: `${view.kind}List`, metadata: list.metadata, items: list.items.map(view.map) };
  }
  res.json(renderReply(body, rendering, view.table, include));
}

export function coreV1Routes(ctx: ApiContext): Router {
  const router = Router();
  const clusterRt = ctx.registry.resolve('clusters.drover.dev');
  const eventRt = ctx.registry.resolve('events.drover.dev');
  if (!clusterRt || !eventRt) return router;
  const namespaces: CoreView = { plural: 'namespaces', rt: clusterRt, map: namespaceOf, table: namespaceTable, kind: 'Namespace' };
  const events: CoreView = { plural: 'events', rt: eventRt, map: coreEventOf, table: eventTable, kind: 'Event' };

  router.all('/api/v1/namespaces', async (req, res) => {
    if (req.method !== 'GET') readOnly(res, 'namespaces');
    await serve(ctx, namespaces, req, res, undefined, undefined);
  });
  router.all('/api/v1/namespaces/:name', async (req, res) => {
    if (req.method !== 'GET') readOnly(res, 'namespaces');
    await serve(ctx, namespaces, req, res, undefined, req.params.name as string);
  });
  router.all('/api/v1/events', async (req, res) => {
    if (req.method !== 'GET') readOnly(res, 'events');
    await serve(ctx, events, req, res, undefined, undefined);
  });
  router.all('/api/v1/namespaces/:namespace/events', async (req, res) => {
    if (req.method !== 'GET') readOnly(res, 'events');
    await serve(ctx, events, req, res, req.params.namespace as string, undefined);
  });
  router.all('/api/v1/namespaces/:namespace/events/:name', async (req, res) => {
    if (req.method !== 'GET') readOnly(res, 'events');
    await serve(ctx, events, req, res, req.params.namespace as string, req.params.name as string);
  });
  return router;
}

/** The core v1 APIResourceList: only what drover maps. */
export function coreV1Resources() {
  return [
    { name: 'events', singularName: 'event', namespaced: true, kind: 'Event', verbs: ['get', 'list', 'watch'], shortNames: ['ev'] },
    { name: 'namespaces', singularName: 'namespace', namespaced: false, kind: 'Namespace', verbs: ['get', 'list', 'watch'], shortNames: ['ns'] },
  ];
}
