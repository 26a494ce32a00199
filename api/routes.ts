// Dispatch of /apis/drover.dev/v1alpha1/...: path → target, method → verb, authorize, handle.
import type { Request, RequestHandler, Response } from 'express';
import { BadRequest, MethodNotAllowed } from '../core/errors.ts';
import type { Principal } from './auth.ts';
import { authorize, scopedListName } from './authorize.ts';
import { nodeRequestFacts } from './node-restriction.ts';
import type { Verb } from './authorize.ts';
import type { ApiContext } from './context.ts';
import { apiResourceList } from './discovery.ts';
import {
  createObject, deleteCollection, deleteObject, getObject, listObjects, parseDeleteOptions, patchObject, replaceObject,
} from './object-handlers.ts';
import type { Reply } from './object-handlers.ts';
import { hasBody, readObjectBody } from './request-body.ts';
import { parseResourcePath } from './resource-path.ts';
import type { ResourceTarget } from './resource-path.ts';
import { getScale, patchScale, replaceScale, replaceStatus, patchStatus } from './subresource-handlers.ts';
import { serveWatch } from './watch.ts';
import { readAnyPatchBody } from './patch-body.ts';
import { dryRunInDeleteOptions, replyFor, scopeRequest, watchRendererFor } from './request-scope.ts';
import { fieldManagerOf, forceOf, serverSideApply } from './server-side-apply.ts';

function methodNotAllowed(res: Response, method: string, allowed: string[]): never {
  res.setHeader('Allow', allowed.join(', '));
  throw new MethodNotAllowed(`the server does not allow method ${method} on this resource (allowed: ${allowed.join(', ')})`);
}

function isWatch(req: Request, t: ResourceTarget): boolean {
  const w = req.query.watch;
  return t.watchPath || w === 'true' || w === '1';
}

/** Kubernetes verb for a method on a target; 405 when the pair is not served. */
function verbOf(req: Request, res: Response, t: ResourceTarget): Verb {
  const m = req.method;
  const watch = isWatch(req, t);
  if (t.watchPath && m !== 'GET') methodNotAllowed(res, m, ['GET']);
  if (t.subresource) {
    const verbs: Record<string, Verb> = { GET: 'get', PUT: 'update', PATCH: 'patch' };
    return verbs[m] ?? methodNotAllowed(res, m, ['GET', 'PUT', 'PATCH']);
  }
  if (t.name !== undefined) {
    const verbs: Record<string, Verb> = { GET: watch ? 'watch' : 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
    return verbs[m] ?? methodNotAllowed(res, m, ['GET', 'PUT', 'PATCH', 'DELETE']);
  }
  // creating a namespaced object needs the namespace in the path
  const canCreate = !t.rt.namespaced || t.namespace !== undefined;
  const verbs: Record<string, Verb> = { GET: watch ? 'watch' : 'list', DELETE: 'deletecollection', ...(canCreate ? { POST: 'create' as Verb } : {}) };
  return verbs[m] ?? methodNotAllowed(res, m, canCreate ? ['GET', 'POST', 'DELETE'] : ['GET', 'DELETE']);
}

function dryRunOf(req: Request): boolean {
  const v = req.query.dryRun;
  if (v === undefined || v === '') return false;
  if (v === 'All') return true;
  throw new BadRequest(`dryRun must be "All", got ${JSON.stringify(v)}`);
}

async function handle(ctx: ApiContext, t: ResourceTarget, verb: Verb, req: Request): Promise<Reply> {
  const dryRun = verb === 'get' || verb === 'list' ? false : dryRunOf(req);
  const query = req.query as Record<string, unknown>;
  switch (t.subresource) {
    case 'status':
      if (verb === 'get') return getObject(ctx, t);
      if (verb === 'update') return replaceStatus(ctx, t, readObjectBody(req), dryRun);
      {
        const p = readAnyPatchBody(req);
        if (p.type === 'apply') return serverSideApply(ctx, t, p.object, { fieldManager: fieldManagerOf(query), force: forceOf(query), dryRun });
        return patchStatus(ctx, t, p.type, p.patch, dryRun);
      }
    case 'scale':
      if (verb === 'get') return getScale(ctx, t);
      if (verb === 'update') return replaceScale(ctx, t, readObjectBody(req), dryRun);
      {
        const p = readAnyPatchBody(req);
        if (p.type === 'apply') return serverSideApply(ctx, t, p.object, { fieldManager: fieldManagerOf(query), force: forceOf(query), dryRun });
        return patchScale(ctx, t, p.type, p.patch, dryRun);
      }
  }
  switch (verb) {
    case 'get': return getObject(ctx, t);
    case 'list': return listObjects(ctx, t, query);
    case 'create': return createObject(ctx, t, readObjectBody(req), dryRun);
    case 'update': return replaceObject(ctx, t, readObjectBody(req), dryRun);
    case 'patch': {
      const p = readAnyPatchBody(req);
      if (p.type === 'apply') return serverSideApply(ctx, t, p.object, { fieldManager: fieldManagerOf(query), force: forceOf(query), dryRun });
      return patchObject(ctx, t, p.type, p.patch, dryRun);
    }
    case 'delete': {
      // kubectl delete --dry-run=server sends dryRun in the DeleteOptions body, not the query
      const options = hasBody(req) ? readObjectBody(req) : undefined;
      return deleteObject(ctx, t, parseDeleteOptions(options, query), dryRun || dryRunInDeleteOptions(options));
    }
    case 'deletecollection': return deleteCollection(ctx, t, query, dryRun || dryRunInDeleteOptions(hasBody(req) ? readObjectBody(req) : undefined));
    case 'watch': throw new Error('unreachable: watch is streamed');
  }
}

export function resourceRouter(ctx: ApiContext): RequestHandler {
  return async (req, res) => {
    const principal = res.locals.principal as Principal;
    if (req.path === '/' || req.path === '') {
      if (req.method !== 'GET') methodNotAllowed(res, req.method, ['GET']);
      res.json(apiResourceList(ctx.registry));
      return;
    }
    const parsed = parseResourcePath(req.path, ctx.registry);
    const verb = verbOf(req, res, parsed);
    const only = verb === 'list' || verb === 'watch' ? scopedListName(principal, parsed.rt.plural) : undefined;
    const t = only !== undefined ? { ...parsed, onlyName: only } : parsed;
    res.locals.verb = verb;
    res.locals.resource = t.subresource ? `${t.rt.plural}/${t.subresource}` : t.rt.plural;
    res.locals.auditTarget = { group: t.rt.group, resource: t.rt.plural, subresource: t.subresource, namespace: t.namespace, name: t.name };
    authorize(principal, {
      verb, plural: t.rt.plural, group: t.rt.group, subresource: t.subresource,
      namespace: t.namespace, name: t.name, clusterScoped: !t.rt.namespaced,
      ...(await nodeRequestFacts(ctx, principal, t, verb, req)),
    });
    if (verb === 'watch') {
      await serveWatch(ctx, t, req, res, watchRendererFor(req, t));
      return;
    }
    const reply = await handle(scopeRequest(ctx, req, res, t, verb), t, verb, req);
    // a create names its object in the body: the audit record takes the name from the reply
    if (verb === 'create') res.locals.auditTarget.name = (reply.body as { metadata?: { name?: string } } | undefined)?.metadata?.name;
    res.status(reply.code).json(replyFor(req, t, verb, reply.body));
  };
}
