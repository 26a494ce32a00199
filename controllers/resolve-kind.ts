// Controllers name kinds; the registry (built from crds/) says where they are stored.
import type { ResourceRegistry, ResourceType } from '../core/resources.ts';

export function mustResolve(registry: ResourceRegistry, kind: string): ResourceType {
  const rt = registry.resolve(kind);
  if (!rt) throw new Error(`resource kind ${kind} is not in the registry (is crds/${kind.toLowerCase()}.yaml missing?)`);
  return rt;
}
