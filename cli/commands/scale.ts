// `drover scale agentdeployment X --replicas N` (also `ad/X`): patches the scale subresource, which
// maps to spec.replicas; the AgentDeployment controller creates or removes Agents.
import type { Command } from 'commander';
import { usageError } from '../cli-error.ts';
import type { CommandEnv } from '../command-env.ts';
import { refName, resolveKind } from '../kinds.ts';
import { writeln } from '../output.ts';

/** `ad X` or `ad/X` → [kind, name]. */
export function parseTarget(args: string[]): [string, string] {
  if (args.length === 1 && args[0].includes('/')) return args[0].split('/', 2) as [string, string];
  if (args.length === 2) return [args[0], args[1]];
  throw usageError('which deployment?', "e.g. 'drover scale agentdeployment trading --replicas 3' or 'drover scale ad/trading --replicas 3'");
}

export function parseReplicas(text: string | undefined): number {
  if (text === undefined) throw usageError('--replicas is required', "e.g. '--replicas 3'");
  if (!/^[0-9]+$/.test(text)) throw usageError(`--replicas must be a whole number ≥ 0, got "${text}"`);
  return Number(text);
}

export function registerScale(program: Command, env: CommandEnv): void {
  program
    .command('scale')
    .description('set the number of replicas of an AgentDeployment')
    .argument('<args...>', 'agentdeployment NAME, or ad/NAME')
    .option('--replicas <n>', 'the new number of replicas')
    .action(async (args: string[], o: { replicas?: string }, cmd: Command) => {
      const [kind, name] = parseTarget(args);
      const replicas = parseReplicas(o.replicas);
      const rt = resolveKind(env.registry(), kind);
      if (!rt.scale) throw usageError(`cannot scale ${rt.plural}: only kinds with a scale subresource (agentdeployments) can be scaled`);
      const session = env.session(cmd);
      await session.client.patch(rt, session.namespace, name, { spec: { replicas } }, 'merge', { subresource: 'scale' });
      writeln(env.io.stdout, `${refName(rt, name)} scaled`);
    });
}
