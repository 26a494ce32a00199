// Per-request behaviour a client asks for on the drover.dev resources: the rendering it accepts (JSON, a Table
// for kubectl get, partial metadata), field validation with warnings, and the field manager its writes are
// recorded under (managedFields).
import type { Request, Response } from 'express';
import type { WatchEvent } from '../core/types.ts';
import type { Verb } from './authorize.ts';
import { includeObjectOf, negotiateObjectRendering } from './content-negotiation.ts';
import type { ApiContext } from './context.ts';
import { fieldValidationOf, withFieldValidation } from './field-validation.ts';
import type { InstrumentedStore } from './instrumented-store.ts';
import { recordUpdate, validEntries } from './managed-fields.ts';
import { BadRequest } from '../core/errors.ts';
import { deepEqual, isPlainObject } from '../core/patch.ts';
import { isApplyPatch } from './patch-body.ts';
import type { ResourceTarget } from './resource-path.ts';
import { fieldManagerOf, nowRfc3339 } from './server-side-apply.ts';
import { crdTableSpec, renderReply, renderWatchEvent } from './table.ts';

const WRITES: ReadonlySet<Verb> = new Set(['create', 'update', 'patch']);

/** Kubernetes names an update without ?fieldManager= after the client: the User-Agent up to its first '/'. */
export function managerFromUserAgent(ua: string | undefined): string {
  const name = (ua ?? '').split('/')[0].trim().replace(/[^\x20-\x7e]/g, '').slice(0, 128);
  return name || 'unknown';
}

/**
 * Writes of `t.rt` record who changed which fields. A request that names no fieldManager is recorded (under its
 * User-Agent) only on objects that already have managedFields, so objects only drover's own clients touch stay
 * as they were.
 */
function withManagedFields(ctx: ApiContext, t: ResourceTarget, manager: string | undefined, fallback: string): ApiContext {
  const inner = ctx.store;
  const who = (name: string) => ({ manager: name, apiVersion: t.rt.apiVersion, time: nowRfc3339(), ...(t.subresource ? { subresource: t.subresource } : {}) });
  const overrides: Pick<InstrumentedStore, 'create' | 'update'> = {
    create: async (key, obj) => {
      if (key !== t.rt.key || !manager) return inner.create(key, obj);
      return inner.create(key, { ...obj, metadata: { ...obj.metadata, managedFields: recordUpdate(undefined, obj, who(manager)) } });
    },
    update: async (key, next) => {
      if (key !== t.rt.key) return inner.update(key, next);
      const current = await inner.get(key, next.metadata.namespace, next.metadata.name);
      // managedFields the client rewrote itself (kubectl moving client-side apply ownership to server-side apply) are taken as given
      const given = next.metadata.managedFields;
      const base = given !== undefined && !deepEqual(given, current.metadata.managedFields) ? validEntries(given) : undefined;
      const name = manager ?? (current.metadata.managedFields?.length || base?.length ? fallback : undefined);
      const managedFields = name ? recordUpdate(current, next, who(name), base) : base;
      const meta = { ...next.metadata };
      if (managedFields?.length) meta.managedFields = managedFields;
      else delete meta.managedFields;
      return inner.update(key, { ...next, metadata: meta });
    },
  };
  return { ...ctx, store: Object.assign(Object.create(inner) as InstrumentedStore, overrides) };
}

/** The context the handlers of this request use. */
export function scopeRequest(ctx: ApiContext, req: Request, res: Response, t: ResourceTarget, verb: Verb): ApiContext {
  if (!WRITES.has(verb)) return ctx;
  const query = req.query as Record<string, unknown>;
  const warned = new Set<string>();
  const warn = (message: string) => {
    if (warned.has(message) || res.headersSent) return;
    warned.add(message);
    res.append('Warning', `299 - ${JSON.stringify(message)}`);
  };
  let scoped = withFieldValidation(ctx, fieldValidationOf(query), warn);
  if (t.subresource !== 'status' && !isApplyPatch(req)) {
    scoped = withManagedFields(scoped, t, fieldManagerOf(query), managerFromUserAgent(req.headers['user-agent']));
  }
  return scoped;
}

/** DeleteOptions.dryRun: `["All"]` or none; anything else is a 400, as in Kubernetes. */
export function dryRunInDeleteOptions(options: unknown): boolean {
  if (!isPlainObject(options) || options.dryRun === undefined || options.dryRun === null) return false;
  const v = options.dryRun;
  if (!Array.isArray(v) || v.some((x) => x !== 'All')) throw new BadRequest(`DeleteOptions.dryRun must be ["All"] or empty, got ${JSON.stringify(v).slice(0, 100)}`);
  return v.length > 0;
}

const rendersAsTable = (t: ResourceTarget) => t.subresource === undefined || t.subresource === 'status';

/** A get or list answer as the client's Accept asks (a Table for kubectl get); anything else unchanged. */
export function replyFor(req: Request, t: ResourceTarget, verb: Verb, body: unknown): unknown {
  if ((verb !== 'get' && verb !== 'list') || !rendersAsTable(t)) return body;
  const rendering = negotiateObjectRendering(req.headers.accept);
  if (rendering.as === 'json') return body;
  return renderReply(body, rendering, crdTableSpec(t.rt), includeObjectOf(req.query as Record<string, unknown>));
}

/** For serveWatch: each event as the client's Accept asks; undefined when plain JSON. */
export function watchRendererFor(req: Request, t: ResourceTarget): ((ev: WatchEvent) => WatchEvent) | undefined {
  const rendering = negotiateObjectRendering(req.headers.accept);
  if (rendering.as === 'json') return undefined;
  const spec = crdTableSpec(t.rt);
  const include = includeObjectOf(req.query as Record<string, unknown>);
  return (ev: WatchEvent) => renderWatchEvent(ev, rendering, spec, include);
}
