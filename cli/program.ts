// The drover CLI program: builds the commander program and runs it against injected io (tests call run() directly).
import { Command, CommanderError } from 'commander';
import { registerAdmin } from './commands/admin.ts';
import { registerAgent } from './commands/agent.ts';
import { registerApply } from './commands/apply.ts';
import { registerConfig } from './commands/config.ts';
import { registerDelete } from './commands/delete.ts';
import { registerDescribe } from './commands/describe.ts';
import { registerDiff } from './commands/diff.ts';
import { registerGet } from './commands/get.ts';
import { registerGitops } from './commands/gitops.ts';
import { registerLogs } from './commands/logs.ts';
import { registerNodeOps } from './commands/node-ops.ts';
import { registerRestart } from './commands/restart.ts';
import { registerRebalance } from './commands/rebalance.ts';
import { registerScale } from './commands/scale.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerServerCommands } from './commands/server.ts';
import { registerStatus } from './commands/status.ts';
import { registerSimulate } from './commands/simulate.ts';
import { registerTasks } from './commands/tasks.ts';
import { registerToken } from './commands/token.ts';
import { registerVersion, clientVersion } from './commands/version.ts';
import { registerWait } from './commands/wait.ts';
import { ExitCodes } from './cli-error.ts';
import { createCommandEnv } from './command-env.ts';
import type { CommandEnv } from './command-env.ts';
import type { Io } from './io.ts';
import { formatError } from './output.ts';

export type { Io } from './io.ts';

export function buildProgram(env: CommandEnv, onCommand?: (name: string) => void): Command {
  const { io } = env;
  const program = new Command('drover')
    .description('drover: a Kubernetes-style control plane for Docker hosts and the agents inside them')
    .option('--context <name>', 'the context of the config file to use')
    .option('--server <url>', 'API server URL (overrides the context)')
    .option('--token <token>', 'bearer token (overrides the context)')
    .option('-n, --namespace <namespace>', 'namespace (a Cluster name); default from the context, else "default"')
    .option('--config <path>', 'config file (default $DROVER_CONFIG or ~/.drover/config)')
    .version(clientVersion(), '--client-version', 'print the client version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showSuggestionAfterError(true)
    .hook('preAction', (_root, action) => onCommand?.(action.name()));
  registerApply(program, env);
  registerGet(program, env);
  registerDescribe(program, env);
  registerDelete(program, env);
  registerDiff(program, env);
  registerWait(program, env);
  registerConfig(program, env);
  registerVersion(program, env);
  registerServerCommands(program, env);
  registerTasks(program, env);
  registerToken(program, env);
  registerLogs(program, env);
  registerNodeOps(program, env);
  registerRestart(program, env);
  registerRebalance(program, env);
  registerScale(program, env);
  registerMigrate(program, env);
  registerAdmin(program, env);
  registerAgent(program, env);
  registerStatus(program, env);
  registerSimulate(program, env);
  registerGitops(program, env);
  // Subcommands inherit the exit override and output routing.
  for (const c of allCommands(program)) c.exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  return program;
}

function allCommands(c: Command): Command[] {
  return c.commands.flatMap((sub) => [sub, ...allCommands(sub)]);
}

/** Run one CLI invocation; returns the exit code (never calls process.exit). */
export async function run(argv: string[], io: Io, onCommand?: (name: string) => void): Promise<number> {
  const env = createCommandEnv(io);
  const program = buildProgram(env, onCommand);
  if (argv.length === 0) {
    io.stdout.write(program.helpInformation());
    return ExitCodes.ok;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return env.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are "errors" to commander's exitOverride; everything else is a usage error
      return ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(e.code) ? ExitCodes.ok : ExitCodes.usage;
    }
    const { text, exitCode } = formatError(e, io.env.DROVER_DEBUG === '1');
    io.stderr.write(text);
    return Math.max(exitCode, env.errorExitCode ?? 0);
  }
}
