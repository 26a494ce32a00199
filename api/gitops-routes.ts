// The GitOps webhook: POST /api/v1/gitops/NAMESPACE/NAME/hook asks the GitOps controller to sync that
// GitRepository now (fetch, validate, apply, prune) instead of at its next interval. It is authorized like an
// update of the GitRepository — a viewer gets 403, an operator or a token limited to that Cluster may call it —
// and it only sets the annotation gitops.drover.dev/requestedAt, which the controller reacts to (and which
// `drover gitops sync` and `kubectl annotate` set as well). Answers 202 with the request time.
import express from 'express';
import type { Router } from 'express';
import { isApiError } from '../core/errors.ts';
import type { Principal } from './auth.ts';
import { authorize } from './authorize.ts';
import type { ApiContext } from './context.ts';
import { checkUrlName } from './resource-path.ts';

/** The same annotation as reconcilers/gitops-sync.ts GITOPS_REQUESTED_AT_ANNOTATION (api/ may not import reconcilers/). */
export const GITOPS_REQUESTED_AT_ANNOTATION = 'gitops.drover.dev/requestedAt';
const WRITE_ATTEMPTS = 5;

export function gitopsRoutes(ctx: ApiContext, now: () => number = Date.now): Router {
  const router = express.Router();
  router.post('/api/v1/gitops/:namespace/:name/hook', async (req, res) => {
    const namespace = String(req.params.namespace);
    const name = String(req.params.name);
    checkUrlName(namespace, 'namespace');
    checkUrlName(name, 'name');
    const rt = ctx.registry.resolve('GitRepository');
    if (!rt) throw new Error('the GitRepository CRD is missing from crds/');
    res.locals.verb = 'update';
    res.locals.resource = 'gitrepositories/hook';
    res.locals.auditTarget = { group: rt.group, resource: rt.plural, subresource: 'hook', namespace, name };
    authorize(res.locals.principal as Principal, { verb: 'update', plural: rt.plural, group: rt.group, namespace, name, clusterScoped: false });
    // two hooks within one millisecond are one request: the controller syncs once for both
    const requestedAt = new Date(now()).toISOString();
    for (let attempt = 1; ; attempt++) {
      const current = await ctx.store.get(rt.key, namespace, name);
      const next = structuredClone(current);
      next.metadata.annotations = { ...next.metadata.annotations, [GITOPS_REQUESTED_AT_ANNOTATION]: requestedAt };
      try {
        await ctx.store.update(rt.key, next);
        break;
      } catch (e) {
        if (attempt >= WRITE_ATTEMPTS || !isApiError(e, 409)) throw e;
      }
    }
    ctx.logger.info('gitops sync requested', { gitRepository: `${namespace}/${name}`, by: (res.locals.principal as Principal).name });
    res.status(202).json({ kind: 'GitOpsSyncRequest', namespace, name, requestedAt });
  });
  return router;
}
