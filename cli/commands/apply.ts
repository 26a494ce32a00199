// `drover apply -f`: validate everything locally, then create or three-way-patch each object in kind order.
import type { Command } from 'commander';
import { isApiError } from '../../core/errors.ts';
import { applyMergePatch, createThreeWayMergePatch, deepEqual } from '../../core/patch.ts';
import { createValidator, type Validator } from '../../core/validation.ts';
import type { ResourceType } from '../../core/resources.ts';
import type { KubeObject } from '../../core/types.ts';
import type { ApiClient } from '../../core/client.ts';
import { CLIError } from '../cli-error.ts';
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
export async function loadPrepared(env: CommandEnv, cmd: Command, files: string[], recursive: boolean, validate = true): Promise<PreparedObject[]> {
  const session = env.session(cmd);
  const sources = await readSources(files, { recursive }, env.io);
  const { docs, errors } = parseSources(sources);
  const prepared = prepareObjects(docs, env.registry(), { namespace: session.namespace, namespaceFromFlag: session.namespaceFromFlag, validate });
  const all = [...errors, ...prepared.errors];
  if (all.length) {
    for (const e of all) writeln(env.io.stderr, e);
    throw new CLIError(`${all.length} problem${all.length === 1 ? '' : 's'} in the manifests, nothing was sent`, { hint: 'fix them and apply again' });
  }
  if (prepared.objects.length === 0) throw new CLIError('no objects passed to apply', { hint: 'the files hold no documents' });
  return prepared.objects;
}

/** Create or patch one object; the dry-run mode decides what is actually sent. */
export async function applyOne(client: ApiClient, p: PreparedObject, mode: DryRunMode, validator?: Validator): Promise<{ outcome: ApplyOutcome; result: KubeObject }> {
  let live: KubeObject | undefined;
  try {
    live = await client.get(p.rt, p.namespace, p.name);
  } catch (e) {
    if (!isApiError(e, 404)) throw e;
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
    .action(async (opts: { filename?: string[]; recursive: boolean; dryRun?: string | boolean }, cmd: Command) => {
      const mode = parseDryRun(opts.dryRun);
      const objects = orderForApply(await loadPrepared(env, cmd, opts.filename ?? [], opts.recursive));
      const { client } = env.session(cmd);
      const validator = createValidator(env.registry());
      const showProgress = objects.length > 50 && env.io.stderr.isTTY === true;
      let failed = 0;
      for (const [i, p] of objects.entries()) {
        try {
          const { outcome } = await applyOne(client, p, mode, validator);
          writeln(env.io.stdout, `${p.ref} ${outcome}${dryRunSuffix(mode)}`);
        } catch (e) {
          if (!isApiError(e)) throw e; // unreachable server etc.: the rest would fail the same way
          failed++;
          reportApplyError(env, p, e);
        }
        if (showProgress && (i + 1) % 100 === 0) writeln(env.io.stderr, `applied ${i + 1}/${objects.length}…`);
      }
      if (failed) throw new CLIError(`${failed} of ${objects.length} object${objects.length === 1 ? '' : 's'} failed to apply`, { hint: 'see the messages above' });
    });
}
