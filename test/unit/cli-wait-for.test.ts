import { describe, it, expect } from '@jest/globals';
import { conditionMet, parseDuration, parseWaitFor } from '../../cli/wait-for.ts';
import type { KubeObject } from '../../core/types.ts';

const obj: KubeObject = {
  apiVersion: 'drover.dev/v1alpha1', kind: 'AgentDeployment', metadata: { name: 'trading' },
  status: { phase: 'Running', replicas: 3, conditions: [{ type: 'Available', status: 'True' }, { type: 'Degraded', status: 'False' }] },
};

describe('wait --for', () => {
  it.each([
    ['condition=Available', true],
    ['condition=available=true', true],
    ['condition=Degraded', false],
    ['condition=Degraded=False', true],
    ['condition=Progressing', false],
    ['jsonpath={.status.phase}=Running', true],
    ["jsonpath='{.status.phase}'=Running", true],
    ['jsonpath={.status.phase}=Failed', false],
    ['jsonpath={.status.replicas}=3', true],
    ['jsonpath={.status.conditions[0].type}=Available', true],
    ['jsonpath={.status.phase}', true],
    ['jsonpath={.status.missing}', false],
    ['delete', false],
  ])('%s on a live object → %s', (spec, expected) => {
    expect(conditionMet(parseWaitFor(spec), obj)).toBe(expected);
  });

  it('delete is met once the object is gone; nothing else is', () => {
    expect(conditionMet(parseWaitFor('delete'), undefined)).toBe(true);
    expect(conditionMet(parseWaitFor('condition=Available'), undefined)).toBe(false);
  });

  it.each(['ready', 'condition=', 'jsonpath=status.phase'])('rejects %s as a usage error', (spec) => {
    expect(() => parseWaitFor(spec)).toThrow(expect.objectContaining({ exitCode: 2 }));
  });

  it.each([['30s', 30_000], ['2m', 120_000], ['1m30s', 90_000], ['500ms', 500], ['5', 5000], ['1h', 3_600_000]])('duration %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '5x', 'soon', '10s5'])('rejects duration %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/invalid duration/);
  });
});
