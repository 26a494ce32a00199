// The pure parts of GitOps: drift comparison, the per-object decision, reading a revision with file:line
// errors, source checks, dependency gating and a status that does not change when nothing happened.
import { describe, it, expect } from '@jest/globals';
import { APPLYSET_PART_OF_LABEL } from '../../core/apply-set.ts';
import { loadRegistry } from '../../core/crds.ts';
import { driftedFields, sameDesiredState } from '../../core/drift.ts';
import { fetchPlan, gitPathProblem, gitRefProblem, gitUrlProblem, normalizeGitPath } from '../../core/git-source.ts';
import { LAST_APPLIED, withLastApplied } from '../../core/last-applied.ts';
import { applyMergePatch } from '../../core/patch.ts';
import type { KubeObject } from '../../core/types.ts';
import { createValidator } from '../../core/validation.ts';
import { readRevision } from '../../reconcilers/gitops-revision.ts';
import {
  GITOPS_REQUESTED_AT_ANNOTATION, decideMember, dependencyWait, gitOpsSettings, gitOpsStatus, pendingRequest, readyAtLatest,
} from '../../reconcilers/gitops-sync.ts';

const registry = loadRegistry();
const validator = createValidator(registry);
const containers = registry.resolve('Container')!;
const SET = 'applyset-test-v1';
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

function container(spec: Record<string, unknown>, labels: Record<string, string> = { tier: 'web' }): KubeObject {
  return { apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name: 'web', namespace: 'demo', labels: { ...labels, [APPLYSET_PART_OF_LABEL]: SET } }, spec };
}

/** What the store holds after an apply of `manifest`: defaulted, with the last-applied record and server fields. */
function stored(manifest: KubeObject): KubeObject {
  const o = validator.admit(containers, withLastApplied(manifest));
  o.metadata = { ...o.metadata, uid: 'u1', resourceVersion: '7', generation: 1, finalizers: ['drover.dev/container'] };
  o.status = { phase: 'Pending' };
  return o;
}

function member(manifest: KubeObject) {
  return { rt: containers, manifest, defaulted: validator.admit(containers, manifest) };
}

describe('drift', () => {
  const manifest = container({ image: 'web:1', ports: [{ containerPort: 80 }], env: [{ name: 'A', value: '1' }] });

  it('names exactly the fields the manifest sets that differ; fields it leaves alone never count', () => {
    const live = applyMergePatch<KubeObject>(stored(manifest), {
      metadata: { labels: { tier: 'hacked', extra: 'x' } },
      spec: { image: 'evil', restartPolicy: 'Never', env: [{ name: 'A', value: '2' }] },
      status: { phase: 'Running' },
    });
    expect(driftedFields(manifest, validator.admit(containers, manifest), live).sort()).toEqual(['metadata.labels[tier]', 'spec.env', 'spec.image']);
  });

  it('a list item the server completed with defaults (ports[].protocol) is not drift', () => {
    const live = stored(manifest);
    expect((live.spec!.ports as Array<Record<string, unknown>>)[0].protocol).toBe('TCP');
    expect(driftedFields(manifest, validator.admit(containers, manifest), live)).toEqual([]);
  });

  it('null in a manifest means unset: a value set by hand is drift', () => {
    const m = container({ image: 'web:1', nodeName: null });
    const live = applyMergePatch<KubeObject>(stored(container({ image: 'web:1' })), { spec: { nodeName: 'n1' } });
    expect(driftedFields(m, validator.admit(containers, container({ image: 'web:1' })), live)).toEqual(['spec.nodeName']);
  });

  it('sameDesiredState ignores status and server metadata, not labels or annotations', () => {
    const a = stored(manifest);
    const b = applyMergePatch<KubeObject>(a, { status: { phase: 'Running' }, metadata: { resourceVersion: '9', finalizers: [] } });
    expect(sameDesiredState(a, b)).toBe(true);
    expect(sameDesiredState(a, applyMergePatch<KubeObject>(a, { metadata: { annotations: { x: 'y' } } }))).toBe(false);
  });
});

