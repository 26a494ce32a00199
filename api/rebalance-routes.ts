// Rebalance on demand: POST /api/v1/clusters/:cluster/rebalance?dryRun=true|false, and the seed route
// POST /api/v1/cluster/rebalance[?namespace=NS] (default namespace "default"). Both answer the plan.
// api/ may not import reconcilers/, so the composition root injects the planner (planRebalance).
import express from 'express';
import type { Request, Response, Router } from 'express';
import { InternalError, isApiError } from '../core/errors.ts';
import type { ResourceType } from '../core/resources.ts';
import type { KubeObject } from '../core/types.ts';
import type { Principal } from './auth.ts';
import { authorize } from './authorize.ts';
import { checkUrlName } from './resource-path.ts';
import type { ApiContext } from './context.ts';

export const REBALANCE_REQUESTED_ANNOTATION = 'drover.dev/rebalance-requested';
const WRITE_ATTEMPTS = 5;

export interface RebalanceSnapshot {
  cluster: KubeObject;
  nodes: KubeObject[];
  containers: KubeObject[];
  agents: KubeObject[];
  deployments: KubeObject[];
}

/** reconcilers/rebalance-planner.ts planRebalance, seen from the API: a snapshot and a time in, a JSON plan out. */
export type RebalancePlanner = (view: RebalanceSnapshot, now: number) => object;

function kind(ctx: ApiContext, k: string): ResourceType {
  const rt = ctx.registry.resolve(k);
  if (!rt) throw new Error(`the ${k} CRD is missing from crds/`);
  return rt;
}

export async function rebalanceSnapshot(ctx: ApiContext, ns: string): Promise<RebalanceSnapshot> {
  const list = async (k: string) => (await ctx.store.list(kind(ctx, k).key, { namespace: ns })).items;
  const [cluster, nodes, containers, agents, deployments] = await Promise.all([
    ctx.store.get(kind(ctx, 'Cluster').key, undefined, ns), list('Node'), list('Container'), list('Agent'), list('AgentDeployment'),
  ]);
  return { cluster, nodes, containers, agents, deployments };
}

/** Ask the rebalance controller for a round now (it recomputes the plan from the same state). */
async function requestRound(ctx: ApiContext, ns: string, now: number): Promise<void> {
  const rt = kind(ctx, 'Cluster');
  for (let attempt = 1; ; attempt++) {
    const current = await ctx.store.get(rt.key, undefined, ns);
    const next = structuredClone(current);
    next.metadata.annotations = { ...next.metadata.annotations, [REBALANCE_REQUESTED_ANNOTATION]: new Date(now).toISOString() };
    try {
      await ctx.store.update(rt.key, next);
      return;
    } catch (e) {
      if (attempt >= WRITE_ATTEMPTS || !isApiError(e, 409)) throw e;
    }
  }
}

export function rebalanceRoutes(ctx: ApiContext, planner: RebalancePlanner | undefined, now: () => number = Date.now): Router {
  const router = express.Router();
  const rt = kind(ctx, 'Cluster');

  const handle = async (ns: string, req: Request, res: Response) => {
    checkUrlName(ns, 'namespace');
    const dryRun = req.query.dryRun === 'true' || req.query.dryRun === 'All';
    res.locals.verb = dryRun ? 'get' : 'update';
    res.locals.resource = 'clusters/rebalance';
    authorize(res.locals.principal as Principal, {
      verb: dryRun ? 'get' : 'update', plural: rt.plural, group: rt.group, subresource: 'rebalance', namespace: ns, name: ns, clusterScoped: true,
    });
    if (!planner) throw new InternalError('rebalance planning is not wired into this API server');
    const t = now();
    const plan = planner(await rebalanceSnapshot(ctx, ns), t);
    if (!dryRun) {
      // The controller recomputes the plan from the same state, so what runs is what was shown unless
      // the fleet changed in between (then the fresher plan is the better one).
      await requestRound(ctx, ns, t);
      ctx.logger.info('rebalance requested', { cluster: ns });
    }
    res.status(dryRun ? 200 : 202).json({ cluster: ns, dryRun, ...plan });
  };

  router.post('/api/v1/clusters/:cluster/rebalance', (req, res) => handle(String(req.params.cluster), req, res));
  router.post('/api/v1/cluster/rebalance', (req, res) => handle(typeof req.query.namespace === 'string' && req.query.namespace ? req.query.namespace : 'default', req, res));
  return router;
}
