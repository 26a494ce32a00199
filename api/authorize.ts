// Role checks: admin does everything; operator applies and operates workloads but does not manage
// Clusters or tokens; viewer reads (watch included); node is NodeRestriction. A Cluster-bound token
// stays inside its Cluster's namespace.
import { Forbidden } from '../core/errors.ts';
import type { KubeObject } from '../core/types.ts';
import type { Principal } from './auth.ts';
import { nodeRestriction } from './node-restriction.ts';

export const Verbs = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'] as const;
export type Verb = (typeof Verbs)[number];

const READ_VERBS: ReadonlySet<Verb> = new Set(['get', 'list', 'watch']);

interface ResourceAttributes {
  verb: Verb;
  /** plural, e.g. `agentdeployments` */
  plural: string;
  group: string;
  subresource?: string;
  /** undefined = cluster scope (cluster-scoped kind or a list across all namespaces) */
  namespace?: string;
  /** object name, when the request names one */
  name?: string;
  /** the kind is cluster-scoped (Cluster) */
  clusterScoped: boolean;
}

/** What NodeRestriction (role node) needs beyond the URL; see nodeRequestFacts() in node-restriction.ts. */
export interface NodeFacts {
  /** The request's fieldSelector (list/watch). */
  fieldSelector?: string;
  /** The stored object a get/update/patch names (its binding decides). */
  object?: KubeObject;
  /** The request body: the object (create/update) or the patch. */
  body?: unknown;
  patchType?: 'merge' | 'json';
}

export type Attributes = ResourceAttributes & NodeFacts;

function describe(p: Principal, a: Attributes): string {
  const res = `${a.plural}.${a.group}${a.subresource ? '/' + a.subresource : ''}`;
  const where = a.namespace ? `in namespace "${a.namespace}"` : 'at the cluster scope';
  return `${p.role} "${p.name}" cannot ${a.verb} ${res} ${where}`;
}

/** The one Cluster a principal may see when it lists or watches Clusters (undefined: no narrowing). */
export function scopedListName(p: Principal, plural: string): string | undefined {
  return plural === 'clusters' ? p.cluster : undefined;
}

/** Throws Forbidden with a message naming who, what and where. */
export function authorize(p: Principal, a: Attributes): void {
  const deny = (why?: string) => {
    throw new Forbidden(describe(p, a) + (why ? `: ${why}` : ''), { group: a.group, kind: a.plural, name: a.name });
  };
  const read = READ_VERBS.has(a.verb);
  if (p.cluster !== undefined) {
    // A Cluster-bound principal sees its own Cluster object and its namespace, nothing else. Listing or
    // watching Clusters is allowed: the router narrows it to the principal's own (see scopedListName).
    const ownCluster = a.clusterScoped && a.plural === 'clusters' && read
      && (a.name === p.cluster || (a.name === undefined && !a.subresource && (a.verb === 'list' || a.verb === 'watch')));
    if (!ownCluster && a.namespace !== p.cluster) deny(`token is limited to cluster "${p.cluster}"`);
  }
  switch (p.role) {
    case 'admin':
      return;
    case 'operator':
      // Operators apply and operate workloads; Clusters (and their join tokens) are the admins'.
      if (!read && a.plural === 'clusters') deny('operators may not manage Clusters or their join tokens (an admin token is needed)');
      return;
    case 'viewer':
      if (!read) deny();
      return;
    case 'node': {
      const why = nodeRestriction(p, a);
      if (why) throw new Forbidden(`${describe(p, a)} ${why}`, { group: a.group, kind: a.plural, name: a.name });
      return;
    }
    default:
      deny('unknown role');
  }
}
