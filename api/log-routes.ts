// Container and Agent logs: node agents POST new output (text/plain) for the containers and agents
// bound to them; users GET it back (`tailLines`, `limitBytes`, `follow=true` streams new output).
import express from 'express';
import type { Request, Response, Router } from 'express';
import { BadRequest, Forbidden } from '../core/errors.ts';
import type { KubeObject } from '../core/types.ts';
import type { Principal } from './auth.ts';
import { authorize } from './authorize.ts';
import type { Verb } from './authorize.ts';
import type { ApiContext } from './context.ts';
import { createLogBuffer } from './log-buffer.ts';
import type { LogBuffer } from './log-buffer.ts';
import { checkUrlName } from './resource-path.ts';

export const LOG_PATH = '/apis/drover.dev/v1alpha1/namespaces/:namespace/containers/:name/log';
export const AGENT_LOG_PATH = '/apis/drover.dev/v1alpha1/namespaces/:namespace/agents/:name/log';
/** One POST carries at most this much output; the agent ships every second, so this is plenty. */
export const MAX_LOG_POST_BYTES = 1024 * 1024;

function intParam(req: Request, name: string, min: number): number | undefined {
  const raw = req.query[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new BadRequest(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

export interface LogRoutes {
  router: Router;
  buffer: LogBuffer;
}

export function logRoutes(ctx: ApiContext, buffer: LogBuffer = createLogBuffer()): LogRoutes {
  const router = express.Router();
  mountLogs(ctx, router, buffer, 'Container', LOG_PATH, '');
  // agents share the buffer under their own key space: an Agent may be named like a Container
  mountLogs(ctx, router, buffer, 'Agent', AGENT_LOG_PATH, 'agents:');
  return { router, buffer };
}

function mountLogs(ctx: ApiContext, router: Router, buffer: LogBuffer, kind: 'Container' | 'Agent', path: string, keyPrefix: string): void {
  const rt = ctx.registry.resolve(kind);
  if (!rt) throw new Error(`the ${kind} CRD is missing from crds/`);
  const what = kind.toLowerCase();
  const keyOf = (o: KubeObject) => `${keyPrefix}${o.metadata.namespace}/${o.metadata.name}`;

  // Deleted containers free their buffer (and end followers); started with the first log written.
  let watching: Promise<unknown> | undefined;
  const watchDeletes = () => {
    watching ??= ctx.store.watch(rt.key, {}, (ev) => {
      if (ev.type === 'DELETED') buffer.drop(keyOf(ev.object));
    }).catch((e: unknown) => {
      watching = undefined;
      ctx.logger.warn(`log buffer: cannot watch ${what} deletions`, { error: String(e) });
    });
  };

  const target = async (req: Request, res: Response, verb: Verb): Promise<KubeObject> => {
    const principal = res.locals.principal as Principal;
    const namespace = String(req.params.namespace);
    const name = String(req.params.name);
    checkUrlName(namespace, 'namespace');
    checkUrlName(name, 'name');
    res.locals.verb = verb;
    res.locals.resource = `${rt.plural}/log`;
    const attrs = { verb, plural: rt.plural, group: rt.group, subresource: 'log', namespace, name, clusterScoped: false };
    // check the scope before reading, so the store is not probed outside the caller's Cluster
    if (principal.cluster !== undefined && principal.cluster !== namespace) authorize(principal, attrs);
    const obj = await ctx.store.get(rt.key, namespace, name);
    authorize(principal, { ...attrs, object: obj });
    return obj;
  };

  router.post(path, express.raw({ type: () => true, limit: MAX_LOG_POST_BYTES }), async (req, res) => {
    const principal = res.locals.principal as Principal;
    const obj = await target(req, res, 'create');
    if (principal.role !== 'node') {
      throw new Forbidden(`${principal.role} "${principal.name}" cannot create ${rt.plural}.drover.dev/log in namespace "${obj.metadata.namespace}": only the node agent running the ${what} writes its log`,
        { group: rt.group, kind: rt.plural, name: obj.metadata.name });
    }
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    buffer.append(keyOf(obj), obj.metadata.uid ?? '', body);
    watchDeletes();
    res.status(204).end();
  });

  router.get(path, async (req, res) => {
    const obj = await target(req, res, 'get');
    const tail = intParam(req, 'tailLines', 0);
    let limit = intParam(req, 'limitBytes', 1);
    const follow = req.query.follow === 'true' || req.query.follow === '1';
    const key = keyOf(obj);
    const uid = obj.metadata.uid ?? '';
    const initial = buffer.read(key, uid, { tailLines: tail, limitBytes: limit });
    res.status(200).type('text/plain; charset=utf-8').setHeader('Cache-Control', 'no-cache, private');
    if (!follow) {
      res.send(initial);
      return;
    }
    res.setHeader('Transfer-Encoding', 'chunked');
    res.flushHeaders();
    if (initial.length) res.write(initial);
    if (limit !== undefined) limit -= initial.length;
    let unfollow = () => {};
    const session = {
      end() {
        unfollow();
        ctx.sessions.remove(session);
        if (!res.writableEnded) res.end();
      },
    };
    if (limit === 0) {
      session.end();
      return;
    }
    ctx.sessions.add(session);
    res.on('close', () => session.end());
    unfollow = buffer.follow(key, uid, {
      onData(chunk) {
        const out = limit !== undefined && chunk.length > limit ? chunk.subarray(0, limit) : chunk;
        res.write(out);
        if (limit !== undefined && (limit -= out.length) <= 0) session.end();
      },
      onEnd: () => session.end(),
    });
    // a follower of a container that never logged must still learn of its deletion
    watchDeletes();
  });
}

