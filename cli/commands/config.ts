// `drover config …`: view and edit the contexts of the CLI config file.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { certificatesOf } from '../../core/ca-pin.ts';
import { contextCa, findContext, mergeContext, readCliConfig, redactTokens, writeCliConfig, type CliConfig } from '../../core/cli-config.ts';
import { kubeconfigFor } from '../kubeconfig.ts';
import { CLIError } from '../cli-error.ts';
import type { CommandEnv } from '../command-env.ts';
import { configPath } from '../context.ts';
import { StreamingTable, toYamlText, writeln } from '../output.ts';

function noSuchContext(name: string, path: string): CLIError {
  return new CLIError(`no context exists with the name "${name}" in ${path}`, { hint: "list them with 'drover config get-contexts'" });
}

function readCaFile(file: string, cwd: string | undefined): { path: string; pem: string } {
  const abs = isAbsolute(file) ? file : resolve(cwd ?? process.cwd(), file);
  let pem: string;
  try {
    pem = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new CLIError(`--certificate-authority ${abs}: ${(e as Error).message}`, { exitCode: 2, cause: e });
  }
  try {
    certificatesOf(pem);
  } catch (e) {
    throw new CLIError(`--certificate-authority ${abs}: ${(e as Error).message}`, { exitCode: 2, cause: e });
  }
  return { path: abs, pem };
}

/** The context trusts exactly this CA: as data (--embed-certs) or as a file path, and the other form is dropped. */
function withCa(cfg: CliConfig, name: string, ca: { path: string; pem: string }, embed: boolean): CliConfig {
  return {
    ...cfg,
    contexts: cfg.contexts.map((c) => {
      if (c.name !== name) return c;
      const { 'certificate-authority': _file, 'certificate-authority-data': _data, ...rest } = c.context;
      return { name, context: embed ? { ...rest, 'certificate-authority-data': Buffer.from(ca.pem).toString('base64') } : { ...rest, 'certificate-authority': ca.path } };
    }),
  };
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
    .description('create or change a context (--server, --token, --namespace, --certificate-authority)')
    .argument('<name>')
    .option('--current', 'also make it the current context', false)
    .option('--certificate-authority <file>', "PEM of the CA to trust for an https server (the manager's <data-dir>/tls/ca.crt)")
    .option('--embed-certs', 'store the CA itself (certificate-authority-data) rather than the path to its file', false)
    .action((name: string, o: { current: boolean; certificateAuthority?: string; embedCerts: boolean }, cmd: Command) => {
      const { path, cfg } = load(cmd);
      const g = env.globals(cmd);
      const exists = !!findContext(cfg, name);
      if (!exists && !g.server) throw new CLIError(`context "${name}" does not exist yet`, { hint: 'give --server URL to create it', exitCode: 2 });
      if (o.embedCerts && !o.certificateAuthority) throw new CLIError('--embed-certs needs --certificate-authority FILE', { exitCode: 2 });
      let next = mergeContext(cfg, name, { server: g.server, token: g.token, namespace: g.namespace }, { makeCurrent: o.current });
      if (o.certificateAuthority) next = withCa(next, name, readCaFile(o.certificateAuthority, env.io.cwd), o.embedCerts);
      writeCliConfig(path, next);
      writeln(env.io.stdout, `Context "${name}" ${exists ? 'modified' : 'created'}.`);
    });

  config.command('kubeconfig')
    .description('print a kubeconfig for kubectl and client libraries (server, CA, token, namespace of the current context)')
    .addHelpText('after', '\nExample:\n  drover config kubeconfig > drover.kubeconfig && kubectl --kubeconfig drover.kubeconfig get agentdeployments -A')
    .action((_o: unknown, cmd: Command) => {
      const { path, cfg } = load(cmd);
      const g = env.globals(cmd);
      const name = g.context ?? cfg['current-context'];
      const ctx = name ? findContext(cfg, name) : undefined;
      if (g.context && !ctx) throw noSuchContext(g.context, path);
      const server = g.server ?? ctx?.server;
      if (!server) throw new CLIError(`no current context in ${path} and no --server`, { hint: "pick one with 'drover config use-context NAME'", exitCode: 2 });
      if (server.startsWith('http://')) {
        writeln(env.io.stderr, `warning: ${server} is plain http, and kubectl does not send a bearer token over http: serve https (drover manager --tls) for kubectl`);
      }
      const caPem = ctx ? contextCa(ctx, path) : undefined;
      env.io.stdout.write(toYamlText(kubeconfigFor({
        name: name ?? 'drover', server, token: g.token ?? ctx?.token, namespace: g.namespace ?? ctx?.namespace ?? 'default', caPem,
      })));
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