describe('decideMember', () => {
  const manifest = container({ image: 'web:1', ports: [{ containerPort: 80 }] });

  it.each([
    ['missing → create', undefined, false, 'create'],
    ['as applied (defaults and status added by the server) → unchanged', stored(manifest), false, 'unchanged'],
  ] as const)('%s', (_what, live, revisionApplied, action) => {
    expect(decideMember(member(manifest), live, { revisionApplied }).action).toBe(action);
  });

  it('missing again after its revision was applied → created again (drift)', () => {
    expect(decideMember(member(manifest), undefined, { revisionApplied: true })).toMatchObject({ action: 'create', recreated: true });
  });

  it('edited by hand, manifest unchanged → set back, naming the fields; other hand-made fields stay', () => {
    const live = applyMergePatch<KubeObject>(stored(manifest), { spec: { image: 'evil', restartPolicy: 'Never' } });
    const d = decideMember(member(manifest), live, { revisionApplied: false });
    expect(d).toMatchObject({ action: 'update', drift: ['spec.image'] });
    if (d.action !== 'update') throw new Error('unreachable');
    expect(d.object.spec).toMatchObject({ image: 'web:1', restartPolicy: 'Never' });
    expect(d.object.status).toEqual({ phase: 'Pending' });
    expect(d.object.metadata.uid).toBe('u1');
  });

  it('a new manifest → configured (no drift), and a field the repository dropped is removed', () => {
    const before = container({ image: 'web:1', ports: [{ containerPort: 80 }], restartPolicy: 'OnFailure' });
    const d = decideMember(member(manifest), stored(before), { revisionApplied: false });
    expect(d.action).toBe('update');
    if (d.action !== 'update') throw new Error('unreachable');
    expect(d.drift).toBeUndefined();
    expect(d.object.spec!.restartPolicy).toBeUndefined();
    expect(JSON.parse(d.object.metadata.annotations![LAST_APPLIED])).toEqual(manifest);
  });
});

describe('readRevision', () => {
  const ctx = { registry, namespace: 'demo', setId: SET };
  const file = (path: string, text: string) => ({ path, text });
  const ok = `apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: web}
spec: {image: web:1}
status: {phase: Running}
`;

  it('sets the namespace and the membership label, drops status and server fields, and orders by kind', () => {
    const { members, errors } = readRevision([
      file('b.yaml', 'apiVersion: drover.dev/v1alpha1\nkind: AgentDeployment\nmetadata: {name: ad, uid: x, resourceVersion: "5"}\nspec: {agentType: t, template: {}}\n'),
      file('a.yml', ok),
    ], ctx);
    expect(errors).toEqual([]);
    expect(members.map((m) => `${m.rt.kind}/${m.ref.name}`)).toEqual(['Container/web', 'AgentDeployment/ad']);
    expect(members[0].manifest.metadata).toEqual({ name: 'web', namespace: 'demo', labels: { [APPLYSET_PART_OF_LABEL]: SET } });
    expect(members[0].manifest.status).toBeUndefined();
    expect(members[1].manifest.metadata.uid).toBeUndefined();
  });

  it.each([
    ['a YAML syntax error', 'apps/x.yaml', 'kind: [unclosed\n', /^apps\/x\.yaml:\d+:\d+: YAML syntax error/],
    ['an unknown kind', 'x.yaml', 'apiVersion: drover.dev/v1alpha1\nkind: Pod\nmetadata: {name: p}\n', /^x\.yaml:2:7: kind: no kind "Pod"/],
    ['a cluster-scoped kind', 'x.yaml', 'apiVersion: drover.dev/v1alpha1\nkind: Cluster\nmetadata: {name: c}\n', /^x\.yaml:2:7: kind: Cluster is cluster-scoped/],
    ['another namespace', 'x.yaml', 'apiVersion: drover.dev/v1alpha1\nkind: Container\nmetadata:\n  name: c\n  namespace: prod\nspec: {image: i}\n', /^x\.yaml:5:14: metadata\.namespace: .*own namespace "demo"/],
    ['no name', 'x.yaml', 'apiVersion: drover.dev/v1alpha1\nkind: Container\nmetadata: {labels: {a: b}}\nspec: {image: i}\n', /^x\.yaml:3:\d+: metadata\.name: Required value/],
    ['a foreign membership label', 'x.yaml', `apiVersion: drover.dev/v1alpha1\nkind: Container\nmetadata: {name: c, labels: {${APPLYSET_PART_OF_LABEL}: other}}\nspec: {image: i}\n`, /the repository sets this label itself/],
  ])('%s is an error at its file:line', (_what, path, text, want) => {
    const { members, errors } = readRevision([file(path, text)], ctx);
    expect(members).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(want);
  });

  it('the same object twice is an error pointing at both places', () => {
    const { members, errors } = readRevision([file('a.yaml', ok), file('b.yaml', `---\n${ok}`)], ctx);
    expect(members).toHaveLength(1);
    expect(errors).toEqual([expect.stringMatching(/^b\.yaml:4:18: metadata\.name: Container "web" is defined twice: first at a\.yaml:1$/)]);
  });

  it('one bad file does not hide the others: every problem is listed', () => {
    const { errors } = readRevision([file('a.yaml', 'kind: [\n'), file('b.yaml', 'apiVersion: drover.dev/v1alpha1\nkind: Pod\nmetadata: {name: p}\n'), file('c.yaml', ok)], ctx);
    expect(errors.map((e) => e.split(':')[0])).toEqual(['a.yaml', 'b.yaml']);
  });
});

