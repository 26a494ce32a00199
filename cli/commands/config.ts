// `drover config …`: view and edit the contexts of the CLI config file.
import type { Command } from 'commander';
import { findContext, mergeContext, readCliConfig, redactTokens, writeCliConfig } from '../../core/cli-config.ts';
import { CLIError } from '../cli-error.ts';
import type { CommandEnv } from '../command-env.ts';
import { configPath } from '../context.ts';
import { StreamingTable, toYamlText, writeln } from '../output.ts';

function noSuchContext(name: string, path: string): CLIError {
  return new CLIError(`no context exists with the name "${name}" in ${path}`, { hint: "list them with 'drover config get-contexts'" });
}

export function registerConfig(program: Command, env: CommandEnv): void {
  const config = program.command('config').description('view and edit contexts (server, token, namespace) in the config file');
  const load = (cmd: Command) => {
    const path = configPath(env.globals(cmd), env.io);
    return { path, cfg: readCliConfig(path) };
  };

  config.command('view')
    .description('print the config file (tokens redacted unless --raw)')
    .option('--raw', 'show tokens', false)
    .action((o: { raw: boolean }, cmd: Command) => {
      const { cfg } = load(cmd);
      env.io.stdout.write(toYamlText(o.raw ? cfg : redactTokens(cfg)));
    });

  config.command('get-contexts')
    .description('list the contexts')
    .action((_o: unknown, cmd: Command) => {
      const { cfg } = load(cmd);
      const rows = [['CURRENT', 'NAME', 'SERVER', 'NAMESPACE'],
        ...cfg.contexts.map((c) => [c.name === cfg['current-context'] ? '*' : '', c.name, c.context.server, c.context.namespace ?? ''])];
      for (const line of new StreamingTable().formatAll(rows)) writeln(env.io.stdout, line);
    });

  config.command('current-context')
    .description('print the name of the current context')
    .action((_o: unknown, cmd: Command) => {
      const { path, cfg } = load(cmd);
      if (!cfg['current-context']) throw new CLIError(`current-context is not set in ${path}`, { hint: "pick one with 'drover config use-context NAME'" });
      writeln(env.io.stdout, cfg['current-context']);
    });

  config.command('use-context')
    .description('make NAME the current context')
    .argument('<name>')
    .action((name: string, _o: unknown, cmd: Command) => {
      const { path, cfg } = load(cmd);
      if (!findContext(cfg, name)) throw noSuchContext(name, path);
      writeCliConfig(path, { ...cfg, 'current-context': name });
      writeln(env.io.stdout, `Switched to context "${name}".`);
    });

  // --server, --token and --namespace are the global flags; here they set the context's fields (as kubectl).
  config.command('set-context')
    .description('create or change a context (--server, --token, --namespace)')
    .argument('<name>')
    .option('--current', 'also make it the current context', false)
    .action((name: string, o: { current: boolean }, cmd: Command) => {
      const { path, cfg } = load(cmd);
      const g = env.globals(cmd);
      const exists = !!findContext(cfg, name);
      if (!exists && !g.server) throw new CLIError(`context "${name}" does not exist yet`, { hint: 'give --server URL to create it', exitCode: 2 });
      writeCliConfig(path, mergeContext(cfg, name, { server: g.server, token: g.token, namespace: g.namespace }, { makeCurrent: o.current }));
      writeln(env.io.stdout, `Context "${name}" ${exists ? 'modified' : 'created'}.`);
    });

  config.command('delete-context')
    .description('remove a context')
    .argument('<name>')
    .action((name: string, _o: unknown, cmd: Command) => {
      const { path, cfg } = load(cmd);
      if (!findContext(cfg, name)) throw noSuchContext(name, path);
      const next = { ...cfg, contexts: cfg.contexts.filter((c) => c.name !== name) };
      if (next['current-context'] === name) delete next['current-context'];
      writeCliConfig(path, next);
      writeln(env.io.stdout, `deleted context ${name} from ${path}`);
    });
}
