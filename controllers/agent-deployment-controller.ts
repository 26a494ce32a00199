// AgentDeployment controller: feeds reconcileAgentDeployment the deployment's Agents (own writes
// overlaid on the cache so a lagging cache never creates twice) and applies creates, deletes,
// status and Events. Agent changes wake their owner.
import type { KubeObject } from '../core/types.ts';
import { isApiError } from '../core/errors.ts';
import { realClock } from '../core/clock.ts';
import { reconcileAgentDeployment } from '../reconcilers/agent-deployment-reconciler.ts';
import { createController, type Controller } from './controller.ts';
import { createFreshView } from './fresh-view.ts';
import { kindsWithInformers, recorderFor, type ManagerControllerOptions } from './resolve-kind.ts';

export type AgentDeploymentControllerOptions = ManagerControllerOptions;

export const AGENTS_BY_OWNER_INDEX = 'agent-deployment-controller/owner';

const controllerOwner = (o: KubeObject) => o.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'AgentDeployment');

export function createAgentDeploymentController(opts: AgentDeploymentControllerOptions): Controller {
  const clock = opts.clock ?? realClock;
  const { rt, inf } = kindsWithInformers(opts.registry, opts.informers, { deployments: 'AgentDeployment', agents: 'Agent', containers: 'Container' });
  const recorder = recorderFor(opts, 'agentdeployment-controller', clock);
  inf.agents.addIndexers({
    [AGENTS_BY_OWNER_INDEX]: (a) => {
      const o = controllerOwner(a);
      return o ? [o.uid] : [];
    },
  });
  const fresh = createFreshView();

  return createController({
    name: 'agentdeployment',
    resource: rt.deployments,
    informers: opts.informers,
    logger: opts.logger,
    clock,
    workers: opts.workers,
    watches: [{
      resource: rt.agents.key,
      map: (a) => {
        const o = controllerOwner(a);
        return o ? [{ namespace: a.metadata.namespace, name: o.name }] : [];
      },
    }],
    async reconcile(req, ctx) {
      const d = inf.deployments.cache.get(req.namespace, req.name);
      if (!d || d.metadata.deletionTimestamp) return; // owned Agents go with it through the garbage collector
      const now = ctx.clock.now();
      const uid = d.metadata.uid ?? '';
      const allAgents = fresh.overlay(inf.agents.cache.list(req.namespace), req.namespace, now);
      const agents = allAgents.filter((a) => controllerOwner(a)?.uid === uid);
      const diff = reconcileAgentDeployment(d, { agents, allAgents, containers: inf.containers.cache.list(req.namespace), now });

      for (const obj of diff.create ?? []) {
        const created = await opts.store.create(rt.agents.key, obj);
        fresh.wrote(created, now);
        ctx.logger.info('agent created', { agent: created.metadata.name });
      }
      for (const ref of diff.delete ?? []) {
        try {
          const last = await opts.store.delete(rt.agents.key, ref.namespace, ref.name, ref.uid ? { uid: ref.uid } : {});
          fresh.deleted(last, now);
          ctx.logger.info('agent deleted', { agent: ref.name });
        } catch (err) {
          if (!isApiError(err, 404)) throw err;
        }
      }
      if (diff.status) {
        try {
          await opts.store.update(rt.deployments.key, { ...d, status: diff.status });
        } catch (err) {
          if (isApiError(err, 404)) return;
          throw err;
        }
      }
      for (const ev of diff.events ?? []) await recorder.record(d, ev.type, ev.reason, ev.message);
      return diff.requeueAfter ? { requeueAfter: diff.requeueAfter } : {};
    },
  });
}
