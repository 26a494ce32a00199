// Kind names as users type them (`ad`, `agentdeployments`, `Agent`, `all`) → resource types, in a fixed order.
import type { ResourceRegistry, ResourceType } from '../core/resources.ts';
import { kindRank } from '../core/kind-order.ts';
import { CLIError } from './cli-error.ts';

/** Apply order: what others depend on first (a Cluster is the namespace of everything else). */
export { KIND_ORDER, kindRank } from '../core/kind-order.ts';

export function sortedTypes(registry: ResourceRegistry): ResourceType[] {
  return [...registry.all()].sort((a, b) => kindRank(a.kind) - kindRank(b.kind) || a.kind.localeCompare(b.kind));
}

export function unknownKindError(registry: ResourceRegistry, name: string): CLIError {
  const kinds = sortedTypes(registry).map((rt) => rt.singular).join(', ');
  return new CLIError(`the server doesn't have a resource type "${name}"`, { hint: `see the kinds: ${kinds}` });
}

export function resolveKind(registry: ResourceRegistry, name: string): ResourceType {
  const rt = registry.resolve(name);
  if (!rt) throw unknownKindError(registry, name);
  return rt;
}

/** `ad,agents` → two types; `all` → every drover kind (by category `all` when CRDs declare it, else every kind). */
export function resolveKinds(registry: ResourceRegistry, spec: string): ResourceType[] {
  const out: ResourceType[] = [];
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const types = part.toLowerCase() === 'all' ? allKinds(registry) : [resolveKind(registry, part)];
    for (const rt of types) if (!out.includes(rt)) out.push(rt);
  }
  if (out.length === 0) throw unknownKindError(registry, spec);
  return out;
}

function allKinds(registry: ResourceRegistry): ResourceType[] {
  const types = sortedTypes(registry);
  const inCategory = types.filter((rt) => rt.categories.includes('all') || rt.categories.includes('drover'));
  return inCategory.length ? inCategory : types;
}

/** `agentdeployment.drover.dev/trading`, the form apply/get -o name/wait print. */
export function refName(rt: ResourceType, name: string): string {
  return `${rt.singular}.${rt.group}/${name}`;
}

/** `agentdeployment.drover.dev "trading"`, the form delete and NotFound messages print. */
export function quotedName(rt: ResourceType, name: string): string {
  return `${rt.singular}.${rt.group} "${name}"`;
}
