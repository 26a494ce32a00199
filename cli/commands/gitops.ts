// `drover gitops status [NAME] [-A]`: one line per GitRepository (revision, readiness, why, last change).
// `drover gitops sync NAME [--no-wait] [--timeout 5m]`: sets the annotation gitops.drover.dev/requestedAt (as the
// webhook POST /api/v1/gitops/NS/NAME/hook does) and, unless --no-wait, follows the controller's status until it
// has handled that request: progress on stderr, the result on stdout, exit 1 when the revision was refused.
import type { Command } from 'commander';
import { parseDuration } from '../../core/duration.ts';
import { isApiError } from '../../core/errors.ts';
import type { GitRepositorySpec, GitRepositoryStatus } from '../../core/kinds.generated.ts';
import { formatAge } from '../../core/printer.ts';
import type { ResourceType } from '../../core/resources.ts';
import type { Condition, KubeObject } from '../../core/types.ts';
import { CLIError, usageError } from '../cli-error.ts';
import type { CommandEnv } from '../command-env.ts';
import { refName, resolveKind } from '../kinds.ts';
import { StreamingTable, writeln } from '../output.ts';

/** The same annotation as reconcilers/gitops-sync.ts GITOPS_REQUESTED_AT_ANNOTATION. */
export const GITOPS_REQUESTED_AT_ANNOTATION = 'gitops.drover.dev/requestedAt';
export const DEFAULT_SYNC_TIMEOUT = '5m';
const POLL_MS = 300;
const MESSAGE_WIDTH = 100;

const cond = (obj: KubeObject, type: string): Condition | undefined =>
  ((obj.status as GitRepositoryStatus | undefined)?.conditions ?? []).find((c) => c.type === type);
const shortRev = (r: string | undefined) => (r ? r.slice(0, 12) : '<none>');

/** NAME, URL, REVISION, READY, MESSAGE, LAST SYNC (NAMESPACE first with -A). */
export function gitopsStatusRows(items: KubeObject[], opts: { now: number; allNamespaces: boolean; wide?: boolean }): string[][] {
  const header = ['NAME', 'URL', 'REVISION', 'READY', 'MESSAGE', 'LAST SYNC'];
  const rows = items.map((o) => {
    const spec = (o.spec ?? {}) as GitRepositorySpec;
    const st = (o.status ?? {}) as GitRepositoryStatus;
    const ready = cond(o, 'Ready');
    const readyCell = spec.suspend ? 'Suspended' : ready?.status ?? 'Unknown';
    let message = ready?.message ?? (spec.suspend ? '' : 'not reconciled yet');
    if (!opts.wide && message.length > MESSAGE_WIDTH) message = `${message.slice(0, MESSAGE_WIDTH - 1)}…`;
    const lastSync = st.lastSyncTime ? formatAge(opts.now - Date.parse(st.lastSyncTime)) : '<never>';
    return [o.metadata.name, spec.url, shortRev(st.lastAppliedRevision), readyCell, message, lastSync];
  });
  return opts.allNamespaces
    ? [['NAMESPACE', ...header], ...rows.map((r, i) => [items[i].metadata.namespace ?? '', ...r])]
    : [header, ...rows];
}

function gitRepositoryType(env: CommandEnv): ResourceType {
  return resolveKind(env.registry(), 'GitRepository');
}

/** The line printed when a request was handled. */
export function syncResult(obj: KubeObject): { ok: boolean; text: string } {
  const ready = cond(obj, 'Ready');
  const st = (obj.status ?? {}) as GitRepositoryStatus;
  if (ready?.status === 'True') return { ok: true, text: `synced: revision ${shortRev(st.lastAppliedRevision)} applied — ${ready.message ?? ''}` };
  return { ok: false, text: `${ready?.reason ?? 'NotReady'}: ${ready?.message ?? 'not Ready'}` };
}

/** Handled: the status names our request and nothing is in progress any more. */
export function syncHandled(obj: KubeObject, requestedAt: string): boolean {
  const st = (obj.status ?? {}) as GitRepositoryStatus;
  if (st.lastHandledSyncAt !== requestedAt) return false;
  if ((st.observedGeneration ?? 0) !== (obj.metadata.generation ?? 0)) return false;
  const ready = cond(obj, 'Ready');
  const reconciling = cond(obj, 'Reconciling');
  if (ready?.status === 'Unknown') return false;
  // a wait for dependencies is reported and then waited out (until --timeout)
  return !(reconciling?.status === 'True');
}

