// `drover token create --join | list | revoke`: join tokens of a Cluster, made and kept by the server.
import type { Command } from 'commander';
import { usageError } from '../cli-error.ts';
import type { CommandEnv } from '../command-env.ts';
import { StreamingTable, writeln } from '../output.ts';

interface JoinTokenRow {
  name: string;
  description?: string;
  expires?: string;
  expired: boolean;
}

const base = (cluster: string) => `/api/v1/clusters/${encodeURIComponent(cluster)}/join-tokens`;

export function registerToken(program: Command, env: CommandEnv): void {
  const token = program.command('token').description('manage the join tokens node agents use to join a Cluster');
  // The Cluster defaults to the namespace of the context (-n), since a Cluster's name is its namespace.
  const clusterOf = (cmd: Command, o: { cluster?: string }) => o.cluster ?? env.session(cmd).namespace;

  token
    .command('create')
    .description('create a join token; prints only the token, so scripts can capture it')
    .option('--join', 'a join token for node agents (the only kind made over the API)', false)
    .option('--cluster <name>', 'the Cluster the node joins (default: the namespace of the context)')
    .option('--ttl <duration>', 'how long the token is valid, e.g. 1h or 168h; 0 = never expires', '24h')
    .option('--description <text>', 'a note shown by token list')
    .option('--name <name>', 'the token\'s name (default: join-<random>)')
    .action(async (o: { join: boolean; cluster?: string; ttl: string; description?: string; name?: string }, cmd: Command) => {
      if (!o.join) throw usageError('only join tokens can be created here: add --join', 'API tokens for people are made on the manager host');
      const cluster = clusterOf(cmd, o);
      const body = { ttl: o.ttl, ...(o.description ? { description: o.description } : {}), ...(o.name ? { name: o.name } : {}) };
      const created = (await env.session(cmd).client.raw('POST', base(cluster), body)) as { name: string; token: string; expires?: string };
      writeln(env.io.stdout, created.token);
      writeln(env.io.stderr, `join token "${created.name}" for cluster "${cluster}" ${created.expires ? `expires ${created.expires}` : 'never expires'}`);
    });

  token
    .command('list')
    .description('list the join tokens of a Cluster (names and expiry; the secrets are never stored)')
    .option('--cluster <name>', 'the Cluster (default: the namespace of the context)')
    .action(async (o: { cluster?: string }, cmd: Command) => {
      const cluster = clusterOf(cmd, o);
      const { items } = (await env.session(cmd).client.raw('GET', base(cluster))) as { items: JoinTokenRow[] };
      if (items.length === 0) {
        writeln(env.io.stderr, `No join tokens in cluster "${cluster}"`);
        return;
      }
      const rows = [['NAME', 'EXPIRES', 'STATUS', 'DESCRIPTION'],
        ...items.map((t) => [t.name, t.expires ?? '<never>', t.expired ? 'expired' : 'valid', t.description ?? ''])];
      for (const line of new StreamingTable().formatAll(rows)) writeln(env.io.stdout, line);
    });

  token
    .command('revoke')
    .description('revoke a join token (nodes that already joined keep their own credentials)')
    .argument('<name>', 'the join token\'s name (see token list)')
    .option('--cluster <name>', 'the Cluster (default: the namespace of the context)')
    .action(async (name: string, o: { cluster?: string }, cmd: Command) => {
      const cluster = clusterOf(cmd, o);
      await env.session(cmd).client.raw('DELETE', `${base(cluster)}/${encodeURIComponent(name)}`);
      writeln(env.io.stdout, `join token "${name}" revoked`);
    });
}
