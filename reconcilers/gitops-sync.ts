// Pure GitOps decisions: when a GitRepository is due, whether its dependencies let it apply, what to do with
// each object of a revision (create, set back, leave alone), and the status that reports it. The controller
// (controllers/gitops-controller.ts) fetches, admits and writes; nothing here touches git, the store or the clock.
import { applySetId } from '../core/apply-set.ts';
import type { MemberRef } from '../core/apply-set.ts';
import { differingPaths, driftedFields, sameDesiredState } from '../core/drift.ts';
import { parseDuration } from '../core/duration.ts';
import { gitPathProblem, gitRefProblem, gitUrlProblem, normalizeGitPath, type GitRef } from '../core/git-source.ts';
import type { GitRepositorySpec, GitRepositoryStatus } from '../core/kinds.generated.ts';
import { LAST_APPLIED, lastAppliedOf, withLastApplied } from '../core/last-applied.ts';
import { applyMergePatch, createThreeWayMergePatch, deepEqual } from '../core/patch.ts';
import type { ResourceType } from '../core/resources.ts';
import { applyDefaults } from '../core/schema-walk.ts';
import type { Condition, KubeObject } from '../core/types.ts';
import { GROUP } from '../core/types.ts';

/** Set (to any new value, e.g. the time) to ask for a sync now: `drover gitops sync`, the webhook. */
export const GITOPS_REQUESTED_AT_ANNOTATION = 'gitops.drover.dev/requestedAt';
/** Held while the GitRepository exists, so its members are pruned when it is deleted (with spec.prune). */
export const GITOPS_FINALIZER = 'gitops.drover.dev/prune';
export const GITOPS_COMPONENT = 'gitops-controller';
export const MIN_INTERVAL_MS = 1000;
/** How long to wait before retrying a failed fetch or apply when the interval is longer. */
export const RETRY_MS = 10_000;
/** status.errors holds at most this many messages (the CRD's maxItems). */
export const MAX_STATUS_ERRORS = 100;
const MAX_ERROR_LENGTH = 4096;

export const GitOpsReasons = {
  Succeeded: 'Succeeded',
  Progressing: 'Progressing',
  ValidationFailed: 'ValidationFailed',
  FetchFailed: 'FetchFailed',
  ApplyFailed: 'ApplyFailed',
  DependencyNotReady: 'DependencyNotReady',
  InvalidSpec: 'InvalidSpec',
} as const;

export const GitOpsEventReasons = {
  Applied: 'Applied',
  ValidationFailed: 'ValidationFailed',
  FetchFailed: 'FetchFailed',
  ApplyFailed: 'ApplyFailed',
  DriftCorrected: 'DriftCorrected',
  Pruned: 'Pruned',
} as const;

export interface GitOpsSettings {
  url: string;
  ref?: GitRef;
  /** Relative to the repository root, normalized (`` = the root). */
  path: string;
  intervalMs: number;
  prune: boolean;
  suspend: boolean;
  dependsOn: string[];
  secretRef?: { tokenFile: string; scheme: 'Bearer' | 'Basic' };
  /** The apply set id members are labelled with. */
  setId: string;
  /** What identifies a fetch: a change (url, ref, token file) fetches at once. */
  fetchKey: string;
  problems: string[];
}

