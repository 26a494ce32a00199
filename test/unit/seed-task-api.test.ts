// The seed task API in-process: a node's work list, the claim → complete status flow, stats, retry,
// cancel, namespace resolution, and the authorization a node credential is held to.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startApi, TOKENS, cluster, type Harness } from './api-harness.ts';
import { staticAuthenticator } from '../../api/auth.ts';
import type { KubeObject } from '../../core/types.ts';
import type { TaskStatus, TaskType } from '../../core/kinds.generated.ts';
import { CANCEL_REQUESTED_ANNOTATION } from '../../core/task-meta.ts';
import { run } from '../../cli/program.ts';
import { captureIo } from './cli-fake-api.ts';

const NODE_A = 'node-a-credential';
const NODE_B = 'node-b-credential';
const K = 'tasks.drover.dev';
let h: Harness;

function task(name: string, ns: string, node: string, type: TaskType, status?: TaskStatus, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'drover.dev/v1alpha1', kind: 'Task', metadata: { name, namespace: ns },
    spec: { type, target: { kind: 'Container', name: `svc-${name}` }, nodeName: node, ...extra }, ...(status ? { status } : {}),
  };
}

beforeAll(async () => {
  h = await startApi({
    authenticator: staticAuthenticator({
      [TOKENS.admin]: { name: 'alice', role: 'admin' },
      [TOKENS.viewer]: { name: 'victor', role: 'viewer' },
      [NODE_A]: { name: 'node:node-a', role: 'node', cluster: 'c1', node: 'node-a' },
      [NODE_B]: { name: 'node:node-b', role: 'node', cluster: 'c1', node: 'node-b' },
    }),
  });
  for (const c of ['c1', 'c2']) await h.store.create('clusters.drover.dev', cluster(c));
  const seed: KubeObject[] = [
    task('a-assigned', 'c1', 'node-a', 'deploy', { state: 'Assigned', attempts: 0 }),
    task('a-queued', 'c1', 'node-a', 'restart', { state: 'Queued', waitReason: 'Conflict', message: 'waiting: restart of api in progress' }),
    task('a-done', 'c1', 'node-a', 'stop', { state: 'Completed', attempts: 1 }),
    task('b-assigned', 'c1', 'node-b', 'deploy', { state: 'Assigned' }),
    task('b-failed', 'c1', 'node-b', 'restart', { state: 'Failed', attempts: 3, reason: 'ExitCode', message: 'exit 1' }),
    task('b-running', 'c1', 'node-b', 'update', { state: 'Running', attempts: 1, leaseHolder: 'node-b' }),
    task('twin', 'c1', 'node-a', 'start', { state: 'Pending' }),
    task('twin', 'c2', 'node-x', 'start', { state: 'Pending' }),
  ];
  for (const t of seed) await h.store.create(K, t);
});

afterAll(async () => {
  await h.close();
});

describe('GET /api/v1/agents/:node/tasks', () => {
  it("lists a node's outstanding work, Assigned first", async () => {
    const r = await h.call('GET', '/api/v1/agents/node-a/tasks', undefined, { token: NODE_A });
    expect(r.status).toBe(200);
    expect(r.body.node).toBe('node-a');
    expect(r.body.tasks.map((t: { id: string; state: string }) => `${t.id}:${t.state}`)).toEqual(['a-assigned:Assigned', 'twin:Pending', 'a-queued:Queued']);
    expect(r.body.tasks[2]).toMatchObject({ namespace: 'c1', type: 'restart', node: 'node-a', waitReason: 'Conflict', message: 'waiting: restart of api in progress', priority: 5, maxRetries: 3 });
  });

  it("refuses a node another node's tasks", async () => {
    const r = await h.call('GET', '/api/v1/agents/node-b/tasks', undefined, { token: NODE_A });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ kind: 'Status', reason: 'Forbidden' });
    expect(r.body.message).toContain('node-a');
  });

  it('asks for a bearer token', async () => {
    expect((await h.call('GET', '/api/v1/tasks', undefined, { token: null })).status).toBe(401);
  });
});

describe('PUT /api/v1/tasks/:id/status', () => {
  it('lets the node claim, renew and complete its task, then refuses a second completion', async () => {
    const claim = await h.call('PUT', '/api/v1/tasks/a-assigned/status', { state: 'Running' }, { token: NODE_A });
    expect(claim.status).toBe(200);
    expect(claim.body).toMatchObject({ state: 'Running', attempts: 1, leaseHolder: 'node-a' });
    const stored = await h.store.get(K, 'c1', 'a-assigned');
    expect(Date.parse(stored.status!.leaseExpiresAt as string) - Date.parse(stored.status!.startedAt as string)).toBe(30_000);

    const renew = await h.call('PUT', '/api/v1/tasks/a-assigned/status', { state: 'Running', message: 'pulling' }, { token: NODE_A });
    expect(renew.body).toMatchObject({ state: 'Running', attempts: 1, message: 'pulling' });

    const done = await h.call('PUT', '/api/v1/tasks/a-assigned/status', { state: 'Completed', result: { containerID: 'p-123' } }, { token: NODE_A });
    expect(done.body).toMatchObject({ state: 'Completed', result: { containerID: 'p-123' } });
    expect(done.body.completedAt).toEqual(expect.any(String));

    const again = await h.call('PUT', '/api/v1/tasks/a-assigned/status', { state: 'Completed' }, { token: NODE_A });
    expect(again.status).toBe(409);
    expect(again.body.message).toBe('task "a-assigned" is Completed; only a Running task can complete');
  });

  it.each([
    ['another node\'s task', NODE_A, 'b-assigned', { state: 'Running' }, 403],
    ['a state agents do not report', NODE_B, 'b-assigned', { state: 'Cancelled' }, 400],
    ['a task that is not Assigned', NODE_A, 'a-queued', { state: 'Running' }, 409],
  ])('refuses %s', async (_t, token, id, body, code) => {
    const r = await h.call('PUT', `/api/v1/tasks/${id}/status`, body, { token });
    expect(r.status).toBe(code);
    expect(r.body.kind).toBe('Status');
  });
});