describe('source checks', () => {
  it.each([
    ['/srv/git/apps.git', undefined],
    ['file:///srv/git/apps.git', undefined],
    ['https://git.example.com/team/apps.git', undefined],
    ['http://127.0.0.1:8080/apps.git', undefined],
    ['--upload-pack=touch /tmp/x', 'url must not contain spaces'],
    ['--upload-pack=/bin/sh', 'url must be an absolute path'],
    ['-u/bin/sh', 'url must be an absolute path'],
    ['ext::sh -c id', 'url must not contain spaces'],
    ['ext::sh', 'url must be an absolute path'],
    ['ssh://git@example.com/x.git', 'url must be an absolute path'],
    ['git@example.com:x.git', 'url must be an absolute path'],
    ['relative/path', 'url must be an absolute path'],
    ['https://user:secret@example.com/x.git', 'url must not carry credentials'],
    ['', 'url is required'],
  ])('url %j', (url, problem) => {
    const p = gitUrlProblem(url);
    if (problem === undefined) expect(p).toBeUndefined();
    else expect(p).toContain(problem);
  });

  it.each([
    [{ branch: 'main' }, undefined],
    [{ tag: 'v1.2.3' }, undefined],
    [{ commit: 'abcdef0' }, undefined],
    [{ branch: 'main', tag: 'v1' }, 'only one of'],
    [{ branch: '-x' }, 'not a valid git reference'],
    [{ branch: 'a..b' }, 'not a valid git reference'],
    [{ commit: 'HEAD' }, 'hex digits'],
  ])('ref %j', (ref, problem) => {
    const p = gitRefProblem(ref);
    if (problem === undefined) expect(p).toBeUndefined();
    else expect(p).toContain(problem);
  });

  it('paths stay inside the repository', () => {
    expect(gitPathProblem('apps/prod')).toBeUndefined();
    expect(gitPathProblem('../etc')).toContain('..');
    expect(gitPathProblem('/etc')).toContain('relative');
    expect([normalizeGitPath('.'), normalizeGitPath('./apps/'), normalizeGitPath(undefined)]).toEqual(['', 'apps', '']);
  });

  it('fetches only what the ref needs, never option-like arguments', () => {
    expect(fetchPlan({ branch: 'main' })).toEqual({ refspecs: ['+refs/heads/main:refs/heads/main'], resolve: 'refs/heads/main' });
    expect(fetchPlan(undefined).resolve).toBe('refs/drover/HEAD');
    expect(fetchPlan({ commit: 'abcdef0' }).resolve).toBe('abcdef0');
  });
});

