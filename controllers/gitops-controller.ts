// GitOps controller: for each GitRepository, fetch at its interval (or at once when asked), read every YAML file
// of the revision, validate all of it with the API's own admission, and only then apply it as an apply set,
// prune what the set no longer holds and set back what someone changed by hand. Decisions are pure
// (reconcilers/gitops-sync.ts, reconcilers/gitops-revision.ts, core/apply-set.ts); this file fetches, admits,
// writes through the Store port like every controller, records Events and the status. A sync that finds
// nothing to do writes nothing at all.
import { realpathSync, readFileSync } from 'node:fs';
import { resolve as resolvePath, sep } from 'node:path';
import { APPLYSET_PART_OF_LABEL, describeMember, ownedByAnotherSet, planPrune, type MemberRef } from '../core/apply-set.ts';
import { isApiError } from '../core/errors.ts';
import type { ResourceType } from '../core/resources.ts';
import type { KubeObject } from '../core/types.ts';
import { deepEqual } from '../core/patch.ts';
import { realClock } from '../core/clock.ts';
import { causeAt, readRevision, type DesiredMember } from '../reconcilers/gitops-revision.ts';
import {
  GITOPS_COMPONENT, GITOPS_FINALIZER, GitOpsEventReasons, RETRY_MS, countsChanged, decideMember, dependencyWait, describeCounts,
  emptyCounts, gitOpsSettings, gitOpsStatus, pendingRequest, short, statusOf, untilDue, type GitOpsSettings, type SyncCounts, type SyncOutcome,
} from '../reconcilers/gitops-sync.ts';
import { createController, type Controller, type ReconcileContext } from './controller.ts';
import type { GitSource } from './git-source.ts';
import { mustResolve, recorderFor, type ManagerControllerOptions } from './resolve-kind.ts';

/**
 * The API's admission for a create or update (schema defaults and validation, and the policies that need other
 * objects, such as hostPath volumes against the Cluster). Returns the admitted object; throws the API's Invalid.
 * The composition root wires api/admission.ts in, so GitOps writes pass exactly what API writes pass.
 */
export type ObjectAdmission = (rt: ResourceType, obj: KubeObject) => Promise<KubeObject>;

export interface GitOpsControllerOptions extends ManagerControllerOptions {
  git: GitSource;
  admit: ObjectAdmission;
  /** spec.secretRef.tokenFile is read from here (DATA_DIR/gitops/secrets); nothing outside it. */
  secretsDir: string;
}

interface AdmittedMember extends DesiredMember {
  /** The manifest after admission (defaults applied): what drift compares against. */
  defaulted: KubeObject;
}

interface LoadedRevision {
  commit: string;
  path: string;
  members: AdmittedMember[];
  errors: string[];
}

interface RepoState {
  uid?: string;
  fetchedAt?: number;
  fetchKey?: string;
  commit?: string;
  fetchError?: string;
  /** After a failed fetch: fetch again from then on, before the interval is over. */
  retryFetchAt?: number;
  /** A fetch happened (or a dependency wait is pending) and the sync has not run since. */
  needsSync: boolean;
  /** Loaded revisions by `commit:path`: the newest and the last one applied. */
  revisions: Map<string, LoadedRevision>;
}

const DEPENDENCY_RECHECK_MS = 5000;

