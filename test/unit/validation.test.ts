import { describe, it, expect } from '@jest/globals';
import { loadRegistry } from '../../core/crds.ts';
import { createValidator } from '../../core/validation.ts';
import { Invalid } from '../../core/errors.ts';
import type { KubeObject, StatusCause } from '../../core/types.ts';

const registry = loadRegistry();
const v = createValidator(registry);
const rt = (name: string) => registry.resolve(name)!;

const deployment = (spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'drover.dev/v1alpha1', kind: 'AgentDeployment',
  metadata: { name: 'trading', namespace: 'demo', ...metadata },
  spec: { agentType: 'trading', template: { command: ['node', 'agent.js'] }, ...spec },
});
const container = (spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name: 'c1', namespace: 'demo', ...metadata }, spec: { image: 'x', ...spec },
});
const causesOf = (kind: string, obj: KubeObject) => v.check(rt(kind), obj).causes;
const fields = (causes: StatusCause[]) => causes.map((c) => c.field);

describe('defaulting', () => {
  it('applies defaults at every depth, including inside arrays of objects, on a copy', () => {
    const input = container({ ports: [{ containerPort: 80 }, { containerPort: 53, protocol: 'UDP' }], healthCheck: { http: { port: 80 } } });
    const out = v.admit(rt('Container'), input);
    expect(out.spec).toMatchObject({
      restartPolicy: 'Always', state: 'Running', managed: true, imagePullPolicy: 'IfNotPresent',
      ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 53, protocol: 'UDP' }],
      healthCheck: { http: { port: 80, path: '/', scheme: 'HTTP' }, interval: '10s', retries: 3 },
    });
    expect(input.spec).toEqual({ image: 'x', ports: [{ containerPort: 80 }, { containerPort: 53, protocol: 'UDP' }], healthCheck: { http: { port: 80 } } });
  });

  it.each([
    ['Cluster with no spec', { apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'demo' } },
      { spec: { placement: { strategy: 'LeastLoaded' }, failurePolicy: { heartbeatInterval: '2s', gracePeriod: '10s' },
        rebalancePolicy: { enabled: false, interval: '5m', threshold: 0.2, maxMigrationsPerRound: 5 } } }],
    ['AgentDeployment', deployment(), { spec: { replicas: 1, placement: { strategy: 'LeastLoaded' }, disruption: { maxUnavailable: 1 },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } } }],
    ['Task', { apiVersion: 'drover.dev/v1alpha1', kind: 'Task', metadata: { name: 't1', namespace: 'demo' }, spec: { type: 'restart', target: { kind: 'Container', name: 'c1' } } },
      { spec: { priority: 5, maxRetries: 3, timeout: '5m' } }],
  ] as const)('%s gets the documented defaults', (_what, obj, expected) => {
    expect(v.admit(rt((obj as KubeObject).kind), obj as KubeObject)).toMatchObject(expected);
  });

  it('keeps values the user set and treats null as absent', () => {
    const out = v.admit(rt('AgentDeployment'), deployment({ replicas: 0, placement: { strategy: 'Spread' }, disruption: null }));
    expect(out.spec).toMatchObject({ replicas: 0, placement: { strategy: 'Spread' }, disruption: { maxUnavailable: 1 } });
  });
});

