// `drover version`: the client's version, and the server's when it answers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { CommandEnv } from '../command-env.ts';
import { writeln } from '../output.ts';

export function clientVersion(): string {
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export function registerVersion(program: Command, env: CommandEnv): void {
  program
    .command('version')
    .description('print the client and server versions')
    .option('--client', 'only the client version', false)
    .action(async (o: { client: boolean }, cmd: Command) => {
      writeln(env.io.stdout, `Client Version: ${clientVersion()}`);
      if (o.client) return;
      const { client } = env.session(cmd);
      try {
        const info = (await client.raw('GET', '/version')) as { gitVersion?: string; version?: string } | string;
        const v = typeof info === 'string' ? info.trim() : info.gitVersion ?? info.version ?? JSON.stringify(info);
        writeln(env.io.stdout, `Server Version: ${v}`);
      } catch (e) {
        // The client version is still useful without a server; say why the server part is missing.
        writeln(env.io.stderr, `Server Version: unavailable (${(e as Error).message})`);
      }
    });
}
