// Pure: a deleted Node goes away only once its workloads can safely run elsewhere. Every Node carries
// the finalizer NODE_FENCING_FINALIZER. When it is deleted, its credentials are revoked at once (the
// API does that), so its agent can no longer heartbeat and fences itself within the grace period; the
// container and agent reconcilers re-place what ran there at the same fencing deadlines they use for a
// NotReady node. The finalizer is released when nothing movable is bound to the node any more, when its
// agent said it stopped (it stopped its containers), or a few seconds after the latest fencing deadline of
// what is bound there (the reconcilers move it at that deadline, saying the node was deleted).
import type { KubeObject } from '../core/types.ts';
import { fencingDeadline as containerFencingDeadline } from './container-reconciler.ts';
import { fencingDeadline as agentFencingDeadline } from './agent-migration.ts';
import { NodeConditionReasons, readyCondition, type FailurePolicy } from './node-lifecycle.ts';
import type { ReconcileResult } from './types.ts';

export const NODE_FENCING_FINALIZER = 'drover.dev/node-fencing';
/** After the fencing deadline the reconcilers move what was there; the node waits this long more for them to. */
export const NODE_RELEASE_SLACK_MS = 5000;

export interface NodeDeletionInput {
  now: number;
  managerStartedAt: number;
  policy: FailurePolicy;
  /** Containers whose status.nodeName is this node. */
  containers: KubeObject[];
  /** Agents whose status.nodeName is this node. */
  agents: KubeObject[];
}

/** When a deleted node's workloads are certainly stopped (its agent fenced itself): the latest of their deadlines. */
export function nodeReleaseAt(node: KubeObject, input: NodeDeletionInput): number {
  let at = 0;
  for (const c of input.containers) at = Math.max(at, containerFencingDeadline(node, c, { ...input.policy, managerStartedAt: input.managerStartedAt }));
  if (input.agents.length) at = Math.max(at, agentFencingDeadline(node, input.policy.gracePeriodMs, input.managerStartedAt));
  return at;
}

export function reconcileNodeDeletion(node: KubeObject, input: NodeDeletionInput): ReconcileResult & { released?: boolean } {
  const finalizers = node.metadata.finalizers ?? [];
  const has = finalizers.includes(NODE_FENCING_FINALIZER);
  const ref = { apiVersion: node.apiVersion, kind: node.kind, namespace: node.metadata.namespace, name: node.metadata.name, uid: node.metadata.uid };
  if (!node.metadata.deletionTimestamp) {
    return has ? {} : { patch: [{ ref, patch: { metadata: { finalizers: [...finalizers, NODE_FENCING_FINALIZER] } } }] };
  }
  if (!has) return {};
  const release = { patch: [{ ref, patch: { metadata: { finalizers: finalizers.filter((f) => f !== NODE_FENCING_FINALIZER) } } }], released: true };
  const ready = readyCondition(node);
  if (ready?.status === 'False' && ready.reason === NodeConditionReasons.AgentStopped) return release;
  // Pinned containers never move: they do not hold the node up beyond the deadline.
  const movable = input.containers.filter((c) => !(c.spec as { nodeName?: string } | undefined)?.nodeName);
  if (movable.length === 0 && input.agents.length === 0) return release;
  const at = nodeReleaseAt(node, input) + NODE_RELEASE_SLACK_MS;
  return input.now >= at ? release : { requeueAfter: at - input.now };
}
