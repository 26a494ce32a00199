// Kubernetes field paths: `spec.ports[0].containerPort`, map keys as `spec.nodeSelector[zone]`.

export interface PathSegment {
  key: string | number;
  /** A key of a map (additionalProperties), written `[key]` like Kubernetes' field.Path.Key. */
  mapKey?: boolean;
}

export function formatFieldPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s.key === 'number' || s.mapKey) out += `[${s.key}]`;
    else out += out ? `.${s.key}` : s.key;
  }
  return out;
}

export function childPath(parent: string, key: string | number, mapKey = false): string {
  if (typeof key === 'number' || mapKey) return `${parent}[${key}]`;
  return parent ? `${parent}.${key}` : key;
}

/** `spec.ports[0].name` → ['spec', 'ports', 0, 'name']; bracketed non-numbers stay strings. */
export function parseFieldPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /([^.[\]]+)|\[([^\]]*)\]/g;
  for (const m of path.matchAll(re)) {
    if (m[1] !== undefined) out.push(m[1]);
    else out.push(/^[0-9]+$/.test(m[2]) ? Number(m[2]) : m[2]);
  }
  return out;
}
