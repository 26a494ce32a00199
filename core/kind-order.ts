// The order objects are applied in (what others depend on first; a Cluster is the namespace of everything
// else) and pruned in (the reverse). Kinds not listed come last, in file order.
export const KIND_ORDER = ['Cluster', 'Node', 'Container', 'AgentDeployment', 'Agent', 'Task', 'Event'] as const;

export function kindRank(kind: string): number {
  const i = (KIND_ORDER as readonly string[]).indexOf(kind);
  return i < 0 ? KIND_ORDER.length : i;
}