function repo(name: string, status: Record<string, unknown> | undefined, extra: Partial<KubeObject> = {}): KubeObject {
  return {
    apiVersion: 'drover.dev/v1alpha1', kind: 'GitRepository',
    metadata: { name, namespace: 'demo', uid: `u-${name}`, generation: 1 },
    spec: { url: '/srv/git/x.git', interval: '2s' },
    ...(status ? { status } : {}),
    ...extra,
  };
}
const readyStatus = (rev: string, attempted = rev) => ({
  observedGeneration: 1, lastAppliedRevision: rev, lastAttemptedRevision: attempted,
  conditions: [{ type: 'Ready', status: 'True', reason: 'Succeeded', message: 'ok' }],
});

describe('dependencies', () => {
  it.each([
    ['Ready at its latest revision', readyStatus('a'), true],
    ['never reconciled', undefined, false],
    ['a newer revision was rejected', readyStatus('a', 'b'), false],
  ] as const)('%s → ready %s', (_what, status, ready) => {
    expect(readyAtLatest(repo('base', status)).ready).toBe(ready);
  });

  it('names every dependency it waits for', () => {
    const settings = gitOpsSettings(repo('apps', undefined, { spec: { url: '/x', dependsOn: ['base', 'missing'] } }));
    const all: Record<string, KubeObject> = { base: repo('base', readyStatus('a', 'b')) };
    expect(dependencyWait(settings, 'demo', (n) => all[n])).toBe(
      'waiting for GitRepository demo/base (its latest revision b is not applied), GitRepository demo/missing (not found)');
    all.base = repo('base', readyStatus('b'));
    expect(dependencyWait({ ...settings, dependsOn: ['base'] }, 'demo', (n) => all[n])).toBeUndefined();
  });
});

describe('status', () => {
  const inventory = [{ kind: 'Container', namespace: 'demo', name: 'web' }];

  it('applying the same revision again with nothing changed yields the very same status (so nothing is written)', () => {
    const first = gitOpsStatus(repo('apps', undefined), { kind: 'applied', revision: 'abc', inventory }, { now: NOW, changed: true });
    const again = gitOpsStatus(repo('apps', first as Record<string, unknown>), { kind: 'applied', revision: 'abc', inventory }, { now: NOW + 60_000, changed: false });
    expect(again).toEqual(first);
    expect(first.lastSyncTime).toBe('2026-11-23T12:00:00Z');
  });

  it('a rejected revision keeps the applied one and the inventory, and lists the errors', () => {
    const applied = gitOpsStatus(repo('apps', undefined), { kind: 'applied', revision: 'abc', inventory }, { now: NOW, changed: true });
    const st = gitOpsStatus(repo('apps', applied as Record<string, unknown>), { kind: 'rejected', revision: 'def', errors: ['x.yaml:3:1: bad'] }, { now: NOW, changed: false });
    expect(st).toMatchObject({ lastAppliedRevision: 'abc', lastAttemptedRevision: 'def', inventory, errors: ['x.yaml:3:1: bad'] });
    expect(st.conditions!.map((c) => `${c.type}=${c.status}`)).toEqual(['Ready=False', 'Reconciling=False', 'Stalled=True']);
    expect(st.conditions![0].message).toContain('revision abc stays applied');
  });

  it('records the sync request it handled', () => {
    const r = repo('apps', undefined);
    r.metadata.annotations = { [GITOPS_REQUESTED_AT_ANNOTATION]: '2026-11-23T12:00:00.000Z' };
    expect(pendingRequest(r)).toBe('2026-11-23T12:00:00.000Z');
    const st = gitOpsStatus(r, { kind: 'applied', revision: 'abc', inventory }, { now: NOW, changed: false });
    expect(pendingRequest({ ...r, status: st as Record<string, unknown> })).toBeUndefined();
  });

  it('a spec the controller cannot use is Stalled with the reasons', () => {
    const settings = gitOpsSettings(repo('apps', undefined, { spec: { url: 'ssh://x/y.git', ref: { branch: 'a', tag: 'b' } } }));
    expect(settings.problems).toEqual([expect.stringContaining('spec.url'), expect.stringContaining('spec.ref')]);
  });
});
