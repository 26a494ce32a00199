// The seed cluster API in-process: status/topology/containers/agents views, container registration,
// heartbeat and removal, deploying an agent type, migration requests, and who may do what.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startApi, TOKENS, cluster, type Harness } from './api-harness.ts';
import type { KubeObject } from '../../core/types.ts';
import { LAST_HEARTBEAT_ANNOTATION, MIGRATE_REQUESTED_ANNOTATION, parseStrategy } from '../../api/seed-cluster-api.ts';

const C = 'containers.drover.dev';
const A = 'agents.drover.dev';
const D = 'agentdeployments.drover.dev';
let h: Harness;

function host(name: string, ns: string, nodeName: string, phase: string, agents: number): KubeObject {
  return { apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name, namespace: ns }, spec: { image: 'x', agentHost: { capabilities: ['gpu_compute'], capacity: { agents } } }, status: { phase, nodeName } };
}
function agent(name: string, ns: string, containerName?: string): KubeObject {
  return {
    apiVersion: 'drover.dev/v1alpha1', kind: 'Agent', metadata: { name, namespace: ns, labels: { 'drover.dev/deployment': name.split('-')[0] } },
    spec: { agentType: 'trading', ...(containerName ? { containerName } : {}) }, status: { phase: containerName ? 'Running' : 'Pending', ...(containerName ? { nodeName: 'node-a' } : {}) },
  };
}

beforeAll(async () => {
  h = await startApi();
  for (const c of ['default', 'demo', 'other']) await h.store.create('clusters.drover.dev', cluster(c));
  await h.store.create('nodes.drover.dev', { apiVersion: 'drover.dev/v1alpha1', kind: 'Node', metadata: { name: 'node-a', namespace: 'demo' }, spec: {}, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
  await h.store.create(C, host('c1', 'demo', 'node-a', 'Running', 4));
  await h.store.create(C, host('c2', 'demo', 'node-a', 'Running', 4));
  for (const a of [agent('trading-aaaaa', 'demo', 'c1'), agent('trading-bbbbb', 'demo', 'c1'), agent('risk-ccccc', 'demo')]) await h.store.create(A, a);
});

afterAll(async () => {
  await h.close();
});

describe('read views', () => {
  it('GET /status summarizes the namespace with load and imbalance', async () => {
    const r = await h.call('GET', '/api/v1/cluster/status?namespace=demo');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      cluster: 'demo', registered: true, ready: true,
      nodes: { total: 1, ready: 1 }, containers: { total: 2, running: 2 }, agents: { total: 3, running: 2, pending: 1, unplaced: 0 },
      agentHosts: { containers: 2, capacity: { agents: 8 }, allocated: { agents: 2 } },
      imbalance: '0.25',
      load: [{ container: 'c1', node: 'node-a', agents: 2, capacity: 4, ratio: 0.5 }, { container: 'c2', agents: 0, ratio: 0 }],
    });
  });

  it('GET /topology nests agents under containers under nodes', async () => {
    const r = await h.call('GET', '/api/v1/cluster/topology?namespace=demo');
    expect(r.body.nodes).toHaveLength(1);
    expect(r.body.nodes[0].containers.map((c: { name: string; agents: number }) => `${c.name}:${c.agents}`)).toEqual(['c1:2', 'c2:0']);
    expect(r.body.nodes[0].containers[0].agentList.map((a: { name: string }) => a.name)).toEqual(['trading-aaaaa', 'trading-bbbbb']);
    expect(r.body.unscheduled).toEqual([{ name: 'risk-ccccc', phase: 'Pending', agentType: 'trading' }]);
  });

  it('GET /containers and /agents map objects to seed records', async () => {
    const cs = await h.call('GET', '/api/v1/cluster/containers?namespace=demo');
    expect(cs.body.total).toBe(2);
    expect(cs.body.containers[0]).toMatchObject({ id: 'c1', node: 'node-a', phase: 'Running', agent_host: true, capabilities: ['gpu_compute'], agents: 2, load: 0.5, managed: true });
    const ag = await h.call('GET', '/api/v1/cluster/agents?namespace=demo&deployment=trading');
    expect(ag.body.agents.map((a: { id: string }) => a.id)).toEqual(['trading-aaaaa', 'trading-bbbbb']);
    expect(ag.body.agents[0]).toMatchObject({ agent_type: 'trading', deployment: 'trading', container: 'c1', node: 'node-a', phase: 'Running' });
  });

  it('defaults to the caller\'s Cluster for a Cluster-bound token, else to "default"', async () => {
    expect((await h.call('GET', '/api/v1/cluster/status', undefined, { token: TOKENS.demoOperator })).body.agents.total).toBe(3);
    expect((await h.call('GET', '/api/v1/cluster/status')).body).toMatchObject({ cluster: 'default', agents: { total: 0 } });
  });
});

