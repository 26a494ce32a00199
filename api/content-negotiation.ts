// What a client asks for in `Accept`: plain JSON, a meta.k8s.io Table (kubectl get), partial object
// metadata, or aggregated discovery. Media ranges are taken in the order sent, like the apiserver.

export const TableVersions = ['v1', 'v1beta1'] as const;
export type MetaVersion = (typeof TableVersions)[number];

export const IncludeObjectPolicies = ['None', 'Metadata', 'Object'] as const;
export type IncludeObject = (typeof IncludeObjectPolicies)[number];

export type Rendering =
  | { as: 'json' }
  | { as: 'Table'; version: MetaVersion }
  | { as: 'PartialObjectMetadata'; version: MetaVersion };

interface MediaRange {
  type: string;
  params: Record<string, string>;
}

export function parseAccept(header: string | undefined): MediaRange[] {
  if (!header) return [];
  return header.split(',').map((part) => {
    const [type, ...rest] = part.split(';').map((s) => s.trim());
    const params: Record<string, string> = {};
    for (const p of rest) {
      const eq = p.indexOf('=');
      if (eq > 0) params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    }
    return { type: type.toLowerCase(), params };
  }).filter((r) => r.type !== '');
}

const JSONISH = new Set(['application/json', 'application/*', '*/*']);

/**
 * The first range we can serve. Ranges we cannot (protobuf, yaml, an unknown `as=`) are skipped; when
 * nothing is left the answer is plain JSON rather than a 406, which is what every drover client reads.
 */
export function negotiateObjectRendering(accept: string | undefined): Rendering {
  for (const r of parseAccept(accept)) {
    if (!JSONISH.has(r.type)) continue;
    const as = r.params.as;
    if (as === undefined) return { as: 'json' };
    if (r.params.g !== 'meta.k8s.io' || !(TableVersions as readonly string[]).includes(r.params.v)) continue;
    const version = r.params.v as MetaVersion;
    if (as === 'Table') return { as: 'Table', version };
    if (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') return { as: 'PartialObjectMetadata', version };
  }
  return { as: 'json' };
}

export const AGGREGATED_DISCOVERY_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** kubectl ≥ 1.30 asks /api and /apis for apidiscovery.k8s.io/v2 first, with plain JSON as the fallback. */
export function wantsAggregatedDiscovery(accept: string | undefined): boolean {
  for (const r of parseAccept(accept)) {
    if (!JSONISH.has(r.type)) continue;
    if (r.params.as === undefined) return false;
    if (r.params.as === 'APIGroupDiscoveryList' && r.params.g === 'apidiscovery.k8s.io' && r.params.v === 'v2') return true;
  }
  return false;
}

/** `?includeObject=` of a Table request; Kubernetes' default is Metadata (kubectl reads namespace and labels from it). */
export function includeObjectOf(query: Record<string, unknown>): IncludeObject {
  const v = query.includeObject;
  return typeof v === 'string' && (IncludeObjectPolicies as readonly string[]).includes(v) ? (v as IncludeObject) : 'Metadata';
}