export function createGitOpsController(opts: GitOpsControllerOptions): Controller {
  const clock = opts.clock ?? realClock;
  const repos = mustResolve(opts.registry, 'GitRepository');
  const reposInf = opts.informers.informer(repos.key);
  const memberTypes = opts.registry.all().filter((rt) => rt.namespaced);
  for (const rt of memberTypes) opts.informers.informer(rt.key); // shared caches of everything a repository may hold
  const recorder = recorderFor(opts, GITOPS_COMPONENT, clock);
  const states = new Map<string, RepoState>();

  const cached = (rt: ResourceType, ns: string, name: string) => opts.informers.informer(rt.key).cache.get(ns, name);
  async function fresh(rt: ResourceType, ns: string | undefined, name: string): Promise<KubeObject | undefined> {
    try {
      return await opts.store.get(rt.key, ns, name);
    } catch (e) {
      if (isApiError(e, 404)) return undefined;
      throw e;
    }
  }

  /** `Authorization: …` from the token file, which must lie inside the secrets directory. */
  function authHeader(settings: GitOpsSettings): string | undefined {
    if (!settings.secretRef) return undefined;
    let base: string;
    let file: string;
    try {
      base = realpathSync(opts.secretsDir);
      file = realpathSync(resolvePath(base, settings.secretRef.tokenFile));
    } catch (e) {
      throw new Error(`spec.secretRef.tokenFile "${settings.secretRef.tokenFile}" cannot be read from the manager's ${opts.secretsDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
    if (!file.startsWith(base + sep)) throw new Error(`spec.secretRef.tokenFile must name a file inside the manager's ${opts.secretsDir}`);
    const token = readFileSync(file, 'utf8').trim();
    if (!token || /[\r\n\0]/.test(token)) throw new Error(`spec.secretRef.tokenFile "${settings.secretRef.tokenFile}" must hold one line: the token`);
    return settings.secretRef.scheme === 'Basic'
      ? `Authorization: Basic ${Buffer.from(token).toString('base64')}`
      : `Authorization: Bearer ${token}`;
  }

  async function writeStatus(repo: KubeObject, outcome: SyncOutcome, changed: boolean): Promise<{ repo: KubeObject; written: boolean }> {
    const status = gitOpsStatus(repo, outcome, { now: clock.now(), changed });
    if (deepEqual(status, repo.status ?? {})) return { repo, written: false };
    // /status semantics: only status changes; the cached resourceVersion guards against lost updates
    const stored = await opts.store.update(repos.key, { ...repo, status: status as Record<string, unknown> });
    return { repo: stored, written: true };
  }

  /** Read, parse and admit a revision (cached per commit and path); errors carry file:line:column. */
  async function loadRevision(repo: KubeObject, settings: GitOpsSettings, state: RepoState, commit: string): Promise<LoadedRevision> {
    const cacheKey = `${commit}:${settings.path}`;
    const hit = state.revisions.get(cacheKey);
    if (hit) return hit;
    const ns = repo.metadata.namespace!;
    const key = `${ns}/${repo.metadata.name}`;
    const errors: string[] = [];
    const members: AdmittedMember[] = [];
    try {
      const { files, problems } = await opts.git.readFiles(key, settings.url, commit, settings.path);
      errors.push(...problems);
      const content = readRevision(files, { registry: opts.registry, namespace: ns, setId: settings.setId });
      errors.push(...content.errors);
      for (const m of content.members) {
        try {
          members.push({ ...m, defaulted: await opts.admit(m.rt, m.manifest) });
        } catch (e) {
          if (!isApiError(e)) throw e;
          const causes = e.details?.causes ?? [];
          if (causes.length) for (const c of causes) errors.push(causeAt(m.doc, c));
          else errors.push(causeAt(m.doc, { field: '', message: e.message }));
        }
      }
    } catch (e) {
      if (isApiError(e)) throw e;
      errors.push(`${settings.path || '.'}: ${(e as Error).message}`);
    }
    const loaded: LoadedRevision = { commit, path: settings.path, members, errors: sortByLocation(errors) };
    // keep the newest and the one applied; drop the rest
    const applied = statusOf(repo).lastAppliedRevision;
    for (const k of state.revisions.keys()) if (!k.startsWith(`${applied}:`)) state.revisions.delete(k);
    state.revisions.set(cacheKey, loaded);
    return loaded;
  }

  /** Objects of the revision that exist and belong to another apply set: never taken over. */
  function ownershipErrors(rev: LoadedRevision, ns: string, setId: string): string[] {
    const out: string[] = [];
    for (const m of rev.members) {
      const other = ownedByAnotherSet(cached(m.rt, ns, m.ref.name), setId);
      if (other) {
        out.push(causeAt(m.doc, {
          field: 'metadata.name',
          message: `${m.rt.kind} "${m.ref.name}" already exists and belongs to another apply set (${APPLYSET_PART_OF_LABEL}=${other}); it is not taken over — delete it or remove that label first`,
        }));
      }
    }
    return out;
  }

  /** Apply every member (creates and corrections only where something differs), then prune. */
  async function applyRevision(
    repo: KubeObject, settings: GitOpsSettings, rev: LoadedRevision, revisionApplied: boolean, ctx: ReconcileContext,
  ): Promise<{ counts: SyncCounts; errors: string[] }> {
    const ns = repo.metadata.namespace!;
    const counts = emptyCounts();
    const errors: string[] = [];
    const where = `GitRepository ${ns}/${repo.metadata.name} at revision ${short(rev.commit)}`;
    for (const m of rev.members) {
      const name = m.ref.name;
      try {
        let decision = decideMember(m, cached(m.rt, ns, name), { revisionApplied });
        if (decision.action === 'unchanged') {
          counts.unchanged++;
          continue;
        }
        // the cache may lag behind a write of our own: decide again on the stored object before writing
        const live = await fresh(m.rt, ns, name);
        if (ownedByAnotherSet(live, settings.setId)) throw new Error(`it belongs to another apply set (${APPLYSET_PART_OF_LABEL}=${live!.metadata.labels![APPLYSET_PART_OF_LABEL]})`);
        decision = decideMember(m, live, { revisionApplied });
        if (decision.action === 'unchanged') {
          counts.unchanged++;
          continue;
        }
        if (decision.action === 'create') {
          const created = await opts.store.create(m.rt.key, await opts.admit(m.rt, decision.object));
          if (decision.recreated) {
            counts.driftCorrected++;
            await recorder.record(created, 'Warning', GitOpsEventReasons.DriftCorrected, `created again: it was deleted outside git (${where})`);
          } else {
            counts.created++;
          }
          continue;
        }
        const admitted = await opts.admit(m.rt, decision.object);
        admitted.metadata.resourceVersion = live!.metadata.resourceVersion;
        const updated = await opts.store.update(m.rt.key, admitted);
        if (decision.drift) {
          counts.driftCorrected++;
          const fields = decision.drift.length ? decision.drift.join(', ') : 'fields the repository sets';
          await recorder.record(updated, 'Warning', GitOpsEventReasons.DriftCorrected, `set back ${fields}: changed outside git (${where})`);
          ctx.logger.info('drift corrected', { object: describeMember(m.ref), fields: decision.drift });
        } else {
          counts.configured++;
        }
      } catch (e) {
        if (isApiError(e, 409)) throw e; // a concurrent write: the whole sync is retried
        const msg = isApiError(e) && e.details?.causes?.length
          ? e.details.causes.map((c) => causeAt(m.doc, c)).join('; ')
          : `${causeAt(m.doc, { field: '', message: `${describeMember(m.ref)}: ${(e as Error).message}` })}`;
        errors.push(msg);
      }
    }
    if (settings.prune) counts.pruned += await prune(ns, settings, rev.members.map((m) => m.ref), where, ctx);
    return { counts, errors };
  }

  /** Delete the set's members the revision lacks; each is re-read so only a still-labelled object goes. */
  async function prune(ns: string, settings: GitOpsSettings, desired: MemberRef[], where: string, ctx: ReconcileContext): Promise<number> {
    const live = memberTypes.flatMap((rt) => opts.informers.informer(rt.key).cache.list(ns).filter((o) => o.metadata.labels?.[APPLYSET_PART_OF_LABEL] === settings.setId));
    let pruned = 0;
    for (const ref of planPrune({ setId: settings.setId, desired, live })) {
      const rt = mustResolve(opts.registry, ref.kind);
      const current = await fresh(rt, ns, ref.name);
      if (!current || current.metadata.uid !== ref.uid || current.metadata.labels?.[APPLYSET_PART_OF_LABEL] !== settings.setId) continue;
      try {
        await opts.store.delete(rt.key, ns, ref.name, { uid: ref.uid });
        pruned++;
        ctx.logger.info('pruned', { object: describeMember(ref), by: where });
      } catch (e) {
        if (!isApiError(e, 404) && !isApiError(e, 409)) throw e;
      }
    }
    return pruned;
  }

  /** Deleted GitRepository: prune every member (with spec.prune, unless suspended), then let it go. */
  async function finalize(repo: KubeObject, ctx: ReconcileContext): Promise<void> {
    const key = `${repo.metadata.namespace}/${repo.metadata.name}`;
    states.delete(key);
    if (!(repo.metadata.finalizers ?? []).includes(GITOPS_FINALIZER)) return;
    const settings = gitOpsSettings(repo);
    if (settings.prune && !settings.suspend) {
      for (const rt of memberTypes) {
        const { items } = await opts.store.list(rt.key, { namespace: repo.metadata.namespace, labelSelector: `${APPLYSET_PART_OF_LABEL}=${settings.setId}` });
        for (const obj of items) {
          if (obj.metadata.deletionTimestamp) continue;
          await opts.store.delete(rt.key, obj.metadata.namespace, obj.metadata.name, { uid: obj.metadata.uid }).catch((e: unknown) => {
            if (!isApiError(e, 404) && !isApiError(e, 409)) throw e;
          });
        }
      }
      ctx.logger.info('members of a deleted GitRepository pruned', { repository: key });
    }
    try {
      await opts.store.update(repos.key, { ...repo, metadata: { ...repo.metadata, finalizers: (repo.metadata.finalizers ?? []).filter((f) => f !== GITOPS_FINALIZER) } });
    } catch (e) {
      if (!isApiError(e, 404)) throw e;
    }
    opts.git.remove(key);
  }

  return createController({
    name: 'gitops',
    resource: repos,
    informers: opts.informers,
    logger: opts.logger,
    clock,
    workers: opts.workers ?? 2,
    // a dependency that becomes Ready wakes those that wait for it
    watches: [{
      resource: repos.key,
      map: (dep) => reposInf.cache.list(dep.metadata.namespace)
        .filter((r) => ((r.spec?.dependsOn as string[] | undefined) ?? []).includes(dep.metadata.name))
        .map((r) => ({ namespace: r.metadata.namespace, name: r.metadata.name })),
    }],
    async reconcile(req, ctx) {
      const key = `${req.namespace}/${req.name}`;
      let repo = reposInf.cache.get(req.namespace, req.name);
      if (!repo) {
        states.delete(key);
        return;
      }
      if (repo.metadata.deletionTimestamp) {
        await finalize(repo, ctx);
        return;
      }
      const settings = gitOpsSettings(repo);
      if (!(repo.metadata.finalizers ?? []).includes(GITOPS_FINALIZER)) {
        repo = await opts.store.update(repos.key, { ...repo, metadata: { ...repo.metadata, finalizers: [...(repo.metadata.finalizers ?? []), GITOPS_FINALIZER] } });
      }
      if (settings.problems.length) {
        await writeStatus(repo, { kind: 'invalidSpec', problems: settings.problems }, false);
        return;
      }
      if (settings.suspend) return; // nothing is fetched or written until resumed (a spec change wakes it)

      let state = states.get(key);
      if (!state || state.uid !== repo.metadata.uid) {
        state = { uid: repo.metadata.uid, needsSync: false, revisions: new Map() };
        states.set(key, state);
      }
      const now = clock.now();
      const asked = pendingRequest(repo);
      // a spec not yet reconciled (a new path, prune switched on, resumed from suspend) is synced at once
      const specChanged = (statusOf(repo).observedGeneration ?? -1) !== (repo.metadata.generation ?? 0);
      const retryDue = state.retryFetchAt !== undefined && now >= state.retryFetchAt;
      if (state.fetchKey !== settings.fetchKey || asked !== undefined || specChanged || retryDue || untilDue(state.fetchedAt, settings.intervalMs, now) === 0) {
        state.fetchedAt = now;
        state.retryFetchAt = undefined;
        state.fetchKey = settings.fetchKey;
        // asked for a sync: validate afresh too (a Cluster policy may have changed since the revision was checked)
        if (asked !== undefined) state.revisions.clear();
        try {
          state.commit = await opts.git.fetch(key, { url: settings.url, ref: settings.ref, authHeader: authHeader(settings) });
          state.fetchError = undefined;
        } catch (e) {
          state.fetchError = (e as Error).message;
        }
        state.needsSync = true;
      }
      const next = () => ({ requeueAfter: Math.max(1, untilDue(state.fetchedAt, settings.intervalMs, clock.now())) });
      if (!state.needsSync) return next();

      if (state.fetchError !== undefined) {
        state.needsSync = false;
        const retryIn = Math.min(settings.intervalMs, RETRY_MS);
        state.retryFetchAt = clock.now() + retryIn;
        const { written } = await writeStatus(repo, { kind: 'fetchFailed', message: state.fetchError }, false);
        if (written) await recorder.record(repo, 'Warning', GitOpsEventReasons.FetchFailed, state.fetchError);
        return { requeueAfter: retryIn };
      }
      const wait = dependencyWait(settings, req.namespace!, (name) => reposInf.cache.get(req.namespace, name));
      if (wait) {
        await writeStatus(repo, { kind: 'waiting', message: wait }, false);
        return { requeueAfter: Math.min(next().requeueAfter, DEPENDENCY_RECHECK_MS) };
      }

      const commit = state.commit!;
      const newest = await loadRevision(repo, settings, state, commit);
      const problems = [...newest.errors, ...ownershipErrors(newest, req.namespace!, settings.setId)];
      const appliedRevision = statusOf(repo).lastAppliedRevision;
      // a rejected revision applies nothing; the last applied one stays in force (its drift is still corrected)
      let target: LoadedRevision | undefined = newest;
      if (problems.length) {
        target = undefined;
        if (appliedRevision && appliedRevision !== commit) {
          const previous = await loadRevision(repo, settings, state, appliedRevision);
          if (previous.errors.length === 0) target = previous;
        }
      }
      let counts = emptyCounts();
      let errors: string[] = [];
      if (target) {
        const isNew = target.commit !== appliedRevision;
        if (isNew) ({ repo } = await writeStatus(repo, { kind: 'progressing', revision: target.commit, objects: target.members.length }, false));
        ({ counts, errors } = await applyRevision(repo, settings, target, !isNew, ctx));
      }
      const changed = countsChanged(counts);
      const inventory = (target ?? newest).members.map((m) => ({ kind: m.ref.kind, namespace: m.ref.namespace, name: m.ref.name }));
      const outcome: SyncOutcome = problems.length
        ? { kind: 'rejected', revision: commit, errors: problems }
        : errors.length ? { kind: 'applyFailed', revision: commit, errors, inventory } : { kind: 'applied', revision: commit, inventory };
      const { written } = await writeStatus(repo, outcome, changed);
      state.needsSync = errors.length > 0;
      if (problems.length && written && statusOf(repo).lastAttemptedRevision !== commit) {
        await recorder.record(repo, 'Warning', GitOpsEventReasons.ValidationFailed,
          `revision ${short(commit)} rejected, nothing of it applied: ${problems.length} problem${problems.length === 1 ? '' : 's'}, first: ${problems[0]}`);
      }
      if (errors.length) await recorder.record(repo, 'Warning', GitOpsEventReasons.ApplyFailed, `revision ${short(commit)}: ${errors[0]}`);
      if (changed) {
        await recorder.record(repo, 'Normal', GitOpsEventReasons.Applied, `revision ${short(target!.commit)}: ${describeCounts(counts)}`);
        ctx.logger.info('gitops sync', { revision: target!.commit, ...counts });
      }
      ctx.logger.debug('gitops sync finished', { revision: commit, rejected: problems.length > 0, writes: changed || written ? 'some' : 'none', ...counts });
      return errors.length ? { requeueAfter: Math.min(settings.intervalMs, RETRY_MS) } : next();
    },
  });
}

/** `file:line:col: …` messages in file, then line, then column order (others last, as they came). */
export function sortByLocation(messages: string[]): string[] {
  const at = (m: string) => /^(.*?):(\d+):(\d+): /.exec(m);
  return messages.map((m, i) => ({ m, i, a: at(m) })).sort((x, y) => {
    if (!x.a || !y.a) return (x.a ? -1 : y.a ? 1 : 0) || x.i - y.i;
    return x.a[1].localeCompare(y.a[1]) || Number(x.a[2]) - Number(y.a[2]) || Number(x.a[3]) - Number(y.a[3]) || x.i - y.i;
  }).map((x) => x.m);
}
