// `drover admin migrate-store|backup|restore`: offline store tools (stop the managers first). They
// open the stores directly, never through the API; the logic is in cli/store-transfer.ts.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { CommandEnv } from '../command-env.ts';
import { usageError } from '../cli-error.ts';
import { writeln } from '../output.ts';
import { backupStore, migrateStore, parseStoreSpec, restoreStore } from '../store-transfer.ts';

const SPEC_HELP = 'sqlite:PATH (the .db file or the data dir holding drover.db) or etcd:http://HOST:PORT[,…]';

export function registerAdmin(program: Command, env: CommandEnv): void {
  const admin = program.command('admin').description('store administration: migrate between SQLite and etcd, back up, restore (stop the managers first)');
  const progress = (line: string) => writeln(env.io.stderr, line);
  const spec = (value: string | undefined, flag: string, o: { etcdPrefix?: string }) => {
    if (!value) throw usageError(`${flag} is required: ${SPEC_HELP}`);
    return parseStoreSpec(value, { cwd: env.io.cwd, etcdPrefix: o.etcdPrefix, flag });
  };
  const file = (value: string | undefined, flag: string) => {
    if (!value) throw usageError(`${flag} FILE is required`);
    return resolve(env.io.cwd ?? process.cwd(), value);
  };

  admin
    .command('migrate-store')
    .description('copy every object (uid, creationTimestamp, generation and revision order kept; resourceVersions change), the API tokens and the node-credential key from one store to another')
    .option('--from <store>', SPEC_HELP)
    .option('--to <store>', SPEC_HELP)
    .option('--etcd-prefix <prefix>', 'key prefix in etcd (both sides)', '/drover/')
    .option('--force', 'copy into a store that already holds objects (objects with the same name are replaced)', false)
    .action(async (o: { from?: string; to?: string; etcdPrefix: string; force: boolean }) => {
      const r = await migrateStore(spec(o.from, '--from', o), spec(o.to, '--to', o), { force: o.force, progress });
      writeln(env.io.stdout, `migrated ${r.objects} objects and ${r.tokens} API tokens`);
    });

  admin
    .command('backup')
    .description('write every object, the API tokens (hashes) and the node-credential key to a JSON-lines file (mode 0600)')
    .option('--store <store>', SPEC_HELP)
    .option('--out <file>', 'the backup file')
    .option('--etcd-prefix <prefix>', 'key prefix in etcd', '/drover/')
    .action(async (o: { store?: string; out?: string; etcdPrefix: string }) => {
      const r = await backupStore(spec(o.store, '--store', o), file(o.out, '--out'), { progress });
      writeln(env.io.stdout, `backed up ${r.objects} objects and ${r.tokens} API tokens`);
    });

  admin
    .command('restore')
    .description('load a backup into a store (an empty one unless --force): objects keep their uid, timestamps, generation and order')
    .option('--store <store>', SPEC_HELP)
    .option('--in <file>', 'the backup file')
    .option('--etcd-prefix <prefix>', 'key prefix in etcd', '/drover/')
    .option('--force', 'restore into a store that already holds objects (objects with the same name are replaced)', false)
    .action(async (o: { store?: string; in?: string; etcdPrefix: string; force: boolean }) => {
      const r = await restoreStore(spec(o.store, '--store', o), file(o.in, '--in'), { force: o.force, progress });
      writeln(env.io.stdout, `restored ${r.objects} objects and ${r.tokens} API tokens`);
    });
}
