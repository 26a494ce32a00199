// `drover logs container/NAME|agent/NAME [-f] [--tail N] [-n NS]`: the output the manager keeps for a container or an agent.
import type { Command } from 'commander';
import { usageError } from '../cli-error.ts';
import type { CommandEnv } from '../command-env.ts';

export interface LogsTarget {
  /** Plural of the kind whose log is read (a bare NAME is a container). */
  plural: 'containers' | 'agents';
  name: string;
}

const LOG_KINDS: Record<string, LogsTarget['plural']> = {
  container: 'containers', containers: 'containers', 'container.drover.dev': 'containers', 'containers.drover.dev': 'containers',
  agent: 'agents', agents: 'agents', ag: 'agents', 'agent.drover.dev': 'agents', 'agents.drover.dev': 'agents',
};

/** `container/NAME`, `agent/NAME` (also plural, `ag/`, `.drover.dev` forms) or a bare container `NAME`. */
export function parseLogsTarget(arg: string): LogsTarget {
  const slash = arg.indexOf('/');
  if (slash < 0) {
    if (!arg) throw usageError('which container?', "e.g. 'drover logs container/web'");
    return { plural: 'containers', name: arg };
  }
  const plural = LOG_KINDS[arg.slice(0, slash).toLowerCase()];
  const name = arg.slice(slash + 1);
  if (!plural) {
    throw usageError(`logs are kept for containers and agents only, not "${arg.slice(0, slash)}"`, "e.g. 'drover logs container/web' or 'drover logs agent/trading-x7k2p'");
  }
  if (!name) throw usageError(`which ${plural === 'agents' ? 'agent' : 'container'}?`, `e.g. 'drover logs ${plural === 'agents' ? 'agent/trading-x7k2p' : 'container/web'}'`);
  return { plural, name };
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
    .description('print the recent output of a container or an agent (the manager keeps the last 1 MiB)')
    .argument('<target>', 'container/NAME, agent/NAME or NAME (a container)')
    .option('-f, --follow', 'keep printing new output until Ctrl-C', false)
    .option('--tail <lines>', 'only the last N lines (-1 = all)')
    .option('--limit-bytes <bytes>', 'at most this many bytes')
    .action(async (arg: string, o: { follow: boolean; tail?: string; limitBytes?: string }, cmd: Command) => {
      const { plural, name } = parseLogsTarget(arg);
      const tail = parseTail(o.tail);
      const limit = o.limitBytes === undefined ? undefined : Number(o.limitBytes);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw usageError(`--limit-bytes must be a positive integer (got "${o.limitBytes}")`);
      const session = env.session(cmd);
      const q = new URLSearchParams();
      if (tail !== undefined) q.set('tailLines', String(tail));
      if (limit !== undefined) q.set('limitBytes', String(limit));
      if (o.follow) q.set('follow', 'true');
      const qs = q.toString();
      const path = `/apis/drover.dev/v1alpha1/namespaces/${encodeURIComponent(session.namespace)}/${plural}/${encodeURIComponent(name)}/log${qs ? `?${qs}` : ''}`;
      if (!o.follow) {
        env.io.stdout.write(await session.client.text('GET', path));
        return;
      }
      // Ctrl-C aborts the signal: the stream ends and the command exits 0
      await session.client.streamText(path, (text) => env.io.stdout.write(text), env.io.signal);
    });
}