/** The GitRepository's spec, defaulted and checked (problems → Stalled, nothing fetched). */
export function gitOpsSettings(repo: KubeObject): GitOpsSettings {
  const spec = (repo.spec ?? {}) as GitRepositorySpec;
  const problems: string[] = [];
  const urlProblem = gitUrlProblem(spec.url);
  if (urlProblem) problems.push(`spec.url: ${urlProblem}`);
  const refProblem = gitRefProblem(spec.ref);
  if (refProblem) problems.push(`spec.${refProblem}`);
  const pathProblem = gitPathProblem(spec.path);
  if (pathProblem) problems.push(`spec.path: ${pathProblem}`);
  let intervalMs = 60_000;
  try {
    intervalMs = Math.max(MIN_INTERVAL_MS, parseDuration(spec.interval ?? '1m'));
  } catch (e) {
    problems.push(`spec.interval: ${(e as Error).message}`);
  }
  const secretRef = spec.secretRef ? { tokenFile: spec.secretRef.tokenFile, scheme: spec.secretRef.scheme ?? 'Bearer' } : undefined;
  const path = normalizeGitPath(spec.path);
  return {
    url: spec.url,
    ...(spec.ref && Object.keys(spec.ref).length ? { ref: spec.ref } : {}),
    path,
    intervalMs,
    prune: spec.prune !== false,
    suspend: spec.suspend === true,
    dependsOn: spec.dependsOn ?? [],
    ...(secretRef ? { secretRef } : {}),
    setId: gitOpsSetId(repo),
    fetchKey: JSON.stringify([spec.url, spec.ref ?? null, secretRef ?? null]),
    problems,
  };
}

/** The apply set of a GitRepository: its parent is the GitRepository itself. */
export function gitOpsSetId(repo: KubeObject): string {
  return applySetId({ kind: 'GitRepository', group: GROUP, name: repo.metadata.name, namespace: repo.metadata.namespace });
}

export function statusOf(repo: KubeObject | undefined): GitRepositoryStatus {
  return (repo?.status ?? {}) as GitRepositoryStatus;
}

export function conditionOf(repo: KubeObject | undefined, type: string): Condition | undefined {
  return statusOf(repo).conditions?.find((c) => c.type === type);
}

/** The sync request not yet handled, if any (annotation value differs from status.lastHandledSyncAt). */
export function pendingRequest(repo: KubeObject): string | undefined {
  const asked = repo.metadata.annotations?.[GITOPS_REQUESTED_AT_ANNOTATION];
  return asked && asked !== statusOf(repo).lastHandledSyncAt ? asked : undefined;
}

/** Whether a GitRepository counts as Ready at its latest revision for those that depend on it. */
export function readyAtLatest(repo: KubeObject | undefined): { ready: boolean; why?: string } {
  if (!repo) return { ready: false, why: 'not found' };
  if (repo.metadata.deletionTimestamp) return { ready: false, why: 'being deleted' };
  const st = statusOf(repo);
  const ready = conditionOf(repo, 'Ready');
  if ((st.observedGeneration ?? 0) !== (repo.metadata.generation ?? 0)) return { ready: false, why: 'its latest spec is not reconciled yet' };
  if (ready?.status !== 'True') return { ready: false, why: `not Ready${ready?.reason ? ` (${ready.reason})` : ''}` };
  if (!st.lastAppliedRevision || st.lastAppliedRevision !== st.lastAttemptedRevision) {
    return { ready: false, why: `its latest revision ${short(st.lastAttemptedRevision)} is not applied` };
  }
  return { ready: true };
}

/** Undefined when every dependency is Ready at its latest revision, else why this one waits. */
export function dependencyWait(settings: GitOpsSettings, namespace: string, lookup: (name: string) => KubeObject | undefined): string | undefined {
  const waiting: string[] = [];
  for (const name of settings.dependsOn) {
    const r = readyAtLatest(lookup(name));
    if (!r.ready) waiting.push(`GitRepository ${namespace}/${name} (${r.why})`);
  }
  return waiting.length ? `waiting for ${waiting.join(', ')}` : undefined;
}

export type MemberDecision =
  | { action: 'create'; object: KubeObject; recreated: boolean }
  /** `object` is the live object with the manifest merged in (not yet admitted); `drift` names the fields set back. */
  | { action: 'update'; object: KubeObject; drift?: string[] }
  | { action: 'unchanged' };

/**
 * One object of the revision against its live copy. Three-way merge with the last-applied record, like
 * `drover apply`: a field the repository dropped is removed, a field it sets is set, other fields stay.
 * A difference while the repository's manifest for the object did not change (or the revision was applied
 * already) is drift, named field by field.
 */
