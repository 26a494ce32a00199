// What kubectl and client-go ask for beyond the drover.dev resources: aggregated discovery on /api and /apis
// (the plain documents stay in server.ts as the fallback), OpenAPI v3, and the core v1 Namespace/Event views.
import { Router } from 'express';
import type { Request, Response } from 'express';
import type { ApiContext } from './context.ts';
import { aggregatedCore, aggregatedGroups } from './aggregated-discovery.ts';
import { AGGREGATED_DISCOVERY_TYPE, wantsAggregatedDiscovery } from './content-negotiation.ts';
import { coreV1Routes } from './core-v1.ts';
import { GROUP_VERSION_PATH, openApiV3 } from './openapi.ts';

export function kubectlRoutes(ctx: ApiContext, serverVersion: string): Router {
  const router = Router();
  const sendAggregated = (body: unknown) => (_req: Request, res: Response) => {
    res.setHeader('Content-Type', AGGREGATED_DISCOVERY_TYPE);
    res.setHeader('Vary', 'Accept');
    res.send(Buffer.from(JSON.stringify(body)));
  };
  const groups = aggregatedGroups(ctx.registry);
  const core = aggregatedCore();
  router.get('/api', (req, res, next) => (wantsAggregatedDiscovery(req.headers.accept) ? sendAggregated(core)(req, res) : next()));
  router.get('/apis', (req, res, next) => (wantsAggregatedDiscovery(req.headers.accept) ? sendAggregated(groups)(req, res) : next()));

  let openapi: ReturnType<typeof openApiV3> | undefined;
  const docs = () => (openapi ??= openApiV3(ctx.registry, serverVersion));
  router.get('/openapi/v3', (_req, res) => {
    res.json(docs().index);
  });
  router.get(`/openapi/v3/${GROUP_VERSION_PATH}`, (req, res) => {
    const gv = docs().groupVersion;
    // the index names the document with its hash: a client holding that URL may cache it for good
    res.setHeader('Cache-Control', req.query.hash === gv.hash ? 'public, immutable' : 'no-cache, private');
    res.setHeader('Etag', `"${gv.hash}"`);
    res.type('application/json').send(gv.text);
  });
  router.use(coreV1Routes(ctx));
  return router;
}
