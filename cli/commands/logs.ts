// `drover logs container/NAME [-f] [--tail N] [-n NS]`: the output the manager keeps for a container.
import type { Command } from 'commander';
import { usageError } from '../cli-error.ts';
import type { CommandEnv } from '../command-env.ts';

export interface LogsTarget {
  name: string;
}

/** `container/NAME`, `containers/NAME`, `ctr/NAME` or a bare `NAME`; other kinds have no logs yet. */
export function parseLogsTarget(arg: string): LogsTarget {
  const slash = arg.indexOf('/');
  if (slash < 0) {
    if (!arg) throw usageError('which container?', "e.g. 'drover logs container/web'");
    return { name: arg };
  }
  const kind = arg.slice(0, slash).toLowerCase();
  const name = arg.slice(slash + 1);
  if (!['container', 'containers', 'container.drover.dev', 'containers.drover.dev'].includes(kind)) {
    throw usageError(`logs are kept for containers only, not "${arg.slice(0, slash)}"`, "e.g. 'drover logs container/web'");
  }
  if (!name) throw usageError('which container?', "e.g. 'drover logs container/web'");
  return { name };
}

export function parseTail(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '-1') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw usageError(`--tail must be a non-negative integer (got "${raw}")`);
  return n;
}

export function registerLogs(program: Command, env: CommandEnv): void {
  program
    .command('logs')
    .description('print the recent output of a container (the manager keeps the last 1 MiB)')
    .argument('<container>', 'container/NAME or NAME')
    .option('-f, --follow', 'keep printing new output until Ctrl-C', false)
    .option('--tail <lines>', 'only the last N lines (-1 = all)')
    .option('--limit-bytes <bytes>', 'at most this many bytes')
    .action(async (arg: string, o: { follow: boolean; tail?: string; limitBytes?: string }, cmd: Command) => {
      const { name } = parseLogsTarget(arg);
      const tail = parseTail(o.tail);
      const limit = o.limitBytes === undefined ? undefined : Number(o.limitBytes);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw usageError(`--limit-bytes must be a positive integer (got "${o.limitBytes}")`);
      const session = env.session(cmd);
      const q = new URLSearchParams();
      if (tail !== undefined) q.set('tailLines', String(tail));
      if (limit !== undefined) q.set('limitBytes', String(limit));
      if (o.follow) q.set('follow', 'true');
      const qs = q.toString();
      const path = `/apis/drover.dev/v1alpha1/namespaces/${encodeURIComponent(session.namespace)}/containers/${encodeURIComponent(name)}/log${qs ? `?${qs}` : ''}`;
      if (!o.follow) {
        env.io.stdout.write(await session.client.text('GET', path));
        return;
      }
      // Ctrl-C aborts the signal: the stream ends and the command exits 0
      await session.client.streamText(path, (text) => env.io.stdout.write(text), env.io.signal);
    });
}
