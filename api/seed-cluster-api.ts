// The seed's cluster API as thin mappings onto drover objects (bearer auth, Status errors, the same
// authorize() as the Kubernetes routes). `?namespace=` picks the Cluster (default: the caller's
// Cluster for a Cluster-bound token, else `default`).
//   GET    /api/v1/cluster/status | /topology | /containers | /agents[?deployment=]
//   POST   /api/v1/cluster/containers/register {name, node?, capabilities?, capacity?}
//          → an agent-host Container with spec.managed=false (drover does not start it; the node agent
//            on `node` adopts and reports it, so it is schedulable once that node reports it Running)
//   POST   /api/v1/cluster/containers/:id/heartbeat → 204; only stamps annotation drover.dev/last-heartbeat.
//          Liveness that placement trusts comes from the node agents, not from this call.
//   DELETE /api/v1/cluster/containers/:id
//   POST   /api/v1/cluster/deploy/agent {agent_type, agent_config?, placement_strategy?, preferred_capabilities?,
//          required_capabilities?, replicas?, command?} → an AgentDeployment `<agent_type>-<5 chars>`
//   POST   /api/v1/cluster/agents/:id/migrate {to?} → 202; sets annotation drover.dev/migrate-requested=<to|any>
//          for the migration controller to act on (make-before-break)
//   DELETE /api/v1/cluster/agents/:id
import { randomInt } from 'node:crypto';
import express from 'express';
import type { Request, Response, Router } from 'express';
import { BadRequest, isApiError } from '../core/errors.ts';
import { isPlainObject } from '../core/patch.ts';
import type { ResourceType } from '../core/resources.ts';
import type { KubeObject } from '../core/types.ts';
import { GROUP, VERSION } from '../core/types.ts';
import { agentHostLoad, boundContainer, containerNode, isAgentHost } from '../core/agent-host-load.ts';
import type { Principal } from './auth.ts';
import { authorize, type Verb } from './authorize.ts';
import type { ApiContext } from './context.ts';
import { clusterOverview, clusterTopology, type ClusterSnapshotView } from './cluster-views.ts';
import { createObject, deleteObject, patchObject } from './object-handlers.ts';
import { verifyJsonDepth } from './request-body.ts';
import { checkUrlName } from './resource-path.ts';

export const LAST_HEARTBEAT_ANNOTATION = 'drover.dev/last-heartbeat';
export const MIGRATE_REQUESTED_ANNOTATION = 'drover.dev/migrate-requested';
export const REGISTERED_LABEL = 'drover.dev/registered';
export const SEED_STRATEGIES = ['RoundRobin', 'LeastLoaded', 'CapabilityMatch', 'ResourceOptimal', 'Spread'] as const;

const NAME_ATTEMPTS = 5;
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'; // Kubernetes' generateName alphabet: no vowels, no look-alikes

function q(req: Request, k: string): string | undefined {
  const v = req.query[k];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Seed names such as `least_loaded` or `capability-match` map onto the CRD's strategy names. */
export function parseStrategy(v: unknown): (typeof SEED_STRATEGIES)[number] | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const key = String(v).replace(/[-_\s]/g, '').toLowerCase();
  const found = SEED_STRATEGIES.find((s) => s.toLowerCase() === key);
  if (!found) throw new BadRequest(`placement_strategy "${String(v)}" is not one of ${SEED_STRATEGIES.join(', ')}`);
  return found;
}

function stringList(body: Record<string, unknown>, field: string): string[] | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new BadRequest(`${field} must be a list of strings`);
  return v as string[];
}

function bodyOf(req: Request): Record<string, unknown> {
  const b: unknown = req.body ?? {};
  if (!isPlainObject(b)) throw new BadRequest('the request body must be a JSON object');
  return b as Record<string, unknown>;
}

