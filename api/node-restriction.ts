// NodeRestriction: a node credential reads only its own Node, its Cluster and what is bound to it,
// and writes only their status and its own Node (like Kubernetes' NodeRestriction admission).
import { isDeepStrictEqual } from 'node:util';
import type { Request } from 'express';
import { isPlainObject } from '../core/patch.ts';
import { parseFieldSelector } from '../core/selectors.ts';
import type { KubeObject } from '../core/types.ts';
import type { Principal } from './auth.ts';
import type { Attributes, NodeFacts, Verb } from './authorize.ts';
import type { ApiContext } from './context.ts';
import { readObjectBody, readPatchBody } from './request-body.ts';
import type { ResourceTarget } from './resource-path.ts';

/** Kinds a node reaches through their binding: the field that names the node. */
export const BINDING_FIELD: Readonly<Record<string, string>> = {
  containers: 'status.nodeName',
  agents: 'status.nodeName',
  tasks: 'spec.nodeName',
};

const READS: ReadonlySet<Verb> = new Set(['get', 'list', 'watch']);

function selects(fieldSelector: string | undefined, path: string, value: string): boolean {
  if (!fieldSelector) return false;
  return parseFieldSelector(fieldSelector).requirements.some((r) => r.path === path && r.operator === '=' && r.value === value);
}

function fieldOf(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split('.')) cur = isPlainObject(cur) ? cur[k] : undefined;
  return cur;
}

/** JSON-comparable copy: drops undefined members so `{a: undefined}` equals `{}`. */
function plain(v: unknown): unknown {
  return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
}

function onlyKeys(obj: unknown, allowed: readonly string[]): boolean {
  return isPlainObject(obj) && Object.keys(obj).every((k) => allowed.includes(k));
}

/** A write to a Node's main resource may change only metadata.labels and spec.labels (registration). */
function onlyLabels(a: Attributes): boolean {
  if (a.verb === 'patch' && a.patchType === 'json') {
    return Array.isArray(a.body) && a.body.every((op) => isPlainObject(op)
      && (op.op === 'test' || /^\/(metadata|spec)\/labels(\/|$)/.test(String(op.path))));
  }
  if (a.verb === 'patch') {
    const b = a.body;
    if (!onlyKeys(b, ['apiVersion', 'kind', 'metadata', 'spec']) || !isPlainObject(b)) return false;
    return (b.metadata === undefined || onlyKeys(b.metadata, ['labels', 'resourceVersion', 'name', 'namespace']))
      && (b.spec === undefined || onlyKeys(b.spec, ['labels']));
  }
  // update (PUT): everything but the labels must equal the stored object
  const next = a.body as KubeObject | undefined;
  const cur = a.object;
  if (!isPlainObject(next) || !cur) return false;
  const rest = (o: KubeObject) => plain({
    spec: { ...(o.spec ?? {}), labels: undefined },
    annotations: o.metadata?.annotations, finalizers: o.metadata?.finalizers, ownerReferences: o.metadata?.ownerReferences,
  });
  return isDeepStrictEqual(rest(next), rest(cur));
}

/** A status write must leave the binding (status.nodeName) on this node. */
function keepsBinding(a: Attributes, self: string): boolean {
  const b = a.body;
  if (a.verb === 'patch' && a.patchType === 'json') {
    return Array.isArray(b) && b.every((op) => {
      if (!isPlainObject(op) || op.op === 'test') return true;
      const path = String(op.path);
      if (path === '/status/nodeName') return op.op !== 'remove' && op.value === self;
      if (path === '/status' || path === '') return fieldOf(op.value, path === '' ? 'status.nodeName' : 'nodeName') === self;
      return true;
    });
  }
  if (a.verb === 'patch') {
    if (!isPlainObject(b)) return true; // malformed: the handler answers 400
    if (!('status' in b)) return true;
    if (b.status === null) return false;
    return !isPlainObject(b.status) || !('nodeName' in b.status) || b.status.nodeName === self;
  }
  return fieldOf(b, 'status.nodeName') === self;
}

/**
 * Why a node principal may not do this, as the tail of the denial message
 * (`without fieldSelector spec.nodeName=node-a`), or undefined when it may.
 * The Cluster scoping (own namespace only) is checked by authorize() before this.
 */
