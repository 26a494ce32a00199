import { describe, it, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { loadRegistry } from '../../core/crds.ts';
import { GENERATED_FILE, generateKindTypes } from '../../scripts/gen-types.ts';
import { AgentPhaseValues, ContainerPhaseValues, TaskStateValues, type AgentDeployment, type Container } from '../../core/kinds.generated.ts';
import type { KubeObject } from '../../core/types.ts';

describe('core/kinds.generated.ts', () => {
  it('matches what the CRDs generate', () => {
    const fresh = generateKindTypes(loadRegistry());
    const committed = readFileSync(GENERATED_FILE, 'utf8');
    if (committed !== fresh) throw new Error('core/kinds.generated.ts is stale: run `make gen` (node scripts/gen-types.ts) and commit the result');
  });

  it('exports enum values straight from the CRDs', () => {
    expect(ContainerPhaseValues).toEqual(['Pending', 'Scheduled', 'Starting', 'Running', 'Restarting', 'Stopping', 'Stopped', 'Failed', 'Unknown']);
    expect(AgentPhaseValues).toContain('Migrating');
    expect(TaskStateValues).toEqual(['Pending', 'Queued', 'Assigned', 'Running', 'Completed', 'Failed', 'Cancelled']);
  });

  it('maps schema shapes to TypeScript: required, enums, int-or-string, preserve-unknown, maps', () => {
    const text = generateKindTypes(loadRegistry());
    expect(text).toContain('export interface Container extends KubeObject {');
    expect(text).toMatch(/export type ContainerPort = \{[^}]*containerPort: number;[^}]*hostPort\?: number;/);
    expect(text).toMatch(/export type AgentDeploymentSpec = \{[^}]*agentType: string;[^}]*replicas\?: number;/);
    expect(text).toMatch(/maxUnavailable\?: number \| string;/);
    expect(text).toMatch(/config\?: Record<string, unknown>;/);
    expect(text).toMatch(/nodeSelector\?: Record<string, string>;/);
    expect(text).toMatch(/conditions\?: Condition\[\];/);
    expect(text).toMatch(/export type TaskType = \(typeof TaskTypeValues\)\[number\];/);
  });

  it('generated kinds are KubeObjects the rest of the code can pass around', () => {
    const c: Container = { apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name: 'c' }, spec: { image: 'x', ports: [{ containerPort: 80 }] } };
    const d: AgentDeployment = { apiVersion: 'drover.dev/v1alpha1', kind: 'AgentDeployment', metadata: { name: 'd' }, spec: { agentType: 't', template: {} } };
    const objs: KubeObject[] = [c, d];
    expect(objs.map((o) => o.kind)).toEqual(['Container', 'AgentDeployment']);
  });
});