describe('stats, retry, cancel and namespaces', () => {
  it('counts tasks by state and by type', async () => {
    const r = await h.call('GET', '/api/v1/tasks/stats?namespace=c2');
    expect(r.body).toMatchObject({ namespace: 'c2', total: 1, byState: { Pending: 1, Running: 0 }, byType: { start: 1, deploy: 0 } });
    const all = await h.call('GET', '/api/v1/tasks/stats');
    expect(all.body.total).toBe(8);
    expect(all.body.byType.restart).toBe(2);
  });

  it('retries a Failed task with its retries used up, granting one more attempt; a Running one cannot be retried', async () => {
    const r = await h.call('POST', '/api/v1/tasks/b-failed/retry');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ state: 'Pending', attempts: 3, maxRetries: 4, message: 'retry requested by alice', reason: null });
    const bad = await h.call('POST', '/api/v1/tasks/b-running/retry');
    expect(bad.status).toBe(409);
    expect(bad.body.message).toContain('only Failed or Cancelled tasks can be retried');
  });

  it('cancels a waiting task at once, marks a Running one for later (202), and refuses a finished one', async () => {
    const q = await h.call('POST', '/api/v1/tasks/a-queued/cancel');
    expect(q.status).toBe(200);
    expect(q.body).toMatchObject({ state: 'Cancelled', reason: 'Cancelled', message: 'cancelled by alice' });
    const r = await h.call('POST', '/api/v1/tasks/b-running/cancel');
    expect(r.status).toBe(202);
    expect(r.body.state).toBe('Running');
    expect((await h.store.get(K, 'c1', 'b-running')).metadata.annotations?.[CANCEL_REQUESTED_ANNOTATION]).toEqual(expect.any(String));
    expect((await h.call('POST', '/api/v1/tasks/a-done/cancel')).status).toBe(409);
  });

  it('refuses writes to viewers and to nodes', async () => {
    expect((await h.call('POST', '/api/v1/tasks/twin/cancel?namespace=c1', undefined, { token: TOKENS.viewer })).status).toBe(403);
    expect((await h.call('POST', '/api/v1/tasks/twin/retry', undefined, { token: NODE_A })).status).toBe(403);
  });

  it('answers 409 for a name in two namespaces unless ?namespace= says which, and 404 for none', async () => {
    const amb = await h.call('GET', '/api/v1/tasks/twin');
    expect(amb.status).toBe(409);
    expect(amb.body.message).toBe('task name "twin" exists in namespaces c1, c2; pass ?namespace=');
    expect((await h.call('GET', '/api/v1/tasks/twin?namespace=c2')).body).toMatchObject({ id: 'twin', namespace: 'c2', node: 'node-x' });
    expect((await h.call('GET', '/api/v1/tasks/nope')).status).toBe(404);
  });

  it('shows a node only its own tasks in the general list', async () => {
    const r = await h.call('GET', '/api/v1/tasks', undefined, { token: NODE_B });
    expect(r.status).toBe(200);
    expect(new Set(r.body.tasks.map((t: { node: string }) => t.node))).toEqual(new Set(['node-b']));
  });
});

describe('drover tasks', () => {
  const drover = async (...args: string[]) => {
    const cap = captureIo({ env: { DROVER_CONFIG: '/nonexistent/drover-config' } });
    const code = await run(['--server', h.url, '--token', TOKENS.admin, '-n', 'c2', ...args], cap.io);
    return { code, out: cap.stdout(), err: cap.stderr() };
  };

  it('prints stats as STATE and TYPE tables', async () => {
    await h.store.create(K, task('c2-failed', 'c2', 'node-x', 'deploy', { state: 'Failed', attempts: 1, reason: 'ExitCode' }));
    const r = await drover('tasks', 'stats');
    expect(r.code).toBe(0);
    expect(r.out).toContain('2 tasks in namespace c2');
    expect(r.out).toMatch(/^STATE\s+COUNT$/m);
    expect(r.out).toMatch(/^Pending\s+1$/m);
    expect(r.out).toMatch(/^Failed\s+1$/m);
    expect(r.out).toMatch(/^TYPE\s+COUNT$/m);
    expect(r.out).toMatch(/^deploy\s+1$/m);
    expect(r.out).not.toMatch(/^restart/m); // types without tasks are left out
  });

  it('retries and cancels by name, and reports a refusal as an error', async () => {
    const retried = await drover('tasks', 'retry', 'c2-failed');
    expect(retried).toMatchObject({ code: 0, out: 'task.drover.dev/c2-failed queued for retry (1 of 3 attempts used)\n' });
    const cancelled = await drover('tasks', 'cancel', 'c2-failed');
    expect(cancelled).toMatchObject({ code: 0, out: 'task.drover.dev/c2-failed cancelled\n' });
    const again = await drover('tasks', 'cancel', 'c2-failed');
    expect(again.code).toBe(1);
    expect(again.err).toContain('task "c2-failed" is already Cancelled');
  });
});
