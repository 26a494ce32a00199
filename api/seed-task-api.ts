// The seed's task API as thin mappings onto Task objects (bearer auth, Status errors, the same
// authorization and NodeRestriction as the Kubernetes routes):
//   GET  /api/v1/agents/:node/tasks   a node's outstanding work (Assigned first)
//   GET  /api/v1/tasks[?state=&type=&node=]   GET /api/v1/tasks/stats   GET /api/v1/tasks/:id
//   PUT  /api/v1/tasks/:id/status {state: Running|Completed|Failed, message?, reason?, result?}
//   POST /api/v1/tasks/:id/retry     POST /api/v1/tasks/:id/cancel
// `:id` is the Task name; `?namespace=` picks the namespace, else every namespace the caller sees (ambiguous → 409).
import express from 'express';
import type { Request, Response, Router } from 'express';
import { Conflict, NotFound, isApiError } from '../core/errors.ts';
import type { Task, TaskStatus } from '../core/kinds.generated.ts';
import { TaskStateValues, TaskTypeValues } from '../core/kinds.generated.ts';
import type { ResourceType } from '../core/resources.ts';
import type { KubeObject } from '../core/types.ts';
import type { Principal } from './auth.ts';
import { authorize, type Attributes, type Verb } from './authorize.ts';
import type { ApiContext } from './context.ts';
import { verifyJsonDepth } from './request-body.ts';
import { checkUrlName } from './resource-path.ts';
import { applyStatusWrite, cancelTask, parseStatusWrite, retryTask, toSeedTask } from './task-status-rules.ts';

const WRITE_ATTEMPTS = 5;
const OUTSTANDING = new Set(['Assigned', 'Pending', 'Queued']);
const ORDER: Record<string, number> = { Assigned: 0, Pending: 1, Queued: 2 };

