import { describe, it, expect, jest } from '@jest/globals';
import { run } from '../../cli/main.ts';
import { loadRegistry } from '../../core/crds.ts';
import type { KubeObject } from '../../core/types.ts';
import { captureIo, fakeApi } from './cli-fake-api.ts';

const registry = loadRegistry();
jest.setTimeout(15000);
const A = '/apis/drover.dev/v1alpha1';
const PATH = `${A}/namespaces/default/agentdeployments/trading`;

function ad(rv: string, available?: 'True' | 'False'): KubeObject {
  return {
    apiVersion: 'drover.dev/v1alpha1', kind: 'AgentDeployment',
    metadata: { name: 'trading', namespace: 'default', resourceVersion: rv, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { agentType: 'trading', replicas: 2, template: { command: ['node'] } },
    status: available ? { replicas: 2, readyReplicas: 2, conditions: [{ type: 'Available', status: available }] } : {},
  };
}

function start(argv: string[], api: ReturnType<typeof fakeApi>, signal?: AbortSignal) {
  const cap = captureIo({ fetch: api.fetch, registry, signal, now: () => Date.parse('2026-01-01T00:10:00Z') });
  cap.io.env = { DROVER_CONFIG: '/nonexistent/drover-config' };
  return { done: run(argv, cap.io), cap };
}

describe('drover wait', () => {
  it('returns as soon as a watch event meets the condition', async () => {
    const api = fakeApi();
    api.put(PATH, ad('5', 'False'));
    const { done, cap } = start(['wait', 'ad/trading', '--for=condition=Available', '--timeout=10s'], api);
    await api.watchesOpened(1);
    api.emit({ type: 'MODIFIED', object: ad('6', 'True') });
    expect(await done).toBe(0);
    expect(cap.stdout()).toBe('agentdeployment.drover.dev/trading condition met\n');
    const watch = api.requests.find((r) => r.query.get('watch') === 'true')!;
    expect(watch.query.get('resourceVersion')).toBe('100');
    expect(watch.query.get('fieldSelector')).toBe('metadata.name=trading');
  });

  it('is met at once when the object already satisfies it (no watch)', async () => {
    const api = fakeApi();
    api.put(PATH, ad('5', 'True'));
    const { done } = start(['wait', 'ad', 'trading', '--for', 'jsonpath={.status.readyReplicas}=2'], api);
    expect(await done).toBe(0);
    expect(api.requests.some((r) => r.query.get('watch') === 'true')).toBe(false);
  });

  it('times out with the kubectl message and exit 1', async () => {
    const api = fakeApi();
    api.put(PATH, ad('5', 'False'));
    const { done, cap } = start(['wait', 'ad/trading', '--for=condition=Available', '--timeout=200ms'], api);
    expect(await done).toBe(1);
    expect(cap.stderr()).toBe('error: timed out waiting for the condition on agentdeployments/trading\n');
  });

  it('--for=delete finishes on the DELETED event', async () => {
    const api = fakeApi();
    api.put(PATH, ad('5'));
    const { done, cap } = start(['wait', 'ad/trading', '--for=delete'], api);
    await api.watchesOpened(1);
    api.emit({ type: 'DELETED', object: ad('7') });
    expect(await done).toBe(0);
    expect(cap.stdout()).toBe('agentdeployment.drover.dev/trading deleted\n');
  });

  it('relists after a 410 ERROR event and still sees the condition', async () => {
    const api = fakeApi();
    api.put(PATH, ad('5', 'False'));
    const { done } = start(['wait', 'ad/trading', '--for=condition=Available', '--timeout=10s'], api);
    await api.watchesOpened(1);
    api.put(PATH, ad('9', 'True'));
    api.emit({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 410, reason: 'Expired', message: 'too old' } });
    expect(await done).toBe(0);
  });
});

describe('drover get -w', () => {
  it('prints the table, then a row per change, and exits 0 on Ctrl-C', async () => {
    const api = fakeApi();
    api.put(PATH, ad('5'));
    const ctrl = new AbortController();
    const { done, cap } = start(['get', 'ad', '-w'], api, ctrl.signal);
    await api.watchesOpened(1);
    api.emit({ type: 'BOOKMARK', object: { kind: 'AgentDeployment', apiVersion: 'drover.dev/v1alpha1', metadata: { resourceVersion: '8' } } });
    api.emit({ type: 'MODIFIED', object: { ...ad('9'), metadata: { ...ad('9').metadata, name: 'risk' } } });
    await new Promise((r) => setTimeout(r, 50));
    ctrl.abort();
    expect(await done).toBe(0);
    const lines = cap.stdout().trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^NAME\s/);
    expect(lines[1]).toMatch(/^trading\s/);
    expect(lines[2]).toMatch(/^risk\s/);
    // rows stay aligned with the header
    const secondColumn = (l: string) => l.search(/\s\S/) + 1;
    expect(new Set(lines.map(secondColumn)).size).toBe(1);
  });
});
