// The prune decision shared by `drover apply --prune --applyset` and the GitOps controller (core/apply-set.ts).
import { describe, it, expect } from '@jest/globals';
import {
  APPLYSET_PART_OF_LABEL, applySetId, memberKey, ownedByAnotherSet, planPrune, scopeOf, unionScope, withMembership,
} from '../../core/apply-set.ts';
import { labelValue } from '../../core/names.ts';
import { parseLabelSelector } from '../../core/selectors.ts';
import type { KubeObject } from '../../core/types.ts';

const SET = applySetId({ kind: 'ApplySet', group: 'drover.dev', name: 'web', namespace: 'demo' });
const OTHER = applySetId({ kind: 'ApplySet', group: 'drover.dev', name: 'db', namespace: 'demo' });

function obj(kind: string, name: string, labels: Record<string, string> = {}, extra: Partial<KubeObject['metadata']> = {}): KubeObject {
  return { apiVersion: 'drover.dev/v1alpha1', kind, metadata: { name, namespace: 'demo', uid: `uid-${kind}-${name}`, labels, ...extra } };
}
const member = (kind: string, name: string, labels: Record<string, string> = {}, extra: Partial<KubeObject['metadata']> = {}) =>
  obj(kind, name, { ...labels, [APPLYSET_PART_OF_LABEL]: SET }, extra);
const ref = (kind: string, name: string) => ({ kind, namespace: 'demo', name });

describe('applySetId', () => {
  it('is a valid label value, stable, and differs by name, namespace and parent kind', () => {
    expect(labelValue(SET)).toEqual([]);
    expect(SET).toMatch(/^applyset-[A-Za-z0-9_-]{43}-v1$/);
    expect(applySetId({ kind: 'ApplySet', group: 'drover.dev', name: 'web', namespace: 'demo' })).toBe(SET);
    const variants = [
      applySetId({ kind: 'ApplySet', group: 'drover.dev', name: 'web2', namespace: 'demo' }),
      applySetId({ kind: 'ApplySet', group: 'drover.dev', name: 'web', namespace: 'prod' }),
      // a GitRepository named like a CLI set is another set: neither prunes the other's objects
      applySetId({ kind: 'GitRepository', group: 'drover.dev', name: 'web', namespace: 'demo' }),
    ];
    expect(new Set([SET, ...variants]).size).toBe(4);
  });
});

describe('planPrune', () => {
  it.each([
    ['a member the new apply lacks is pruned', [member('Container', 'old')], [], ['Container/demo/old']],
    ['a member the new apply holds stays', [member('Container', 'web')], [ref('Container', 'web')], []],
    ['an object of the same kind and namespace without the label survives', [obj('Container', 'hand-made')], [], []],
    ['an object applied by another set survives', [obj('Container', 'db', { [APPLYSET_PART_OF_LABEL]: OTHER })], [], []],
    ['a member already being deleted is not deleted again', [member('Container', 'going', {}, { deletionTimestamp: '2026-01-01T00:00:00Z' })], [], []],
    ['the same name of another kind is another object', [member('AgentDeployment', 'web')], [ref('Container', 'web')], ['AgentDeployment/demo/web']],
    ['an object listed twice is pruned once', [member('Container', 'old'), member('Container', 'old')], [], ['Container/demo/old']],
  ] as const)('%s', (_what, live, desired, want) => {
    expect(planPrune({ setId: SET, desired: [...desired], live: [...live] }).map(memberKey)).toEqual(want);
  });

  it('prunes in reverse apply order (what depends on others first) and keeps the uid as a precondition', () => {
    const live = [member('Container', 'c'), member('Cluster', 'x'), member('AgentDeployment', 'a'), member('Agent', 'g'), member('GitRepository', 'r')];
    const plan = planPrune({ setId: SET, desired: [], live });
    expect(plan.map((r) => r.kind)).toEqual(['GitRepository', 'Agent', 'AgentDeployment', 'Container', 'Cluster']);
    expect(plan[0].uid).toBe('uid-GitRepository-r');
  });

  it('with a selector, prunes only members that match it', () => {
    const live = [member('Container', 'a', { tier: 'web' }), member('Container', 'b', { tier: 'db' })];
    expect(planPrune({ setId: SET, desired: [], live, selector: parseLabelSelector('tier=web') }).map((r) => r.name)).toEqual(['a']);
  });
});

describe('membership', () => {
  it('labels a copy, and tells an object owned by another set from ours and from an unowned one', () => {
    const o = obj('Container', 'web', { tier: 'web' });
    const m = withMembership(o, SET);
    expect(m.metadata.labels).toEqual({ tier: 'web', [APPLYSET_PART_OF_LABEL]: SET });
    expect(o.metadata.labels).toEqual({ tier: 'web' });
    expect(ownedByAnotherSet(m, SET)).toBeUndefined();
    expect(ownedByAnotherSet(o, SET)).toBeUndefined();
    expect(ownedByAnotherSet(undefined, SET)).toBeUndefined();
    expect(ownedByAnotherSet(withMembership(o, OTHER), SET)).toBe(OTHER);
  });

  it('scopes: kinds and namespaces, sorted and unique; the union keeps both', () => {
    const a = scopeOf([{ kind: 'Container', group: 'drover.dev', namespace: 'demo' }, { kind: 'Container', group: 'drover.dev', namespace: 'a' }]);
    expect(a).toEqual({ groupKinds: ['Container.drover.dev'], namespaces: ['a', 'demo'] });
    const b = scopeOf([{ kind: 'Cluster', group: 'drover.dev' }]);
    expect(b).toEqual({ groupKinds: ['Cluster.drover.dev'], namespaces: [] });
    expect(unionScope(a, b)).toEqual({ groupKinds: ['Cluster.drover.dev', 'Container.drover.dev'], namespaces: ['a', 'demo'] });
  });
});
