// `drover wait KIND/NAME… --for=…`: watch until the condition holds, or time out (exit 1).
import type { Command } from 'commander';
import { CLIError, usageError } from '../cli-error.ts';
import type { CommandEnv } from '../command-env.ts';
import { resolveKind, refName } from '../kinds.ts';
import { writeln } from '../output.ts';
import { describeCondition, parseDuration, parseWaitFor, waitForObject } from '../wait-for.ts';

export function registerWait(program: Command, env: CommandEnv): void {
  program
    .command('wait')
    .description('wait until objects meet a condition, are deleted, or a field has a value')
    .argument('<targets...>', 'KIND/NAME, or KIND NAME...')
    .requiredOption('--for <condition>', 'condition=Available[=True], delete, or jsonpath={.status.phase}=Running')
    .option('--timeout <duration>', 'give up after this long', '30s')
    .action(async (args: string[], o: { for: string; timeout: string }, cmd: Command) => {
      const cond = parseWaitFor(o.for);
      const timeoutMs = parseDuration(o.timeout);
      const registry = env.registry();
      const pairs = args[0].includes('/')
        ? args.map((a) => {
          const [k, n] = a.split('/', 2);
          if (!n) throw usageError(`"${a}" is not KIND/NAME`);
          return [k, n] as const;
        })
        : args.slice(1).map((n) => [args[0], n] as const);
      if (pairs.length === 0) throw usageError('wait needs at least one object', "e.g. 'drover wait agentdeployment/trading --for=condition=Available'");
      const session = env.session(cmd);
      const tty = env.io.stderr.isTTY === true;
      const deadline = env.now() + timeoutMs;
      for (const [k, name] of pairs) {
        const rt = resolveKind(registry, k);
        const ns = rt.namespaced ? session.namespace : undefined;
        const result = await waitForObject(session.client, rt, ns, name, cond, {
          timeoutMs: Math.max(0, deadline - env.now()),
          signal: env.io.signal,
          onProgress: tty ? (ms) => writeln(env.io.stderr, `waiting for ${rt.plural}/${name}: ${describeCondition(cond)} (${Math.round(ms / 1000)}s)…`) : undefined,
        });
        if (result === 'interrupted') return;
        if (result === 'timeout') throw new CLIError(`timed out waiting for the condition on ${rt.plural}/${name}`);
        writeln(env.io.stdout, `${refName(rt, name)} ${cond.type === 'delete' ? 'deleted' : 'condition met'}`);
      }
    });
}
