// `drover tasks stats|retry|cancel`: the task queue through the seed task API (`drover get tasks` lists them).
import type { Command } from 'commander';
import { formatTable } from '../../core/printer.ts';
import type { CommandEnv } from '../command-env.ts';
import { usageError } from '../cli-error.ts';
import { toJsonText, writeln } from '../output.ts';

interface TaskStats {
  namespace: string | null;
  total: number;
  byState: Record<string, number>;
  byType: Record<string, number>;
}

interface SeedTaskView {
  id: string;
  namespace: string;
  state: string;
  attempts: number;
  maxRetries: number;
  leaseHolder: string | null;
  node: string | null;
  message: string | null;
}

const withNamespace = (path: string, ns: string | undefined) => (ns ? `${path}?namespace=${encodeURIComponent(ns)}` : path);

/** The stats as two small tables, STATE/COUNT and TYPE/COUNT; types without tasks are left out. */
export function formatTaskStats(s: TaskStats): string {
  const states = formatTable(['STATE', 'COUNT'], Object.entries(s.byState).map(([k, v]) => [k, String(v)]));
  const types = Object.entries(s.byType).filter(([, v]) => v > 0).map(([k, v]) => [k, String(v)]);
  const where = s.namespace ? `in namespace ${s.namespace}` : 'in all namespaces';
  return `${s.total} tasks ${where}\n\n${states}${types.length ? `\n${formatTable(['TYPE', 'COUNT'], types)}` : ''}`;
}

export function registerTasks(program: Command, env: CommandEnv): void {
  const tasks = program.command('tasks').description('inspect and steer the task queue (list tasks with `drover get tasks`)');

  tasks
    .command('stats')
    .description('count tasks by state and by type')
    .option('-A, --all-namespaces', 'count across all namespaces', false)
    .option('-o, --output <format>', 'json for the raw numbers')
    .action(async (o: { allNamespaces: boolean; output?: string }, cmd: Command) => {
      if (o.output !== undefined && o.output !== 'json') throw usageError(`unknown output format "${o.output}"`, 'use -o json or leave it out');
      const session = env.session(cmd);
      const stats = (await session.client.raw('GET', withNamespace('/api/v1/tasks/stats', o.allNamespaces ? undefined : session.namespace))) as TaskStats;
      env.io.stdout.write(o.output === 'json' ? toJsonText(stats) : formatTaskStats(stats));
    });

  tasks
    .command('retry')
    .description('run a Failed or Cancelled task again (one more attempt is granted when its retries are used up)')
    .argument('<name>', 'the Task name')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const session = env.session(cmd);
      const t = (await session.client.raw('POST', withNamespace(`/api/v1/tasks/${encodeURIComponent(name)}/retry`, session.namespace))) as SeedTaskView;
      writeln(env.io.stdout, `task.drover.dev/${t.id} queued for retry (${t.attempts} of ${t.maxRetries} attempts used)`);
    });

  tasks
    .command('cancel')
    .description('cancel a task; a Running one is cancelled once its node finishes it')
    .argument('<name>', 'the Task name')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const session = env.session(cmd);
      const t = (await session.client.raw('POST', withNamespace(`/api/v1/tasks/${encodeURIComponent(name)}/cancel`, session.namespace))) as SeedTaskView;
      writeln(env.io.stdout, t.state === 'Cancelled'
        ? `task.drover.dev/${t.id} cancelled`
        : `task.drover.dev/${t.id} is running on ${t.leaseHolder ?? t.node ?? 'its node'}; it will be cancelled when it finishes`);
    });
}
