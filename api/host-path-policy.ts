// Admission of hostPath volumes: a Container may bind-mount only normalized absolute paths under one of
// its Cluster's spec.policy.allowedHostPaths (none when the list is absent: hostPath is opt-in per Cluster).
import { CAUSE, describeValue } from '../core/causes.ts';
import type { KubeObject, StatusCause } from '../core/types.ts';

export const ALLOWED_HOST_PATHS_FIELD = 'Cluster.spec.policy.allowedHostPaths';

/** Why `path` is not a normalized absolute path, or undefined when it is. A trailing `/` is tolerated. */
export function hostPathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must be an absolute path';
  if (path.includes('\0')) return 'must not contain NUL';
  if (path.includes('//')) return 'must be normalized (no "//")';
  const segs = path.split('/').slice(1);
  if (segs.some((s) => s === '..' || s === '.')) return 'must be normalized (no "." or ".." segments)';
  return undefined;
}

function trimSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

/** `path` equals `prefix` or lies below it, segment-wise (`/srv/data` is not under `/srv/d`). */
export function isUnder(path: string, prefix: string): boolean {
  const p = trimSlash(path);
  const pre = trimSlash(prefix);
  if (hostPathProblem(pre)) return false; // a malformed prefix allows nothing
  return pre === '/' || p === pre || p.startsWith(`${pre}/`);
}

export function usesHostPath(container: KubeObject): boolean {
  const volumes = (container.spec as { volumes?: unknown } | undefined)?.volumes;
  return Array.isArray(volumes) && volumes.some((v: unknown) => (v as { hostPath?: unknown } | null)?.hostPath !== undefined);
}

/** One cause per hostPath volume of a Container that the Cluster's policy does not allow. */
export function hostPathCauses(container: KubeObject, cluster: KubeObject | undefined): StatusCause[] {
  const volumes = (container.spec as { volumes?: unknown } | undefined)?.volumes;
  if (!Array.isArray(volumes)) return [];
  const policy = (cluster?.spec as { policy?: { allowedHostPaths?: unknown } } | undefined)?.policy;
  const allowed = Array.isArray(policy?.allowedHostPaths) ? policy.allowedHostPaths.filter((p): p is string => typeof p === 'string') : [];
  const clusterName = cluster?.metadata.name ?? container.metadata.namespace ?? '';
  const causes: StatusCause[] = [];
  volumes.forEach((v: unknown, i) => {
    const hostPath = (v as { hostPath?: unknown } | null)?.hostPath;
    if (typeof hostPath !== 'string') return;
    const field = `spec.volumes[${i}].hostPath`;
    const problem = hostPathProblem(hostPath);
    if (problem) {
      causes.push({ reason: CAUSE.invalid, field, message: `Invalid value: ${describeValue(hostPath)}: ${problem}` });
      return;
    }
    if (allowed.some((pre) => isUnder(hostPath, pre))) return;
    const how = allowed.length
      ? `add a prefix to ${ALLOWED_HOST_PATHS_FIELD} of cluster "${clusterName}" to allow it`
      : `cluster "${clusterName}" allows no host paths; set ${ALLOWED_HOST_PATHS_FIELD} (e.g. ["/srv/data"]) to allow some`;
    causes.push({
      reason: CAUSE.forbidden, field,
      message: `Forbidden: ${describeValue(hostPath)} is not under ${ALLOWED_HOST_PATHS_FIELD} [${allowed.join(', ')}]: ${how}`,
    });
  });
  return causes;
}