function q(req: Request, k: string): string | undefined {
  const v = req.query[k];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function seedTaskRoutes(ctx: ApiContext): Router {
  const rt = ctx.registry.resolve('Task');
  if (!rt) throw new Error('the Task kind is missing from the registry (crds/task.yaml)');
  const tasksRt: ResourceType = rt;
  const router = express.Router();
  const json = express.json({ limit: '1mb', verify: verifyJsonDepth });
  const principalOf = (res: Response) => res.locals.principal as Principal;
  const check = (p: Principal, verb: Verb, extra: Partial<Attributes>) =>
    authorize(p, { verb, plural: tasksRt.plural, group: tasksRt.group, clusterScoped: false, ...extra });
  // A Cluster-bound caller (and every node) sees only its own namespace.
  const namespaceOf = (req: Request, p: Principal) => {
    const ns = q(req, 'namespace') ?? p.cluster;
    if (ns !== undefined) checkUrlName(ns, 'namespace');
    return ns;
  };
  // names from the URL are checked before anything reads the store with them (or builds a selector)
  router.param('id', (_req, res, next, id: string) => {
    checkUrlName(id, 'name');
    res.locals.auditName = id;
    next();
  });
  router.param('node', (_req, res, next, node: string) => {
    checkUrlName(node, 'name', true);
    res.locals.auditName = node;
    next();
  });

  async function listVisible(req: Request, p: Principal, fieldSelector?: string): Promise<Task[]> {
    const namespace = namespaceOf(req, p);
    // a node lists only its own tasks: by default, and NodeRestriction refuses any other selector
    const selector = fieldSelector ?? (p.role === 'node' ? `spec.nodeName=${p.node ?? ''}` : undefined);
    check(p, 'list', { namespace, fieldSelector: selector });
    const { items } = await ctx.store.list(tasksRt.key, { namespace, fieldSelector: selector });
    const state = q(req, 'state');
    const type = q(req, 'type');
    return (items as Task[]).filter((t) => (!state || (t.status?.state ?? 'Pending') === state) && (!type || t.spec.type === type));
  }

  async function findTask(req: Request, p: Principal, id: string): Promise<Task> {
    const namespace = namespaceOf(req, p);
    const { items } = await ctx.store.list(tasksRt.key, { namespace, fieldSelector: `metadata.name=${id}` });
    if (items.length === 0) throw new NotFound(`task "${id}" not found${namespace ? ` in namespace "${namespace}"` : ''}`, { name: id, group: tasksRt.group, kind: tasksRt.plural });
    if (items.length > 1) {
      const where = items.map((t) => t.metadata.namespace).join(', ');
      throw new Conflict(`task name "${id}" exists in namespaces ${where}; pass ?namespace=`, { name: id, group: tasksRt.group, kind: tasksRt.plural });
    }
    return items[0] as Task;
  }

  /** Read, decide, compare-and-swap; a lost race re-reads and decides again. */
  async function writeWithRetry(req: Request, p: Principal, id: string, verb: Verb, subresource: string | undefined, decide: (t: Task) => Task): Promise<Task> {
    for (let attempt = 1; ; attempt++) {
      const current = await findTask(req, p, id);
      // authorization first: a caller without the right learns nothing from the transition rules
      check(p, verb, { namespace: current.metadata.namespace, name: id, subresource, object: current });
      const next = decide(current);
      try {
        const admitted = await ctx.validator.admit(tasksRt, next, subresource === 'status' ? { subresource: 'status' } : {});
        admitted.metadata.resourceVersion = current.metadata.resourceVersion;
        return (await ctx.store.update(tasksRt.key, admitted as KubeObject)) as Task;
      } catch (err) {
        if (!isApiError(err, 409) || attempt >= WRITE_ATTEMPTS) throw err;
      }
    }
  }

  router.get('/api/v1/agents/:node/tasks', async (req, res) => {
    const p = principalOf(res);
    const node = req.params.node as string;
    const tasks = (await listVisible(req, p, `spec.nodeName=${node}`)).filter((t) => t.spec.nodeName === node && OUTSTANDING.has(t.status?.state ?? 'Pending'));
    tasks.sort((a, b) => ORDER[a.status?.state ?? 'Pending'] - ORDER[b.status?.state ?? 'Pending'] || a.metadata.name.localeCompare(b.metadata.name));
    res.json({ node, tasks: tasks.map(toSeedTask) });
  });

  router.get('/api/v1/tasks', async (req, res) => {
    const node = q(req, 'node');
    const tasks = await listVisible(req, principalOf(res), node ? `spec.nodeName=${node}` : undefined);
    res.json({ total: tasks.length, tasks: tasks.map(toSeedTask) });
  });

  router.get('/api/v1/tasks/stats', async (req, res) => {
    const tasks = await listVisible(req, principalOf(res));
    const byState = Object.fromEntries(TaskStateValues.map((s) => [s, 0])) as Record<string, number>;
    const byType = Object.fromEntries(TaskTypeValues.map((s) => [s, 0])) as Record<string, number>;
    for (const t of tasks) {
      byState[t.status?.state ?? 'Pending']++;
      byType[t.spec.type]++;
    }
    res.json({ namespace: namespaceOf(req, principalOf(res)) ?? null, total: tasks.length, byState, byType });
  });

  router.get('/api/v1/tasks/:id', async (req, res) => {
    const p = principalOf(res);
    const t = await findTask(req, p, req.params.id as string);
    check(p, 'get', { namespace: t.metadata.namespace, name: t.metadata.name, object: t });
    res.json(toSeedTask(t));
  });

  router.put('/api/v1/tasks/:id/status', json, async (req, res) => {
    const p = principalOf(res);
    const write = parseStatusWrite(req.body);
    const stored = await writeWithRetry(req, p, req.params.id as string, 'update', 'status', (t) => {
      const holder = p.role === 'node' && p.node ? p.node : t.spec.nodeName ?? p.name;
      const status: TaskStatus = applyStatusWrite(t, write, holder, Date.now());
      return { ...t, status };
    });
    res.json(toSeedTask(stored));
  });

  router.post('/api/v1/tasks/:id/retry', async (req, res) => {
    const p = principalOf(res);
    const stored = await writeWithRetry(req, p, req.params.id as string, 'update', undefined, (t) => retryTask(t, p.name));
    res.json(toSeedTask(stored));
  });

  router.post('/api/v1/tasks/:id/cancel', async (req, res) => {
    const p = principalOf(res);
    let immediate = true;
    const stored = await writeWithRetry(req, p, req.params.id as string, 'update', undefined, (t) => {
      const r = cancelTask(t, p.name, Date.now());
      immediate = r.immediate;
      return r.task;
    });
    // 202: a Running task is cancelled once its agent finishes it
    res.status(immediate ? 200 : 202).json({ ...toSeedTask(stored), ...(immediate ? {} : { message: 'cancel requested; the task is cancelled when its node finishes it' }) });
  });

  return router;
}