describe('containers', () => {
  it('registers an agent host that drover does not run (managed: false), stamps heartbeats, and deletes it', async () => {
    const reg = await h.call('POST', '/api/v1/cluster/containers/register?namespace=demo', { name: 'ext-1', node: 'node-a', capabilities: ['voice'], capacity: { agents: 6, memory: '2Gi' } });
    expect(reg.status).toBe(201);
    expect(reg.body).toMatchObject({ id: 'ext-1', node: 'node-a', agent_host: true, capabilities: ['voice'], capacity: { agents: 6, memory: '2Gi' }, managed: false });
    const stored = await h.store.get(C, 'demo', 'ext-1');
    expect(stored.spec).toMatchObject({ managed: false, nodeName: 'node-a', agentHost: { capabilities: ['voice'], capacity: { agents: 6 } } });

    const hb = await h.call('POST', '/api/v1/cluster/containers/ext-1/heartbeat?namespace=demo');
    expect(hb.status).toBe(204);
    const stamped = (await h.store.get(C, 'demo', 'ext-1')).metadata.annotations?.[LAST_HEARTBEAT_ANNOTATION];
    expect(Math.abs(Date.parse(stamped!) - Date.now())).toBeLessThan(5000);

    expect((await h.call('POST', '/api/v1/cluster/containers/register?namespace=demo', { name: 'ext-1' })).status).toBe(409);
    const del = await h.call('DELETE', '/api/v1/cluster/containers/ext-1?namespace=demo');
    expect(del).toMatchObject({ status: 200, body: { id: 'ext-1', deleted: true } });
    expect((await h.call('POST', '/api/v1/cluster/containers/ext-1/heartbeat?namespace=demo')).status).toBe(404);
  });

  it.each([
    ['no name', {}, 400, 'name is required'],
    ['a name that is not DNS-1123', { name: 'Bad_Name' }, 422, 'Bad_Name'],
    ['capacity of the wrong type', { name: 'x', capacity: 3 }, 400, 'capacity must be an object'],
    ['capabilities that are not strings', { name: 'x', capabilities: [1] }, 400, 'capabilities must be a list of strings'],
  ])('refuses a registration with %s', async (_t, body, code, message) => {
    const r = await h.call('POST', '/api/v1/cluster/containers/register?namespace=demo', body);
    expect(r.status).toBe(code);
    expect(r.body.kind).toBe('Status');
    expect(r.body.message).toContain(message);
  });
});