export function decideMember(
  member: { rt: ResourceType; manifest: KubeObject; defaulted: KubeObject },
  live: KubeObject | undefined,
  opts: { revisionApplied: boolean },
): MemberDecision {
  const recorded = withLastApplied(member.manifest);
  if (!live) return { action: 'create', object: recorded, recreated: opts.revisionApplied };
  const previous = lastAppliedOf(live);
  const patch = createThreeWayMergePatch(previous, recorded, live);
  if (Object.keys(patch).length === 0) return { action: 'unchanged' };
  const next = applyMergePatch<KubeObject>(live, patch);
  const normalized = structuredClone(next);
  applyDefaults(member.rt.schema, normalized);
  if (sameDesiredState(normalized, live)) return { action: 'unchanged' };
  const manifestUnchanged = deepEqual(previous, JSON.parse(recorded.metadata.annotations![LAST_APPLIED]) as unknown);
  if (!manifestUnchanged && !opts.revisionApplied) return { action: 'update', object: next };
  const fields = driftedFields(member.manifest, member.defaulted, live);
  return { action: 'update', object: next, drift: fields.length ? fields : differingPaths(normalized, live) };
}

export interface SyncCounts {
  created: number;
  configured: number;
  driftCorrected: number;
  pruned: number;
  unchanged: number;
}

export function emptyCounts(): SyncCounts {
  return { created: 0, configured: 0, driftCorrected: 0, pruned: 0, unchanged: 0 };
}

export function countsChanged(c: SyncCounts): boolean {
  return c.created + c.configured + c.driftCorrected + c.pruned > 0;
}

