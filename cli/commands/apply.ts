// `drover apply -f`: validate everything locally, then create or three-way-patch each object in kind order; with
// --applyset they are members of an apply set, and --prune deletes the members the manifests no longer hold.
import type { Command } from 'commander';
import { Conflict, isApiError } from '../../core/errors.ts';
import { applyMergePatch, createThreeWayMergePatch, deepEqual } from '../../core/patch.ts';
import { createValidator, type Validator } from '../../core/validation.ts';
import type { ResourceType } from '../../core/resources.ts';
import type { KubeObject } from '../../core/types.ts';
import type { ApiClient } from '../../core/client.ts';
import { CLIError, usageError } from '../cli-error.ts';
import { APPLYSET_PART_OF_LABEL, ownedByAnotherSet } from '../../core/apply-set.ts';
import { matchesLabels, parseLabelSelector } from '../../core/selectors.ts';
import { applySetRef, beginApplySet, findPrunable, finishApplySet, scopeOfPrepared } from '../apply-set.ts';
import { refName } from '../kinds.ts';
import type { CommandEnv } from '../command-env.ts';
import { causeLine, parseSources, readSources } from '../manifests.ts';
import { writeln } from '../output.ts';
import { lastAppliedOf, orderForApply, prepareObjects } from '../prepare.ts';
import type { PreparedObject } from '../prepare.ts';

export const DryRunModes = ['none', 'client', 'server'] as const;
export type DryRunMode = (typeof DryRunModes)[number];

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

export function parseDryRun(value: string | boolean | undefined): DryRunMode {
  if (value === undefined || value === false) return 'none';
  if (value === true) return 'client'; // bare --dry-run, as older kubectl
  if ((DryRunModes as readonly string[]).includes(value)) return value as DryRunMode;
  throw new CLIError(`invalid --dry-run value "${value}"`, { hint: 'use --dry-run=client or --dry-run=server', exitCode: 2 });
}

export function dryRunSuffix(mode: DryRunMode): string {
  return mode === 'client' ? ' (dry run)' : mode === 'server' ? ' (server dry run)' : '';
}

/** Load, parse and validate every -f source; throws (exit 1) with every problem listed when any is bad. */
export async function loadPrepared(
  env: CommandEnv, cmd: Command, files: string[], recursive: boolean, validate = true,
  opts: { applySetId?: string; allowEmpty?: boolean } = {},
): Promise<PreparedObject[]> {
  const session = env.session(cmd);
  const sources = await readSources(files, { recursive }, env.io);
  const { docs, errors } = parseSources(sources);
  const prepared = prepareObjects(docs, env.registry(), { namespace: session.namespace, namespaceFromFlag: session.namespaceFromFlag, validate, applySetId: opts.applySetId });
  const all = [...errors, ...prepared.errors];
  if (all.length) {
    for (const e of all) writeln(env.io.stderr, e);
    throw new CLIError(`${all.length} problem${all.length === 1 ? '' : 's'} in the manifests, nothing was sent`, { hint: 'fix them and apply again' });
  }
  if (prepared.objects.length === 0 && !opts.allowEmpty) throw new CLIError('no objects passed to apply', { hint: 'the files hold no documents' });
  return prepared.objects;
}

/**
 * Create or patch one object; the dry-run mode decides what is actually sent. With `applySetId`, an object that
 * already belongs to another apply set is refused (409): a set never takes over what another one owns.
 */
export async function applyOne(client: ApiClient, p: PreparedObject, mode: DryRunMode, validator?: Validator, applySetId?: string): Promise<{ outcome: ApplyOutcome; result: KubeObject }> {
  let live: KubeObject | undefined;
  try {
    live = await client.get(p.rt, p.namespace, p.name);
  } catch (e) {
    if (!isApiError(e, 404)) throw e;
  }
  const other = applySetId ? ownedByAnotherSet(live, applySetId) : undefined;
  if (other) {
    throw new Conflict(`it belongs to another apply set (${APPLYSET_PART_OF_LABEL}=${other}) and is not taken over; delete it or remove that label first`,
      { name: p.name, group: p.rt.group, kind: p.rt.plural });
  }
  if (!live) {
    const result = mode === 'client' ? p.desired : await client.create(p.rt, p.desired, { dryRun: mode === 'server' });
    return { outcome: 'created', result };
  }
  const patch = createThreeWayMergePatch(lastAppliedOf(live), p.desired, live);
  if (Object.keys(patch).length === 0) return { outcome: 'unchanged', result: live };
  // A merge patch replaces whole lists, so a list whose items the server defaulted (ports[].protocol)
  // always differs from the manifest; what counts is whether the defaulted result would differ.
  if (validator && patchChangesNothing(validator, p.rt, live, patch)) return { outcome: 'unchanged', result: live };
  const result = mode === 'client' ? live : await client.patch(p.rt, p.namespace, p.name, patch, 'merge', { dryRun: mode === 'server' });
  return { outcome: 'configured', result };
}

