import { describe, it, expect } from '@jest/globals';
import { CLIError } from '../../cli/cli-error.ts';
import { describeText } from '../../cli/commands/describe.ts';
import { objectDiff } from '../../cli/commands/diff.ts';
import { refName, resolveKinds } from '../../cli/kinds.ts';
import { formatError, StreamingTable } from '../../cli/output.ts';
import { orderForApply, withLastApplied, LAST_APPLIED } from '../../cli/prepare.ts';
import { ConnectionError } from '../../core/client.ts';
import { CliConfigError } from '../../core/cli-config.ts';
import { loadRegistry } from '../../core/crds.ts';
import { Forbidden, NotFound } from '../../core/errors.ts';
import type { KubeObject } from '../../core/types.ts';

const registry = loadRegistry();

describe('kind resolution', () => {
  it.each([
    ['ad', ['AgentDeployment']],
    ['agentdeployments', ['AgentDeployment']],
    ['AgentDeployment', ['AgentDeployment']],
    ['agentdeployment.drover.dev', ['AgentDeployment']],
    ['agents,containers', ['Agent', 'Container']],
    ['all', ['Cluster', 'Node', 'Container', 'AgentDeployment', 'Agent', 'Task', 'Event', 'ApplySet', 'GitRepository']],
    ['ad,agentdeployments', ['AgentDeployment']],
  ])('%s → %j', (spec, kinds) => {
    expect(resolveKinds(registry, spec).map((rt) => rt.kind)).toEqual(kinds);
  });

  it('prints qualified names the way kubectl does', () => {
    expect(refName(registry.resolve('ad')!, 'trading')).toBe('agentdeployment.drover.dev/trading');
  });
});

describe('apply order', () => {
  it('sorts by kind and keeps file order within a kind', () => {
    const items = ['Event', 'Agent', 'AgentDeployment:b', 'Container', 'AgentDeployment:a', 'Node', 'Task', 'Cluster'].map((k) => {
      const [kind, tag] = k.split(':');
      return { rt: registry.resolve(kind)!, tag: tag ?? kind };
    });
    expect(orderForApply(items).map((i) => i.tag)).toEqual(['Cluster', 'Node', 'Container', 'b', 'a', 'Agent', 'Task', 'Event']);
  });

  it('records the manifest (without the annotation itself) as compact JSON', () => {
    const obj: KubeObject = { apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'c', annotations: { team: 'x' } } };
    const out = withLastApplied(obj);
    expect(out.metadata.annotations?.team).toBe('x');
    expect(out.metadata.annotations?.[LAST_APPLIED]).toBe('{"apiVersion":"drover.dev/v1alpha1","kind":"Cluster","metadata":{"name":"c","annotations":{"team":"x"}}}');
    expect(withLastApplied(out).metadata.annotations?.[LAST_APPLIED]).toBe(out.metadata.annotations?.[LAST_APPLIED]);
  });
});

describe('error lines', () => {
  it.each([
    ['CLIError with hint', new CLIError('bad thing', { hint: 'do this' }), 'error: bad thing (do this)\n', 1],
    ['usage CLIError', new CLIError('usage', { exitCode: 2 }), 'error: usage\n', 2],
    ['NotFound', new NotFound('agentdeployments.drover.dev "x" not found'), 'error: agentdeployments.drover.dev "x" not found\n', 1],
    ['Forbidden', new Forbidden('no'), 'error: no (your token is not allowed to do this)\n', 1],
    ['ConnectionError', new ConnectionError('http://h', 'cannot reach the drover manager at http://h: x'), 'error: cannot reach the drover manager at http://h: x\n', 1],
    ['CliConfigError', new CliConfigError('/c', 'invalid YAML: oops'), 'error: /c: invalid YAML: oops\n', 1],
    ['a thrown string', 'weird', 'error: weird\n', 1],
  ])('%s', (_what, err, text, code) => {
    expect(formatError(err)).toEqual({ text, exitCode: code });
  });
});

describe('tables', () => {
  it('streamed rows keep the widths of the table printed before them', () => {
    const t = new StreamingTable();
    expect(t.formatAll([['NAME', 'READY'], ['trading', '1/2']])).toEqual(['NAME      READY', 'trading   1/2']);
    expect(t.format(['a', '2/2'])).toBe('a         2/2');
  });
});

describe('describe', () => {
  it('prints metadata, spec, status, conditions and events kubectl-style', () => {
    const rt = registry.resolve('ad')!;
    const obj: KubeObject = {
      apiVersion: 'drover.dev/v1alpha1', kind: 'AgentDeployment',
      metadata: { name: 'trading', namespace: 'customer1', labels: { a: '1', b: '2' }, annotations: { [LAST_APPLIED]: '{}' }, creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: { agentType: 'trading', replicas: 2 },
      status: { replicas: 2, conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'ok', lastTransitionTime: '2026-01-01T00:01:00Z' }] },
    };
    const ev: KubeObject = { apiVersion: 'drover.dev/v1alpha1', kind: 'Event', metadata: { name: 'e1', creationTimestamp: '2026-01-01T00:02:00Z' },
      type: 'Normal', reason: 'Scheduled', message: 'placed 2 replicas', source: { component: 'scheduler' }, lastTimestamp: '2026-01-01T00:02:00Z' };
    const text = describeText(rt, obj, [ev], Date.parse('2026-01-01T00:05:00Z'));
    expect(text).toBe([
      'Name:         trading',
      'Namespace:    customer1',
      'Labels:       a=1',
      '              b=2',
      'Annotations:  <none>',
      'API Version:  drover.dev/v1alpha1',
      'Kind:         AgentDeployment',
      'Created:      2026-01-01T00:00:00Z (5m ago)',
      'Spec:',
      '  agentType: trading',
      '  replicas: 2',
      'Status:',
      '  replicas: 2',
      'Conditions:',
      '  Type        Status   Reason                     Message   Last Transition',
      '  Available   True     MinimumReplicasAvailable   ok        2026-01-01T00:01:00Z',
      'Events:',
      '  Type     Reason      Age   From        Message',
      '  Normal   Scheduled   3m    scheduler   placed 2 replicas',
      '',
    ].join('\n'));
  });
});

describe('diff of objects', () => {
  it('ignores fields that change on every write', () => {
    const base: KubeObject = { apiVersion: 'v', kind: 'K', metadata: { name: 'n', resourceVersion: '1', uid: 'u', generation: 1, creationTimestamp: 't' }, spec: { a: 1 } };
    const bumped = { ...base, metadata: { ...base.metadata, resourceVersion: '9', generation: 4 } };
    expect(objectDiff('k/n', base, bumped)).toBe('');
    expect(objectDiff('k/n', base, { ...bumped, spec: { a: 2 } })).toContain('-  a: 1\n+  a: 2\n');
  });
});