describe('deploy, migrate, delete agents', () => {
  it('creates an AgentDeployment <agent_type>-<5 chars> with the seed placement fields', async () => {
    const r = await h.call('POST', '/api/v1/cluster/deploy/agent?namespace=demo', {
      agent_type: 'analysis', agent_config: { window: 30 }, placement_strategy: 'capability_match', preferred_capabilities: ['gpu_compute'], replicas: 3, command: ['node', 'agents/analysis.js'],
    });
    expect(r.status).toBe(201);
    expect(r.body.name).toMatch(/^analysis-[a-z0-9]{5}$/);
    const d = await h.store.get(D, 'demo', r.body.name);
    expect(d.spec).toMatchObject({
      agentType: 'analysis', replicas: 3, template: { command: ['node', 'agents/analysis.js'], config: { window: 30 } },
      placement: { strategy: 'CapabilityMatch', preferredCapabilities: ['gpu_compute'] },
    });
  });

  it.each([
    ['least_loaded', 'LeastLoaded'], ['RoundRobin', 'RoundRobin'], ['resource-optimal', 'ResourceOptimal'], ['spread', 'Spread'], [undefined, undefined],
  ])('maps placement_strategy %s to %s', (seed, crd) => {
    expect(parseStrategy(seed)).toBe(crd);
  });

  it.each([
    ['no agent_type', {}, 'agent_type is required'],
    ['an unknown strategy', { agent_type: 'x', placement_strategy: 'random' }, 'placement_strategy "random" is not one of'],
    ['negative replicas', { agent_type: 'x', replicas: -1 }, 'replicas must be a whole number'],
  ])('refuses a deploy with %s', async (_t, body, message) => {
    const r = await h.call('POST', '/api/v1/cluster/deploy/agent?namespace=demo', body);
    expect(r.status).toBe(400);
    expect(r.body.message).toContain(message);
  });

  it('records a migration request on the Agent (to a container, or to any), 404 for an unknown target', async () => {
    const to = await h.call('POST', '/api/v1/cluster/agents/trading-aaaaa/migrate?namespace=demo', { to: 'c2' });
    expect(to.status).toBe(202);
    expect(to.body).toMatchObject({ id: 'trading-aaaaa', migrate_requested: 'c2', message: 'migration of trading-aaaaa to c2 requested' });
    const any = await h.call('POST', '/api/v1/cluster/agents/trading-bbbbb/migrate?namespace=demo');
    expect(any.status).toBe(202);
    expect((await h.store.get(A, 'demo', 'trading-bbbbb')).metadata.annotations?.[MIGRATE_REQUESTED_ANNOTATION]).toBe('any');
    const missing = await h.call('POST', '/api/v1/cluster/agents/trading-bbbbb/migrate?namespace=demo', { to: 'nope' });
    expect(missing.status).toBe(404);
    expect(missing.body.message).toContain('nope');
  });

  it('deletes an agent', async () => {
    const r = await h.call('DELETE', '/api/v1/cluster/agents/risk-ccccc?namespace=demo');
    expect(r).toMatchObject({ status: 200, body: { id: 'risk-ccccc', deleted: true } });
    expect((await h.call('DELETE', '/api/v1/cluster/agents/risk-ccccc?namespace=demo')).status).toBe(404);
  });
});

describe('authorization', () => {
  it.each([
    ['no token', 'GET', '/api/v1/cluster/status', undefined, null, 401],
    ['a viewer writing', 'POST', '/api/v1/cluster/deploy/agent?namespace=demo', { agent_type: 'x' }, TOKENS.viewer, 403],
    ['a viewer deleting an agent', 'DELETE', '/api/v1/cluster/agents/trading-aaaaa?namespace=demo', undefined, TOKENS.viewer, 403],
    ['a Cluster-bound token reading another Cluster', 'GET', '/api/v1/cluster/topology?namespace=other', undefined, TOKENS.demoOperator, 403],
    ['a Cluster-bound token registering in another Cluster', 'POST', '/api/v1/cluster/containers/register?namespace=other', { name: 'x' }, TOKENS.demoOperator, 403],
  ])('refuses %s', async (_t, method, path, body, token, code) => {
    const r = await h.call(method, path, body, { token });
    expect(r.status).toBe(code);
    expect(r.body.kind).toBe('Status');
  });

  it('lets a viewer read', async () => {
    expect((await h.call('GET', '/api/v1/cluster/agents?namespace=demo', undefined, { token: TOKENS.viewer })).status).toBe(200);
  });
});