function patchChangesNothing(validator: Validator, rt: ResourceType, live: KubeObject, patch: Record<string, unknown>): boolean {
  const { object } = validator.check(rt, applyMergePatch(structuredClone(live), patch) as KubeObject);
  const { status: _a, metadata: m1, ...rest1 } = object;
  const { status: _b, metadata: m2, ...rest2 } = live;
  return deepEqual(rest1, rest2) && deepEqual(m1.labels ?? {}, m2.labels ?? {}) && deepEqual(m1.annotations ?? {}, m2.annotations ?? {});
}

/** A server error for one object: each 422 cause at its file:line, anything else as one line naming the object. */
export function reportApplyError(env: CommandEnv, p: PreparedObject, e: unknown): void {
  if (isApiError(e, 422) && e.details?.causes?.length) {
    for (const c of e.details.causes) writeln(env.io.stderr, causeLine(p.source.doc, c));
    return;
  }
  writeln(env.io.stderr, `error: ${p.source.file}: ${p.ref}: ${(e as Error).message}`);
}

export function registerApply(program: Command, env: CommandEnv): void {
  program
    .command('apply')
    .description('create or update objects from manifest files (validated against the CRDs first)')
    .option('-f, --filename <path...>', 'file, directory or - for stdin (repeatable)')
    .option('-R, --recursive', 'walk directories recursively', false)
    .option('--dry-run [mode]', 'client (nothing sent) or server (validated and defaulted, not stored)')
    .option('--applyset <name>', 'apply as members of this apply set (parent: applyset NAME in the -n namespace)')
    .option('--prune', 'with --applyset: delete members of the set that these manifests no longer hold', false)
    .option('-l, --selector <selector>', 'apply only objects with these labels (and with --prune, prune only such members)')
    .action(async (opts: { filename?: string[]; recursive: boolean; dryRun?: string | boolean; applyset?: string; prune: boolean; selector?: string }, cmd: Command) => {
      const mode = parseDryRun(opts.dryRun);
      if (opts.prune && !opts.applyset) {
        throw usageError('--prune needs --applyset NAME', 'drover prunes only what an apply set owns: name the set, e.g. --applyset web');
      }
      let selector;
      try {
        selector = opts.selector ? parseLabelSelector(opts.selector) : undefined;
      } catch (e) {
        throw usageError(`invalid --selector "${opts.selector}": ${(e as Error).message}`);
      }
      const session = env.session(cmd);
      const { client } = session;
      const registry = env.registry();
      const set = opts.applyset ? applySetRef(opts.applyset, session.namespace) : undefined;
      let objects = orderForApply(await loadPrepared(env, cmd, opts.filename ?? [], opts.recursive, true, { applySetId: set?.id, allowEmpty: opts.prune }));
      if (selector) objects = objects.filter((p) => matchesLabels(selector, p.desired.metadata.labels));
      if (objects.length === 0 && !opts.prune) throw new CLIError('no objects passed to apply', { hint: `no object matches the selector "${opts.selector}"` });
      const scope = set ? await beginApplySet(client, registry, set, scopeOfPrepared(objects), mode === 'none') : undefined;
      const validator = createValidator(registry);
      const showProgress = objects.length > 50 && env.io.stderr.isTTY === true;
      let failed = 0;
      for (const [i, p] of objects.entries()) {
        try {
          const { outcome } = await applyOne(client, p, mode, validator, set?.id);
          writeln(env.io.stdout, `${p.ref} ${outcome}${dryRunSuffix(mode)}`);
        } catch (e) {
          if (!isApiError(e)) throw e; // unreachable server etc.: the rest would fail the same way
          failed++;
          reportApplyError(env, p, e);
        }
        if (showProgress && (i + 1) % 100 === 0) writeln(env.io.stderr, `applied ${i + 1}/${objects.length}…`);
      }
      if (set && scope && opts.prune) {
        if (failed) {
          writeln(env.io.stderr, `not pruning apply set ${set.name}: ${failed} object${failed === 1 ? '' : 's'} failed to apply`);
        } else {
          const desired = objects.map((p) => ({ kind: p.rt.kind, namespace: p.namespace, name: p.name }));
          for (const { rt, ref } of await findPrunable(client, registry, { set, scope, desired, selector: opts.selector })) {
            try {
              if (mode !== 'client') await client.delete(rt, ref.namespace, ref.name, { dryRun: mode === 'server' });
              writeln(env.io.stdout, `${refName(rt, ref.name)} pruned${dryRunSuffix(mode)}`);
            } catch (e) {
              if (isApiError(e, 404)) continue; // gone meanwhile
              if (!isApiError(e)) throw e;
              failed++;
              writeln(env.io.stderr, `error: pruning ${refName(rt, ref.name)}: ${(e as Error).message}`);
            }
          }
          // members matching no selector stay members: narrow the recorded scope only after a full prune
          if (mode === 'none' && !failed && !opts.selector) await finishApplySet(client, registry, set, scopeOfPrepared(objects));
        }
      }
      if (failed) throw new CLIError(`${failed} of ${objects.length} object${objects.length === 1 ? '' : 's'} failed to apply`, { hint: 'see the messages above' });
    });
}