describe('rejections', () => {
  it('reports every bad field in one Kubernetes-shaped Invalid error', () => {
    const bad = deployment({ replicas: -1, placement: { strategy: 'Fastest', maxPerContainer: 0 }, bogus: true });
    let err: unknown;
    try { v.admit(rt('AgentDeployment'), bad); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(Invalid);
    const inv = err as Invalid;
    expect(inv.code).toBe(422);
    expect(inv.details).toMatchObject({ name: 'trading', group: 'drover.dev', kind: 'AgentDeployment' });
    expect(fields(inv.details!.causes!).sort()).toEqual(['spec.bogus', 'spec.placement.maxPerContainer', 'spec.placement.strategy', 'spec.replicas']);
    expect(inv.message).toMatch(/^AgentDeployment\.drover\.dev "trading" is invalid: \[/);
    expect(inv.message).toContain('spec.replicas: Invalid value: -1: must be greater than or equal to 0');
    expect(inv.message).toContain('spec.placement.strategy: Unsupported value: "Fastest": supported values: "RoundRobin", "LeastLoaded", "CapabilityMatch", "ResourceOptimal", "Spread"');
    expect(inv.message).toContain('spec.bogus: unknown field "spec.bogus"');
  });

  it('a single cause is not bracketed', () => {
    expect(() => v.admit(rt('AgentDeployment'), deployment({ replicas: -2 })))
      .toThrow('AgentDeployment.drover.dev "trading" is invalid: spec.replicas: Invalid value: -2: must be greater than or equal to 0');
  });

  it.each([
    ['unknown field deep in an array', container({ ports: [{ containerPort: 80, hostport: 8080 }] }), 'spec.ports[0].hostport', 'FieldValueUnknown', 'unknown field "spec.ports[0].hostport"'],
    ['unknown top-level field', { ...container(), extra: 1 }, 'extra', 'FieldValueUnknown', 'unknown field "extra"'],
    ['unknown metadata field', container({}, { labelz: {} }), 'metadata.labelz', 'FieldValueUnknown', 'unknown field "metadata.labelz"'],
    ['port out of range', container({ ports: [{ containerPort: 70000 }] }), 'spec.ports[0].containerPort', 'FieldValueInvalid', 'Invalid value: 70000: must be less than or equal to 65535'],
    ['wrong type', container({ ports: [{ containerPort: '80' }] }), 'spec.ports[0].containerPort', 'FieldValueTypeInvalid', 'Invalid value: "80": must be of type integer'],
    ['missing required', container({ ports: [{ hostPort: 80 }] }), 'spec.ports[0].containerPort', 'FieldValueRequired', 'Required value'],
    ['enum', container({ restartPolicy: 'Sometimes' }), 'spec.restartPolicy', 'FieldValueNotSupported', 'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'],
    ['priority above 10', { apiVersion: 'drover.dev/v1alpha1', kind: 'Task', metadata: { name: 't', namespace: 'demo' }, spec: { type: 'stop', target: { kind: 'Agent', name: 'a' }, priority: 11 } },
      'spec.priority', 'FieldValueInvalid', 'Invalid value: 11: must be less than or equal to 10'],
    ['threshold above 1', { apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'demo' }, spec: { rebalancePolicy: { threshold: 1.5 } } },
      'spec.rebalancePolicy.threshold', 'FieldValueInvalid', 'Invalid value: 1.5: must be less than or equal to 1'],
    ['condition status', { ...container(), status: { conditions: [{ type: 'Ready', status: 'Yes' }] } },
      'status.conditions[0].status', 'FieldValueNotSupported', 'Unsupported value: "Yes": supported values: "True", "False", "Unknown"'],
    ['map value type', container({ nodeSelector: { zone: 1 } }), 'spec.nodeSelector[zone]', 'FieldValueTypeInvalid', 'Invalid value: 1: must be of type string'],
    ['timestamp format', { ...container(), status: { startedAt: 'yesterday' } }, 'status.startedAt', 'FieldValueInvalid', 'Invalid value: "yesterday": must be an RFC 3339 date-time, e.g. 2026-01-02T15:04:05Z'],
    ['Event needs involvedObject', { apiVersion: 'drover.dev/v1alpha1', kind: 'Event', metadata: { name: 'e', namespace: 'demo' }, reason: 'Started', type: 'Normal' },
      'involvedObject', 'FieldValueRequired', 'Required value'],
  ] as const)('%s', (_what, obj, field, reason, message) => {
    const causes = causesOf((obj as KubeObject).kind, obj as unknown as KubeObject);
    expect(causes).toContainEqual({ field, reason, message });
    expect(causes).toHaveLength(1);
  });

  it('free-form template.config accepts anything', () => {
    expect(causesOf('AgentDeployment', deployment({ template: { config: { any: { nested: [1, 'x', { y: null }] } } } }))).toEqual([]);
  });

  it('apiVersion and kind must match the resource', () => {
    const obj = { ...deployment(), apiVersion: 'drover.dev/v1', kind: 'Deployment' };
    expect(causesOf('AgentDeployment', obj)).toEqual([
      { reason: 'FieldValueInvalid', field: 'apiVersion', message: 'Invalid value: "drover.dev/v1": must be drover.dev/v1alpha1' },
      { reason: 'FieldValueInvalid', field: 'kind', message: 'Invalid value: "Deployment": must be AgentDeployment' },
    ]);
  });

  it('the status subresource validates the whole object, status included', () => {
    const obj = { ...deployment(), status: { replicas: -1, phase: 'x' } };
    expect(() => v.admit(rt('AgentDeployment'), obj, { subresource: 'status' })).toThrow(/status\.replicas: Invalid value: -1/);
    expect(() => v.admit(rt('AgentDeployment'), obj, { subresource: 'status' })).toThrow(/status\.phase: unknown field/);
  });
});

describe('quantities and durations', () => {
  it.each([['500m', true], ['1Gi', true], ['2', true], [2, true], ['0.5', true], ['1e3', true], ['1.2.3Gi', false], ['1GB', false], ['lots', false], [true, false]] as const)(
    'cpu %p valid=%p', (cpu, ok) => {
      const causes = causesOf('Container', container({ resources: { requests: { cpu } } }));
      expect(fields(causes)).toEqual(ok ? [] : ['spec.resources.requests.cpu']);
    });

  it('explains a bad quantity', () => {
    expect(causesOf('Container', container({ resources: { limits: { memory: '1.2.3Gi' } } }))[0].message)
      .toBe('Invalid value: "1.2.3Gi": must be a quantity such as 500m, 2, 256Mi or 1Gi');
  });

  it.each([['2s', true], ['5m', true], ['1h30m', true], ['250ms', true], ['1.5h', true], ['0', true], ['5 minutes', false], ['5', false], ['PT5M', false], ['-1s', false]] as const)(
    'duration %p valid=%p', (interval, ok) => {
      const causes = causesOf('Cluster', { apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'demo' }, spec: { rebalancePolicy: { interval } } });
      expect(causes.map((c) => `${c.field}: ${c.message}`)).toEqual(ok ? [] : [`spec.rebalancePolicy.interval: Invalid value: "${interval}": must be a duration such as 2s, 5m or 1h30m`]);
    });

  it.each([[1, true], ['25%', true], ['x%', false], [-1, false]] as const)('maxUnavailable %p valid=%p', (maxUnavailable, ok) => {
    const causes = causesOf('AgentDeployment', deployment({ disruption: { maxUnavailable } }));
    expect(fields(causes)).toEqual(ok ? [] : ['spec.disruption.maxUnavailable']);
  });
});