export function nodeRestriction(p: Principal, a: Attributes): string | undefined {
  const self = p.node;
  if (!self || !p.cluster) return '(the credential is not bound to a node of a Cluster)';
  const read = READS.has(a.verb);
  switch (a.plural) {
    case 'clusters':
      return read && !a.subresource && a.name !== undefined && a.name === p.cluster ? undefined : `(a node may only read its own Cluster "${p.cluster}")`;
    case 'nodes': {
      if (a.verb === 'list' || (a.verb === 'watch' && a.name === undefined)) {
        return selects(a.fieldSelector, 'metadata.name', self) ? undefined : `without fieldSelector metadata.name=${self}`;
      }
      if (a.verb === 'create') {
        const name = fieldOf(a.body, 'metadata.name');
        return !a.subresource && name === self ? undefined : `other than its own Node "${self}"`;
      }
      if (a.name !== self) return `(a node may only read and write its own Node "${self}")`;
      if (read) return undefined;
      if (a.verb !== 'update' && a.verb !== 'patch') return `(a node may not ${a.verb} Nodes)`;
      if (a.subresource === 'status') return undefined;
      return !a.subresource && onlyLabels(a) ? undefined : '(a node may change only the status and the labels of its own Node)';
    }
    case 'containers':
    case 'agents':
    case 'tasks': {
      const field = BINDING_FIELD[a.plural];
      if (a.verb === 'list' || a.verb === 'watch') {
        return selects(a.fieldSelector, field, self) ? undefined : `without fieldSelector ${field}=${self}`;
      }
      if (a.verb === 'create' && a.plural === 'containers' && !a.subresource) {
        // Discovery: a node registers a container it found on its engine, pinned to itself and unmanaged.
        return fieldOf(a.body, 'spec.managed') === false && fieldOf(a.body, 'spec.nodeName') === self
          ? undefined : `(a node may only create Containers it discovered: spec.managed=false and spec.nodeName=${self})`;
      }
      const bound = a.object !== undefined && fieldOf(a.object, field) === self;
      const where = a.object === undefined ? '' : ` (bound to ${JSON.stringify(String(fieldOf(a.object, field) ?? '') || 'no node')})`;
      const notBound = `that is not bound to it${where}`;
      if (a.verb === 'get') return bound ? undefined : notBound;
      const statusWrite = (a.verb === 'update' || a.verb === 'patch') && a.subresource === 'status';
      const logWrite = a.verb === 'create' && a.subresource === 'log' && (a.plural === 'containers' || a.plural === 'agents');
      if (!statusWrite && !logWrite) return `(a node writes only the status of what is bound to it)`;
      if (!bound) return notBound;
      if (statusWrite && a.plural !== 'tasks' && !keepsBinding(a, self)) return `(a node may not change status.nodeName)`;
      return undefined;
    }
    case 'events':
      return a.verb === 'create' ? undefined : '(a node may only create Events)';
    default:
      return `(a node may not use ${a.plural})`;
  }
}

/**
 * What the NodeRestriction check needs beyond the URL, read for node principals only: the
 * fieldSelector, the request body, and the stored object a get/update/patch names.
 * A missing object answers 404 as usual (the node's own namespace only, so nothing leaks).
 */
export async function nodeRequestFacts(ctx: ApiContext, p: Principal, t: ResourceTarget, verb: Verb, req: Request): Promise<NodeFacts> {
  if (p.role !== 'node') return {};
  const facts: NodeFacts = {};
  const fs = req.query.fieldSelector;
  if (typeof fs === 'string' && fs !== '') facts.fieldSelector = fs;
  if (t.namespace !== p.cluster && t.rt.namespaced) return facts; // authorize() denies it anyway
  if (verb === 'create' || verb === 'update') facts.body = readObjectBody(req);
  if (verb === 'patch') {
    const body = readPatchBody(req);
    facts.body = body.patch;
    facts.patchType = body.type;
  }
  const needsObject = t.name !== undefined && (verb === 'get' || verb === 'update' || verb === 'patch')
    && (BINDING_FIELD[t.rt.plural] !== undefined || (t.rt.plural === 'nodes' && verb === 'update' && !t.subresource && t.name === p.node));
  if (needsObject) facts.object = await ctx.store.get(t.rt.key, t.namespace, t.name!);
  return facts;
}