export function registerGitops(program: Command, env: CommandEnv): void {
  const gitops = program.command('gitops').description('GitRepositories: what is synced, and sync now');

  gitops
    .command('status')
    .description('one line per GitRepository: URL, applied revision, Ready, why, and when a sync last changed something')
    .argument('[name]', 'only this GitRepository')
    .option('-A, --all-namespaces', 'in every Cluster', false)
    .option('-o, --output <format>', 'wide: full messages', '')
    .action(async (name: string | undefined, o: { allNamespaces: boolean; output: string }, cmd: Command) => {
      if (o.output && o.output !== 'wide') throw usageError(`unknown output format "${o.output}"`, 'use -o wide, or drover get gitrepositories -o yaml|json');
      const session = env.session(cmd);
      const rt = gitRepositoryType(env);
      let items: KubeObject[];
      if (name) {
        items = [await session.client.get(rt, session.namespace, name)];
      } else {
        items = (await session.client.list(rt, { namespace: o.allNamespaces ? undefined : session.namespace })).items;
      }
      if (items.length === 0) {
        writeln(env.io.stderr, o.allNamespaces ? 'No GitRepositories found.' : `No GitRepositories found in namespace ${session.namespace}.`);
        return;
      }
      for (const line of new StreamingTable().formatAll(gitopsStatusRows(items, { now: env.now(), allNamespaces: o.allNamespaces, wide: o.output === 'wide' }))) {
        writeln(env.io.stdout, line);
      }
    });

  gitops
    .command('sync')
    .description('fetch, validate and apply a GitRepository now, and wait for the result')
    .argument('<name>', 'the GitRepository')
    .option('--no-wait', 'return as soon as the sync is requested')
    .option('--timeout <duration>', 'how long to wait for the result', DEFAULT_SYNC_TIMEOUT)
    .action(async (name: string, o: { wait: boolean; timeout: string }, cmd: Command) => {
      let timeoutMs: number;
      try {
        timeoutMs = parseDuration(o.timeout);
      } catch (e) {
        throw usageError(`--timeout: ${(e as Error).message}`);
      }
      const session = env.session(cmd);
      const { client } = session;
      const rt = gitRepositoryType(env);
      const ref = refName(rt, name);
      let obj: KubeObject;
      try {
        obj = await client.get(rt, session.namespace, name);
      } catch (e) {
        if (isApiError(e, 404)) throw new CLIError(`${ref} not found in namespace "${session.namespace}"`, { hint: "list them with 'drover gitops status -A'", cause: e });
        throw e;
      }
      if ((obj.spec as GitRepositorySpec | undefined)?.suspend) {
        throw new CLIError(`${ref} is suspended: nothing is synced`, { hint: 'set spec.suspend: false (e.g. with drover apply) to resume it' });
      }
      const requestedAt = new Date(env.now()).toISOString();
      await client.patch(rt, session.namespace, name, { metadata: { annotations: { [GITOPS_REQUESTED_AT_ANNOTATION]: requestedAt } } }, 'merge');
      writeln(env.io.stdout, `${ref} sync requested`);
      if (!o.wait) return;

      const deadline = env.now() + timeoutMs;
      let lastProgress = '';
      for (;;) {
        if (env.io.signal?.aborted) return;
        obj = await client.get(rt, session.namespace, name);
        if (syncHandled(obj, requestedAt)) break;
        const r = cond(obj, 'Reconciling');
        const ready = cond(obj, 'Ready');
        const progress = r?.status === 'True' ? r.message ?? '' : (obj.status as GitRepositoryStatus | undefined)?.lastHandledSyncAt === requestedAt ? '' : 'waiting for the controller…';
        if (progress && progress !== lastProgress) {
          writeln(env.io.stderr, progress);
          lastProgress = progress;
        }
        if (env.now() > deadline) {
          throw new CLIError(`${ref}: no result within ${o.timeout}${ready?.message ? ` (Ready: ${ready.message})` : ''}`, { hint: "see 'drover gitops status' and 'drover describe gitrepository NAME'" });
        }
        await new Promise((done) => setTimeout(done, POLL_MS));
      }
      const result = syncResult(obj);
      if (!result.ok) {
        const errors = (obj.status as GitRepositoryStatus | undefined)?.errors ?? [];
        for (const e of errors) writeln(env.io.stderr, e);
        throw new CLIError(`${ref}: ${result.text}`, { hint: errors.length ? 'fix the files above and push a new commit' : undefined });
      }
      writeln(env.io.stdout, result.text);
    });
}