/** `3 created, 1 configured, 1 pruned` (the non-zero ones), for Events and logs. */
export function describeCounts(c: SyncCounts): string {
  const parts = [
    c.created ? `${c.created} created` : '', c.configured ? `${c.configured} configured` : '',
    c.driftCorrected ? `${c.driftCorrected} drift corrected` : '', c.pruned ? `${c.pruned} pruned` : '',
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'nothing changed';
}

export function short(revision: string | undefined): string {
  return revision ? revision.slice(0, 12) : '<none>';
}

/** What one sync attempt ended with; the status follows from it and the previous status. */
export type SyncOutcome =
  | { kind: 'invalidSpec'; problems: string[] }
  | { kind: 'fetchFailed'; message: string }
  | { kind: 'waiting'; message: string }
  | { kind: 'progressing'; revision: string; objects: number }
  | { kind: 'rejected'; revision: string; errors: string[] }
  | { kind: 'applyFailed'; revision: string; errors: string[]; inventory: MemberRef[] }
  | { kind: 'applied'; revision: string; inventory: MemberRef[] };

function setCondition(conds: Condition[], type: string, status: Condition['status'], reason: string, message: string, now: number, generation: number | undefined): void {
  const i = conds.findIndex((c) => c.type === type);
  const before = i >= 0 ? conds[i] : undefined;
  const c: Condition = {
    type, status, reason, message,
    lastTransitionTime: before && before.status === status && before.lastTransitionTime ? before.lastTransitionTime : new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  if (i >= 0) conds[i] = c;
  else conds.push(c);
}

function clipErrors(errors: string[]): string[] {
  const out = errors.slice(0, MAX_STATUS_ERRORS).map((e) => (e.length > MAX_ERROR_LENGTH ? `${e.slice(0, MAX_ERROR_LENGTH - 1)}…` : e));
  if (errors.length > MAX_STATUS_ERRORS) out[MAX_STATUS_ERRORS - 1] = `… and ${errors.length - MAX_STATUS_ERRORS + 1} more problems`;
  return out;
}

/**
 * The status after `outcome`. Conditions keep their lastTransitionTime while their status holds, and
 * lastSyncTime moves only when `changed` (something was written), so a sync with nothing to do yields the
 * very same status and the controller writes nothing.
 */
export function gitOpsStatus(repo: KubeObject, outcome: SyncOutcome, opts: { now: number; changed: boolean }): GitRepositoryStatus {
  const prev = statusOf(repo);
  const gen = repo.metadata.generation;
  const st: GitRepositoryStatus = structuredClone(prev);
  const conds: Condition[] = st.conditions ?? [];
  const cond = (type: string, status: Condition['status'], reason: string, message: string) => setCondition(conds, type, status, reason, message, opts.now, gen);
  st.observedGeneration = gen ?? 0;
  const asked = repo.metadata.annotations?.[GITOPS_REQUESTED_AT_ANNOTATION];
  if (asked) st.lastHandledSyncAt = asked;
  if (opts.changed) st.lastSyncTime = new Date(opts.now).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const R = GitOpsReasons;
  switch (outcome.kind) {
    case 'invalidSpec': {
      const msg = outcome.problems.join('; ');
      cond('Ready', 'False', R.InvalidSpec, msg);
      cond('Reconciling', 'False', R.InvalidSpec, msg);
      cond('Stalled', 'True', R.InvalidSpec, msg);
      break;
    }
    case 'fetchFailed':
      cond('Ready', 'False', R.FetchFailed, outcome.message);
      cond('Reconciling', 'False', R.FetchFailed, outcome.message);
      cond('Stalled', 'False', R.FetchFailed, 'the fetch is retried');
      break;
    case 'waiting':
      cond('Ready', 'False', R.DependencyNotReady, outcome.message);
      cond('Reconciling', 'True', R.DependencyNotReady, outcome.message);
      cond('Stalled', 'False', R.DependencyNotReady, outcome.message);
      break;
    case 'progressing': {
      const msg = `applying revision ${short(outcome.revision)} (${outcome.objects} object${outcome.objects === 1 ? '' : 's'})`;
      cond('Ready', 'Unknown', R.Progressing, msg);
      cond('Reconciling', 'True', R.Progressing, msg);
      cond('Stalled', 'False', R.Progressing, msg);
      break;
    }
    case 'rejected': {
      st.lastAttemptedRevision = outcome.revision;
      st.errors = clipErrors(outcome.errors);
      const kept = prev.lastAppliedRevision ? `revision ${short(prev.lastAppliedRevision)} stays applied` : 'nothing was applied';
      const msg = `revision ${short(outcome.revision)} rejected, nothing of it applied (${kept}): ${outcome.errors.length} problem${outcome.errors.length === 1 ? '' : 's'}, first: ${outcome.errors[0] ?? ''}`;
      cond('Ready', 'False', R.ValidationFailed, msg);
      cond('Reconciling', 'False', R.ValidationFailed, msg);
      cond('Stalled', 'True', R.ValidationFailed, 'fix the repository: a new commit is picked up at the next interval');
      break;
    }
    case 'applyFailed': {
      st.lastAttemptedRevision = outcome.revision;
      st.errors = clipErrors(outcome.errors);
      st.inventory = outcome.inventory.map(inventoryEntry);
      const msg = `revision ${short(outcome.revision)} partly applied, retrying: ${outcome.errors[0] ?? ''}`;
      cond('Ready', 'False', R.ApplyFailed, msg);
      cond('Reconciling', 'True', R.ApplyFailed, msg);
      cond('Stalled', 'False', R.ApplyFailed, msg);
      break;
    }
    case 'applied': {
      st.lastAttemptedRevision = outcome.revision;
      st.lastAppliedRevision = outcome.revision;
      st.inventory = outcome.inventory.map(inventoryEntry);
      delete st.errors;
      const n = outcome.inventory.length;
      const msg = `Applied revision ${short(outcome.revision)} (${n} object${n === 1 ? '' : 's'})`;
      cond('Ready', 'True', R.Succeeded, msg);
      cond('Reconciling', 'False', R.Succeeded, msg);
      cond('Stalled', 'False', R.Succeeded, msg);
      break;
    }
  }
  st.conditions = conds;
  return st;
}

function inventoryEntry(ref: MemberRef): { kind: string; namespace?: string; name: string } {
  return { kind: ref.kind, ...(ref.namespace ? { namespace: ref.namespace } : {}), name: ref.name };
}

/** Milliseconds until the next fetch is due (0 = now). */
export function untilDue(lastFetchAt: number | undefined, intervalMs: number, now: number): number {
  if (lastFetchAt === undefined) return 0;
  return Math.max(0, lastFetchAt + intervalMs - now);
}