export function seedClusterRoutes(ctx: ApiContext): Router {
  const kind = (k: string): ResourceType => {
    const rt = ctx.registry.resolve(k);
    if (!rt) throw new Error(`the ${k} kind is missing from the registry (crds/)`);
    return rt;
  };
  const kinds = { cluster: kind('Cluster'), node: kind('Node'), container: kind('Container'), agent: kind('Agent'), deployment: kind('AgentDeployment') };
  const router = express.Router();
  const json = express.json({ limit: '1mb', verify: verifyJsonDepth });
  const principalOf = (res: Response) => res.locals.principal as Principal;
  const namespaceOf = (req: Request, p: Principal) => {
    const ns = q(req, 'namespace') ?? p.cluster ?? 'default';
    checkUrlName(ns, 'namespace');
    return ns;
  };
  // names from the URL are checked before anything reads the store with them
  router.param('id', (_req, res, next, id: string) => {
    checkUrlName(id, 'name');
    res.locals.auditName = id;
    next();
  });
  const target = (rt: ResourceType, namespace: string, name?: string) => ({ rt, namespace, name, watchPath: false });
  const check = (p: Principal, rt: ResourceType, verb: Verb, namespace: string, extra: { name?: string; object?: KubeObject; body?: unknown } = {}) =>
    authorize(p, { verb, plural: rt.plural, group: rt.group, clusterScoped: false, namespace, ...extra, ...(verb === 'patch' ? { patchType: 'merge' as const } : {}) });

  async function list(p: Principal, rt: ResourceType, namespace: string): Promise<KubeObject[]> {
    check(p, rt, 'list', namespace);
    return (await ctx.store.list(rt.key, { namespace })).items;
  }

  async function snapshot(p: Principal, namespace: string): Promise<ClusterSnapshotView> {
    authorize(p, { verb: 'get', plural: kinds.cluster.plural, group: GROUP, clusterScoped: true, name: namespace });
    const cluster = await ctx.store.get(kinds.cluster.key, undefined, namespace).catch((e: unknown) => {
      if (isApiError(e, 404)) return undefined;
      throw e;
    });
    const [nodes, containers, agents, agentDeployments] = await Promise.all([
      list(p, kinds.node, namespace), list(p, kinds.container, namespace), list(p, kinds.agent, namespace), list(p, kinds.deployment, namespace),
    ]);
    return { cluster, nodes, containers, agents, agentDeployments };
  }

  const containerView = (c: KubeObject, agents: KubeObject[]) => {
    const host = (c.spec?.agentHost ?? {}) as { capabilities?: string[]; capacity?: Record<string, unknown> };
    const load = agentHostLoad([c], agents).load[0];
    return {
      id: c.metadata.name, name: c.metadata.name, namespace: c.metadata.namespace,
      node: containerNode(c) || null, phase: (c.status?.phase as string | undefined) ?? 'Pending',
      agent_host: isAgentHost(c), capabilities: host.capabilities ?? [], capacity: host.capacity ?? {},
      agents: agents.filter((a) => boundContainer(a) === c.metadata.name && !a.metadata.deletionTimestamp).length,
      load: load?.ratio ?? null,
      managed: c.spec?.managed !== false,
      last_heartbeat: c.metadata.annotations?.[LAST_HEARTBEAT_ANNOTATION] ?? null,
    };
  };

  const agentView = (a: KubeObject) => ({
    id: a.metadata.name, name: a.metadata.name, namespace: a.metadata.namespace,
    agent_type: a.spec?.agentType ?? null,
    deployment: a.metadata.labels?.['drover.dev/deployment'] ?? a.metadata.ownerReferences?.[0]?.name ?? null,
    container: boundContainer(a) ?? null,
    node: (a.status?.nodeName as string | undefined) ?? null,
    phase: (a.status?.phase as string | undefined) ?? 'Pending',
    restarts: (a.status?.restarts as number | undefined) ?? 0,
    message: (a.status?.message as string | undefined) ?? null,
    migrate_requested: a.metadata.annotations?.[MIGRATE_REQUESTED_ANNOTATION] ?? null,
  });

  router.get('/api/v1/cluster/status', async (req, res) => {
    const p = principalOf(res);
    const ns = namespaceOf(req, p);
    res.json(clusterOverview(ns, await snapshot(p, ns)));
  });

  router.get('/api/v1/cluster/topology', async (req, res) => {
    const p = principalOf(res);
    const ns = namespaceOf(req, p);
    res.json(clusterTopology(ns, await snapshot(p, ns)));
  });

  router.get('/api/v1/cluster/containers', async (req, res) => {
    const p = principalOf(res);
    const ns = namespaceOf(req, p);
    const [containers, agents] = await Promise.all([list(p, kinds.container, ns), list(p, kinds.agent, ns)]);
    res.json({ namespace: ns, total: containers.length, containers: containers.map((c) => containerView(c, agents)) });
  });

  router.post('/api/v1/cluster/containers/register', json, async (req, res) => {
    const p = principalOf(res);
    const ns = namespaceOf(req, p);
    const b = bodyOf(req);
    if (typeof b.name !== 'string' || b.name === '') throw new BadRequest('name is required (the Container name, DNS-1123)');
    if (b.node !== undefined && typeof b.node !== 'string') throw new BadRequest('node must be a string');
    if (b.capacity !== undefined && !isPlainObject(b.capacity)) throw new BadRequest('capacity must be an object such as {"agents": 8, "cpu": "4", "memory": "4Gi"}');
    const capabilities = stringList(b, 'capabilities') ?? [];
    const obj: KubeObject = {
      apiVersion: `${GROUP}/${VERSION}`, kind: 'Container',
      metadata: { name: b.name, namespace: ns, labels: { [REGISTERED_LABEL]: 'true', 'drover.dev/agent-capable': 'true' } },
      spec: {
        managed: false,
        ...(b.node ? { nodeName: b.node } : {}),
        agentHost: { capabilities, ...(b.capacity ? { capacity: b.capacity } : {}) },
      },
    };
    check(p, kinds.container, 'create', ns, { name: b.name, body: obj });
    const created = await createObject(ctx, target(kinds.container, ns), obj, false);
    res.status(201).json(containerView(created.body as KubeObject, []));
  });

  router.post('/api/v1/cluster/containers/:id/heartbeat', async (req, res) => {
    const p = principalOf(res);
    const ns = namespaceOf(req, p);
    const id = req.params.id as string;
    const current = await ctx.store.get(kinds.container.key, ns, id);
    const patch = { metadata: { annotations: { [LAST_HEARTBEAT_ANNOTATION]: rfc3339(Date.now()) } } };
    check(p, kinds.container, 'patch', ns, { name: id, object: current, body: patch });
    await patchObject(ctx, target(kinds.container, ns, id), 'merge', patch, false);
    res.status(204).end();
  });

  router.delete('/api/v1/cluster/containers/:id', async (req, res) => {
    const p = principalOf(res);
    const ns = namespaceOf(req, p);
    const id = req.params.id as string;
    check(p, kinds.container, 'delete', ns, { name: id });
    await deleteObject(ctx, target(kinds.container, ns, id), {}, false);
    res.json({ id, namespace: ns, deleted: true });
  });

  router.post('/api/v1/cluster/deploy/agent', json, async (req, res) => {
    const p = principalOf(res);
    const ns = namespaceOf(req, p);
    const b = bodyOf(req);
    if (typeof b.agent_type !== 'string' || b.agent_type === '') throw new BadRequest('agent_type is required');
    if (b.agent_config !== undefined && !isPlainObject(b.agent_config)) throw new BadRequest('agent_config must be a JSON object');
    if (b.replicas !== undefined && (!Number.isInteger(b.replicas) || (b.replicas as number) < 0)) throw new BadRequest('replicas must be a whole number ≥ 0');
    const command = stringList(b, 'command');
    const strategy = parseStrategy(b.placement_strategy);
    const preferred = stringList(b, 'preferred_capabilities');
    const required = stringList(b, 'required_capabilities');
    const spec = {
      agentType: b.agent_type,
      replicas: (b.replicas as number | undefined) ?? 1,
      template: { ...(command ? { command } : {}), ...(b.agent_config ? { config: b.agent_config } : {}) },
      placement: { ...(strategy ? { strategy } : {}), ...(preferred ? { preferredCapabilities: preferred } : {}), ...(required ? { requiredCapabilities: required } : {}) },
    };
    const prefix = b.agent_type.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50) || 'agent';
    for (let attempt = 1; ; attempt++) {
      const name = `${prefix}-${Array.from({ length: 5 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('')}`;
      const obj: KubeObject = { apiVersion: `${GROUP}/${VERSION}`, kind: 'AgentDeployment', metadata: { name, namespace: ns }, spec };
      check(p, kinds.deployment, 'create', ns, { name, body: obj });
      try {
        const created = (await createObject(ctx, target(kinds.deployment, ns), obj, false)).body as KubeObject;
        res.status(201).json({ name: created.metadata.name, namespace: ns, agent_type: b.agent_type, replicas: spec.replicas, placement: created.spec?.placement ?? spec.placement });
        return;
      } catch (err) {
        // a random suffix that is already taken: draw again
        if (!isApiError(err, 409) || attempt >= NAME_ATTEMPTS) throw err;
      }
    }
  });

  router.get('/api/v1/cluster/agents', async (req, res) => {
    const p = principalOf(res);
    const ns = namespaceOf(req, p);
    const deployment = q(req, 'deployment');
    const agents = (await list(p, kinds.agent, ns)).map(agentView).filter((a) => !deployment || a.deployment === deployment);
    res.json({ namespace: ns, total: agents.length, agents });
  });

  router.post('/api/v1/cluster/agents/:id/migrate', json, async (req, res) => {
    const p = principalOf(res);
    const ns = namespaceOf(req, p);
    const id = req.params.id as string;
    const b = bodyOf(req);
    if (b.to !== undefined && b.to !== null && (typeof b.to !== 'string' || b.to === '')) throw new BadRequest('to must be a container name');
    const to = (b.to as string | undefined) ?? undefined;
    const current = await ctx.store.get(kinds.agent.key, ns, id);
    if (to) await ctx.store.get(kinds.container.key, ns, to); // 404 names the missing target container
    const patch = { metadata: { annotations: { [MIGRATE_REQUESTED_ANNOTATION]: to ?? 'any' } } };
    check(p, kinds.agent, 'patch', ns, { name: id, object: current, body: patch });
    const updated = (await patchObject(ctx, target(kinds.agent, ns, id), 'merge', patch, false)).body as KubeObject;
    res.status(202).json({ ...agentView(updated), message: `migration of ${id} to ${to ?? 'any feasible container'} requested` });
  });

  router.delete('/api/v1/cluster/agents/:id', async (req, res) => {
    const p = principalOf(res);
    const ns = namespaceOf(req, p);
    const id = req.params.id as string;
    check(p, kinds.agent, 'delete', ns, { name: id });
    await deleteObject(ctx, target(kinds.agent, ns, id), {}, false);
    res.json({ id, namespace: ns, deleted: true });
  });

  return router;
}
