// `drover token`: API tokens (admin only: create --role, list, revoke) and the join tokens node agents
// use to join a Cluster (create --join, list --join, revoke --join). Secrets are printed once, never stored.
import type { Command } from 'commander';
import { usageError } from '../cli-error.ts';
import type { CommandEnv } from '../command-env.ts';
import { StreamingTable, writeln } from '../output.ts';

interface JoinTokenRow {
  name: string;
  description?: string;
  expires?: string;
  expired: boolean;
  maxUses?: number;
  uses?: number;
}

interface ApiTokenRow {
  id: string;
  name: string;
  role: string;
  cluster?: string;
  node?: string;
  description?: string;
  expiresAt?: string;
  expired: boolean;
}

const joinBase = (cluster: string) => `/api/v1/clusters/${encodeURIComponent(cluster)}/join-tokens`;
const TOKENS = '/api/v1/tokens';
const ROLES = ['admin', 'operator', 'viewer'];

function table(env: CommandEnv, rows: string[][]): void {
  for (const line of new StreamingTable().formatAll(rows)) writeln(env.io.stdout, line);
}

export function registerToken(program: Command, env: CommandEnv): void {
  const token = program.command('token').description('manage API tokens (admins) and the join tokens node agents use to join a Cluster');
  // The Cluster defaults to the namespace of the context (-n), since a Cluster's name is its namespace.
  const clusterOf = (cmd: Command, o: { cluster?: string }) => o.cluster ?? env.session(cmd).namespace;

  token
    .command('create')
    .description('create a token (--role R: an API token; --join: a join token); prints only the token, so scripts can capture it')
    .option('--role <role>', `an API token with this role: ${ROLES.join(', ')}`)
    .option('--join', 'a join token for node agents', false)
    .option('--cluster <name>', 'API token: limit it to this Cluster (namespace); join token: the Cluster to join (default: the namespace of the context)')
    .option('--ttl <duration>', 'how long the token is valid, e.g. 1h or 168h; 0 = never expires', '24h')
    .option('--uses <n>', 'join token: how many joins it allows (1 = single use; default unlimited until it expires)')
    .option('--description <text>', 'a note shown by token list')
    .option('--name <name>', 'the token\'s name (default: <role>-<id> or join-<random>)')
    .action(async (o: { role?: string; join: boolean; cluster?: string; ttl: string; uses?: string; description?: string; name?: string }, cmd: Command) => {
      if (o.join === Boolean(o.role)) {
        throw usageError('say which kind of token: --role admin|operator|viewer (an API token) or --join (a join token for node agents)');
      }
      const common = { ttl: o.ttl, ...(o.description ? { description: o.description } : {}), ...(o.name ? { name: o.name } : {}) };
      const client = env.session(cmd).client;
      if (o.join) {
        let maxUses: number | undefined;
        if (o.uses !== undefined) {
          maxUses = Number(o.uses);
          if (!Number.isInteger(maxUses) || maxUses < 1) throw usageError(`--uses must be a positive integer (got "${o.uses}")`);
        }
        const cluster = clusterOf(cmd, o);
        const created = (await client.raw('POST', joinBase(cluster), { ...common, ...(maxUses ? { maxUses } : {}) })) as { name: string; token: string; expires?: string };
        writeln(env.io.stdout, created.token);
        const uses = maxUses ? `, ${maxUses === 1 ? 'single use' : `${maxUses} uses`}` : '';
        writeln(env.io.stderr, `join token "${created.name}" for cluster "${cluster}" ${created.expires ? `expires ${created.expires}` : 'never expires'}${uses}`);
        return;
      }
      if (o.uses !== undefined) throw usageError('--uses applies to join tokens (--join) only');
      if (!ROLES.includes(o.role!)) throw usageError(`--role must be one of ${ROLES.join(', ')} (got "${o.role}")`);
      const created = (await client.raw('POST', TOKENS, { role: o.role, ...(o.cluster ? { cluster: o.cluster } : {}), ...common })) as { id: string; name: string; token: string; expiresAt?: string; cluster?: string };
      writeln(env.io.stdout, created.token);
      writeln(env.io.stderr, `${o.role} token "${created.name}" (id ${created.id})${created.cluster ? ` limited to cluster "${created.cluster}"` : ''} ${created.expiresAt ? `expires ${created.expiresAt}` : 'never expires'}`);
    });

  token
    .command('list')
    .description('list API tokens (admins), or with --join the join tokens of a Cluster; secrets are never shown or stored')
    .option('--join', 'list the join tokens of a Cluster', false)
    .option('--cluster <name>', 'join tokens: the Cluster (default: the namespace of the context); API tokens: only those limited to it')
    .action(async (o: { join: boolean; cluster?: string }, cmd: Command) => {
      const client = env.session(cmd).client;
      if (o.join) {
        const cluster = clusterOf(cmd, o);
        const { items } = (await client.raw('GET', joinBase(cluster))) as { items: JoinTokenRow[] };
        if (items.length === 0) {
          writeln(env.io.stderr, `No join tokens in cluster "${cluster}"`);
          return;
        }
        table(env, [['NAME', 'EXPIRES', 'USES', 'STATUS', 'DESCRIPTION'],
          ...items.map((t) => [t.name, t.expires ?? '<never>', t.maxUses ? `${t.uses ?? 0}/${t.maxUses}` : `${t.uses ?? 0}/-`, t.expired ? 'expired' : 'valid', t.description ?? ''])]);
        return;
      }
      const { items } = (await client.raw('GET', TOKENS)) as { items: ApiTokenRow[] };
      const shown = o.cluster ? items.filter((t) => t.cluster === o.cluster) : items;
      if (shown.length === 0) {
        writeln(env.io.stderr, 'No tokens');
        return;
      }
      table(env, [['ID', 'NAME', 'ROLE', 'CLUSTER', 'EXPIRES', 'STATUS', 'DESCRIPTION'],
        ...shown.map((t) => [t.id, t.name, t.role, t.cluster ?? '<all>', t.expiresAt ?? '<never>', t.expired ? 'expired' : 'valid', t.description ?? ''])]);
    });

  token
    .command('revoke')
    .description('revoke an API token (by id or name), or with --join a join token (nodes that joined keep their credentials)')
    .argument('<name>', 'the token\'s id or name (see token list)')
    .option('--join', 'revoke a join token of a Cluster', false)
    .option('--cluster <name>', 'join tokens: the Cluster (default: the namespace of the context)')
    .action(async (name: string, o: { join: boolean; cluster?: string }, cmd: Command) => {
      const client = env.session(cmd).client;
      if (o.join) {
        const cluster = clusterOf(cmd, o);
        await client.raw('DELETE', `${joinBase(cluster)}/${encodeURIComponent(name)}`);
        writeln(env.io.stdout, `join token "${name}" revoked`);
        return;
      }
      const r = (await client.raw('DELETE', `${TOKENS}/${encodeURIComponent(name)}`)) as { id: string; name: string };
      writeln(env.io.stdout, `token "${r.name}" (id ${r.id}) revoked`);
    });
}
