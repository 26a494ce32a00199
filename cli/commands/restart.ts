// `drover restart container NAME`: like `kubectl rollout restart`, bumps an annotation; the container
// controller turns each distinct value into one restart Task.
import type { Command } from 'commander';
import { RESTARTED_AT_ANNOTATION } from '../../reconcilers/container-reconciler.ts';
import { usageError } from '../cli-error.ts';
import type { CommandEnv } from '../command-env.ts';
import { refName, resolveKind } from '../kinds.ts';
import { writeln } from '../output.ts';

export function registerRestart(program: Command, env: CommandEnv): void {
  program
    .command('restart')
    .description('restart containers (the node agent stops and starts them; queued behind conflicting work)')
    .argument('<args...>', 'container NAME..., or container/NAME...')
    .action(async (args: string[], _o: unknown, cmd: Command) => {
      const session = env.session(cmd);
      const registry = env.registry();
      const targets = args[0].includes('/')
        ? args.map((a) => a.split('/', 2) as [string, string])
        : args.slice(1).map((n) => [args[0], n] as [string, string]);
      if (targets.length === 0) throw usageError('which container?', "e.g. 'drover restart container web'");
      for (const [kind, name] of targets) {
        const rt = resolveKind(registry, kind);
        if (rt.kind !== 'Container') throw usageError(`cannot restart ${rt.plural}: only containers can be restarted`);
        const at = new Date(env.now()).toISOString();
        await session.client.patch(rt, session.namespace, name, { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: at } } }, 'merge');
        writeln(env.io.stdout, `${refName(rt, name)} restarted`);
      }
    });
}
