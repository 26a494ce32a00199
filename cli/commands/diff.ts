// `drover diff -f`: server dry-run of the apply, then a unified diff of live vs. would-be objects as YAML.
// Exit codes as kubectl: 0 no differences, 1 differences, >1 error.
import type { Command } from 'commander';
import { isApiError } from '../../core/errors.ts';
import type { KubeObject } from '../../core/types.ts';
import { CLIError } from '../cli-error.ts';
import type { CommandEnv } from '../command-env.ts';
import { unifiedDiff } from '../line-diff.ts';
import { toYamlText } from '../output.ts';
import { lastAppliedOf, orderForApply } from '../prepare.ts';
import { createThreeWayMergePatch } from '../../core/patch.ts';
import { loadPrepared, reportApplyError } from './apply.ts';

/** Fields that change on every write and would drown the real differences. */
const NOISY_METADATA = ['resourceVersion', 'generation', 'managedFields', 'creationTimestamp', 'uid'] as const;

export function withoutNoise(obj: KubeObject | undefined): KubeObject | undefined {
  if (!obj) return undefined;
  const meta: Record<string, unknown> = { ...obj.metadata };
  for (const k of NOISY_METADATA) delete meta[k];
  return { ...obj, metadata: meta as unknown as KubeObject['metadata'] };
}

export function objectDiff(label: string, live: KubeObject | undefined, merged: KubeObject | undefined): string {
  const a = live ? toYamlText(withoutNoise(live)) : '';
  const b = merged ? toYamlText(withoutNoise(merged)) : '';
  return unifiedDiff(a, b, { fromFile: `live/${label}`, toFile: `merged/${label}` });
}

export const DIFF_ERROR_EXIT = 2;

export function registerDiff(program: Command, env: CommandEnv): void {
  program
    .command('diff')
    .description('show what apply would change (server dry run); exit 1 when there are differences')
    .option('-f, --filename <path...>', 'file, directory or - for stdin')
    .option('-R, --recursive', 'walk directories recursively', false)
    .action(async (o: { filename?: string[]; recursive: boolean }, cmd: Command) => {
      env.errorExitCode = DIFF_ERROR_EXIT; // any failure must not look like "differences found" (1)
      const objects = orderForApply(await loadPrepared(env, cmd, o.filename ?? [], o.recursive));
      const { client } = env.session(cmd);
      let differs = false;
      let failed = 0;
      for (const p of objects) {
        const label = `${p.rt.singular}.${p.rt.group}/${p.namespace ? `${p.namespace}/` : ''}${p.name}`;
        try {
          let live: KubeObject | undefined;
          try {
            live = await client.get(p.rt, p.namespace, p.name);
          } catch (e) {
            if (!isApiError(e, 404)) throw e;
          }
          let merged: KubeObject;
          if (!live) {
            merged = await client.create(p.rt, p.desired, { dryRun: true });
          } else {
            const patch = createThreeWayMergePatch(lastAppliedOf(live), p.desired, live);
            merged = Object.keys(patch).length ? await client.patch(p.rt, p.namespace, p.name, patch, 'merge', { dryRun: true }) : live;
          }
          const text = objectDiff(label, live, merged);
          if (text) { differs = true; env.io.stdout.write(text); }
        } catch (e) {
          if (!isApiError(e)) throw e;
          failed++;
          reportApplyError(env, p, e);
        }
      }
      if (failed) throw new CLIError(`${failed} of ${objects.length} objects could not be compared`, { exitCode: DIFF_ERROR_EXIT });
      env.exitCode = differs ? 1 : 0;
    });
}