describe('names', () => {
  it.each([
    ['Container', 'web-1', true], ['Container', 'web.example', true], ['Container', 'Web', false], ['Container', 'web_1', false],
    ['Container', '-web', false], ['Container', 'a'.repeat(253), true], ['Container', 'a'.repeat(254), false],
    ['Cluster', 'customer1', true], ['Cluster', 'customer.one', false], ['Cluster', 'a'.repeat(64), false],
  ] as const)('%s name %p valid=%p', (kind, name, ok) => {
    const obj = kind === 'Cluster' ? { apiVersion: 'drover.dev/v1alpha1', kind, metadata: { name } } : container({}, { name });
    const causes = causesOf(kind, obj as KubeObject);
    expect(fields(causes)).toEqual(ok ? [] : expect.arrayContaining(['metadata.name']));
    if (!ok) expect(causes[0].message).toMatch(/^Invalid value: ".*": (a lowercase RFC 1123|must be no more than)/);
  });

  it('requires a name', () => {
    expect(causesOf('Container', container({}, { name: undefined }))).toEqual([
      { reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' },
    ]);
  });

  it.each([
    [{ namespace: 'Demo' }, 'metadata.namespace'],
    [{ namespace: 'demo.x' }, 'metadata.namespace'],
    [{ labels: { 'drover.dev/tier': 'agents', 'bad key': 'x' } }, 'metadata.labels[bad key]'],
    [{ labels: { tier: 'has space' } }, 'metadata.labels[tier]'],
    [{ labels: { tier: 'x'.repeat(64) } }, 'metadata.labels[tier]'],
    [{ labels: { 'Drover.DEV/tier': 'x' } }, 'metadata.labels[Drover.DEV/tier]'],
    [{ annotations: { 'a/b/c': 'x' } }, 'metadata.annotations[a/b/c]'],
    [{ ownerReferences: [{ apiVersion: 'drover.dev/v1alpha1', kind: 'AgentDeployment', name: 'x' }] }, 'metadata.ownerReferences[0].uid'],
  ])('metadata %j is rejected at %s', (meta, field) => {
    expect(fields(causesOf('Container', container({}, meta)))).toEqual([field]);
  });

  it('accepts Kubernetes-valid labels and annotations', () => {
    expect(causesOf('Container', container({}, { labels: { 'drover.dev/agent-capable': 'true', tier: '', 'a.b_c-d': 'X.y_z-1' }, annotations: { 'note': 'any text at all: ✓' } }))).toEqual([]);
  });

  it('a cluster-scoped Cluster may not have a namespace', () => {
    expect(causesOf('Cluster', { apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'demo', namespace: 'demo' } })).toEqual([
      { reason: 'FieldValueForbidden', field: 'metadata.namespace', message: 'Forbidden: not allowed on this type (it is cluster-scoped)' },
    ]);
  });
});
