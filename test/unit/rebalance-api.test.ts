// The rebalance routes on the in-process API server, and the plan as `drover rebalance` prints it.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { planRebalance } from '../../reconcilers/rebalance-planner.ts';
import { formatPlan, type PlanAnswer } from '../../cli/commands/rebalance.ts';
import { startApi, TOKENS, type Harness } from './api-harness.ts';
import { NS, agentsOn, cluster, deployment, host, node } from './rebalance-fixtures.ts';

const K = { cluster: 'clusters.drover.dev', node: 'nodes.drover.dev', container: 'containers.drover.dev', agent: 'agents.drover.dev', deployment: 'agentdeployments.drover.dev' };
let h: Harness;

beforeAll(async () => {
  h = await startApi({ rebalancePlanner: planRebalance });
  await h.store.create(K.cluster, cluster({ enabled: false }));
  for (const n of ['node-a', 'node-b', 'node-c']) await h.store.create(K.node, node(n));
  for (const [c, n] of [['c1', 'node-a'], ['c2', 'node-b'], ['c3', 'node-c']]) await h.store.create(K.container, host(c, n));
  await h.store.create(K.deployment, deployment('trading'));
  for (const a of [...agentsOn('c1', 4), ...agentsOn('c2', 4)]) await h.store.create(K.agent, a);
});
afterAll(() => h.close());

const requested = async () => (await h.store.get(K.cluster, undefined, NS)).metadata.annotations?.['drover.dev/rebalance-requested'];

describe('rebalance API', () => {
  it.each([
    ['/api/v1/clusters/c1/rebalance?dryRun=true'],
    ['/api/v1/cluster/rebalance?namespace=c1&dryRun=true'],
  ])('POST %s answers the plan without asking for a round', async (path) => {
    const r = await h.call('POST', path);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ cluster: 'c1', dryRun: true, threshold: 0.2 });
    expect(r.body.moves.map((m: { agent: string; to: { container: string } }) => [m.agent, m.to.container])).toEqual([['c1-a0', 'c3'], ['c2-a0', 'c3']]);
    expect(await requested()).toBeUndefined();
  });

  it('a viewer may see the plan but not start it', async () => {
    expect((await h.call('POST', '/api/v1/clusters/c1/rebalance?dryRun=true', undefined, { token: TOKENS.viewer })).status).toBe(200);
    expect((await h.call('POST', '/api/v1/clusters/c1/rebalance', undefined, { token: TOKENS.viewer })).status).toBe(403);
    expect(await requested()).toBeUndefined();
  });

  it('without dryRun it asks the rebalancer for a round and answers 202 with the plan', async () => {
    const r = await h.call('POST', '/api/v1/clusters/c1/rebalance');
    expect(r.status).toBe(202);
    expect(r.body.moves).toHaveLength(2);
    expect(Date.parse(String(await requested()))).toBeGreaterThan(Date.now() - 60_000);
  });

  it('an unknown cluster is a 404 Status', async () => {
    const r = await h.call('POST', '/api/v1/clusters/nope/rebalance?dryRun=true');
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ kind: 'Status', reason: 'NotFound' });
  });
});

describe('formatPlan', () => {
  const row = (container: string, agents: number) => ({ container, node: `node-${container}`, agents, capacity: 4, ratio: agents / 4 });
  it('prints the moves and the load per container before and after', () => {
    const plan: PlanAnswer = {
      cluster: 'c1', threshold: 0.2, imbalanceBefore: 0.333, imbalanceAfter: 0.083, skipped: [],
      moves: [{ agent: 'c1-a0', deployment: 'trading', from: { container: 'c1', node: 'node-a' }, to: { container: 'c3', node: 'node-c' }, reason: 'load 1 → 0.75' }],
      before: [row('c1', 4), row('c3', 0)], after: [row('c1', 3), row('c3', 1)],
    };
    const out = formatPlan(plan).join('\n');
    expect(out).toContain('1 move(s): imbalance 0.33 → 0.08 (threshold 0.20)');
    expect(out).toMatch(/c1-a0\s+trading\s+c1 \(node-a\)\s+c3 \(node-c\)\s+load 1 → 0.75/);
    expect(out).toMatch(/c1\s+node-c1\s+██████████ 4\/4 1.00\s+████████·· 3\/4 0.75/);
  });

  it.each([
    [0.12, 'nothing to do: imbalance 0.12 ≤ threshold 0.20'],
    [0.5, 'nothing to do: imbalance 0.50 > threshold 0.20, but no agent can move'],
  ])('says why nothing moves (imbalance %p)', (imbalance, text) => {
    const plan: PlanAnswer = { cluster: 'c1', threshold: 0.2, imbalanceBefore: imbalance, imbalanceAfter: imbalance, moves: [], before: [], after: [], skipped: [{ agent: 'a', reason: 'moved less than 5m ago' }] };
    expect(formatPlan(plan)[0]).toBe(text);
  });
});
