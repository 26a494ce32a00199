// `drover manager` and `drover up`: thin flag parsing in front of cli/manager.ts and cli/up.ts.
import { isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import type { CommandEnv } from '../command-env.ts';
import { runManager } from '../manager.ts';
import { DEFAULT_LEADER_LEASE_TTL_SECONDS, parseLeaderLeaseTtl } from '../leader.ts';
import { STORE_KINDS, type StoreKind } from '../manager-store.ts';
import { parseEndpoints } from '../../store/etcd-endpoints.ts';
import { runUp } from '../up.ts';
import { usageError } from '../cli-error.ts';
import { parseDuration } from '../../core/duration.ts';
import { parseRateLimit } from '../../api/rate-limit.ts';

export const DEFAULT_LISTEN = '127.0.0.1:8000';
export const DEFAULT_DATA_DIR = '.drover-data';

interface TlsFlags { tls: boolean; advertiseAddress: string[]; insecure: boolean }

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** --store, --etcd-endpoints, --etcd-prefix → ManagerOptions fields, or a usage error. */
export function parseStoreFlags(o: { store: string; etcdEndpoints?: string; etcdPrefix?: string }): { store: StoreKind; etcdEndpoints?: string[]; etcdPrefix?: string } {
  if (!(STORE_KINDS as readonly string[]).includes(o.store)) throw usageError(`--store must be one of ${STORE_KINDS.join(', ')} (got "${o.store}")`);
  const store = o.store as StoreKind;
  if (store === 'sqlite') {
    if (o.etcdEndpoints) throw usageError('--etcd-endpoints needs --store etcd');
    return { store };
  }
  if (!o.etcdEndpoints) throw usageError('--store etcd needs --etcd-endpoints http://HOST:2379[,…]');
  let etcdEndpoints: string[];
  try {
    etcdEndpoints = parseEndpoints(o.etcdEndpoints);
  } catch (e) {
    throw usageError(`--etcd-endpoints: ${(e as Error).message}`);
  }
  const etcdPrefix = o.etcdPrefix ?? '/drover/';
  if (!etcdPrefix.startsWith('/') || !etcdPrefix.endsWith('/')) throw usageError(`--etcd-prefix must start and end with "/" (got "${etcdPrefix}")`);
  return { store, etcdEndpoints, etcdPrefix };
}

export function registerServerCommands(program: Command, env: CommandEnv): void {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(env.io.cwd ?? process.cwd(), p));
  program
    .command('manager')
    .description('run the manager: API server, embedded store and controllers')
    .option('--listen <host:port>', 'address to serve the API on (port 0 = any free port)', DEFAULT_LISTEN)
    .option('--data-dir <dir>', 'where the store and admin.config live', DEFAULT_DATA_DIR)
    .option('--log-level <level>', 'error, warn, info or debug')
    .option('--watch-history <events>', 'watch events kept so watches can resume (older answer 410 Gone)', '10000')
    .option('--node-credential-ttl <duration>', 'lifetime of node credentials; node agents renew at two thirds of it', '24h')
    .option('--tls', 'serve https: a CA and a serving certificate are made under <data-dir>/tls/ at first start; join tokens pin the CA', false)
    .option('--advertise-address <addr>', 'with --tls: an IP or DNS name clients reach the manager by, put in the serving certificate (repeatable or a comma list; 127.0.0.1, ::1 and localhost are always in it)', collect, [] as string[])
    .option('--insecure', 'allow plain http on a non-loopback --listen (tokens travel in clear text)', false)
    .option('--audit-log <path>', 'audit log of writes and denials: a file, - (stdout) or off (default <data-dir>/audit.log)')
    .option('--rate-limit <qps[,burst]>', 'mutating requests per second per token, and the burst (0 = off)', '50,100')
    .option('--store <kind>', 'where objects and tokens live: sqlite (<data-dir>/drover.db) or etcd (shared by several managers)', 'sqlite')
    .option('--etcd-endpoints <urls>', 'with --store etcd: comma-separated client URLs, e.g. http://127.0.0.1:2379,http://127.0.0.1:22379')
    .option('--etcd-prefix <prefix>', 'with --store etcd: key prefix of this drover in etcd', '/drover/')
    .option('--leader-lease-ttl <duration>', `with --store etcd: lease of the elected manager that runs the controllers; a dead leader is replaced within it (default ${DEFAULT_LEADER_LEASE_TTL_SECONDS}s)`)
    .action(async (o: { listen: string; dataDir: string; logLevel?: string; watchHistory: string; nodeCredentialTtl: string; auditLog?: string; rateLimit: string; store: string; etcdEndpoints?: string; etcdPrefix: string; leaderLeaseTtl?: string } & TlsFlags) => {
      if (o.advertiseAddress.length && !o.tls) throw usageError('--advertise-address names the serving certificate: it needs --tls');
      const watchHistory = Number(o.watchHistory);
      if (!Number.isInteger(watchHistory) || watchHistory < 1) throw usageError(`--watch-history must be a positive integer (got "${o.watchHistory}")`);
      let nodeCredentialTtlMs: number;
      try {
        nodeCredentialTtlMs = parseDuration(o.nodeCredentialTtl);
      } catch (e) {
        throw usageError(`--node-credential-ttl: ${(e as Error).message}`);
      }
      if (nodeCredentialTtlMs < 3000) throw usageError(`--node-credential-ttl must be at least 3s (got "${o.nodeCredentialTtl}")`);
      let rateLimit;
      try {
        rateLimit = parseRateLimit(o.rateLimit) ?? null;
      } catch (e) {
        throw usageError((e as Error).message);
      }
      const auditLog = o.auditLog === undefined || o.auditLog === '-' || o.auditLog === 'off' ? o.auditLog : abs(o.auditLog);
      const storeFlags = parseStoreFlags(o);
      const leaderLeaseTtlSeconds = parseLeaderLeaseTtl(o.leaderLeaseTtl, storeFlags.store);
      await runManager({ listen: o.listen, dataDir: abs(o.dataDir), logLevel: o.logLevel, watchHistory, nodeCredentialTtlMs,
        tls: o.tls, advertiseAddresses: o.advertiseAddress, insecure: o.insecure, auditLog, rateLimit, ...storeFlags, leaderLeaseTtlSeconds });
    });
  program
    .command('up')
    .description('a local manager plus a process-runtime node and the quickstart, in one command')
    .option('--listen <host:port>', 'address to serve the API on', DEFAULT_LISTEN)
    .option('--data-dir <dir>', 'where the store and admin.config live', `./${DEFAULT_DATA_DIR}`)
    .option('--no-quickstart', 'do not apply the quickstart manifests')
    .option('--no-node', 'start no local node (manager only)')
    .option('--node-listen <host:port>', 'local /health, /agents, /metrics of the built-in node', '127.0.0.1:8001')
    .option('--log-level <level>', 'error, warn, info or debug')
    .option('--tls', 'serve https with a CA of its own under <data-dir>/tls/ (as drover manager --tls)', false)
    .option('--insecure', 'allow plain http on a non-loopback --listen (tokens travel in clear text)', false)
    .action(async (o: { listen: string; dataDir: string; quickstart: boolean; node: boolean; nodeListen: string; logLevel?: string; tls: boolean; insecure: boolean }) => {
      await runUp({ listen: o.listen, dataDir: abs(o.dataDir), quickstart: o.quickstart, node: o.node, nodeListen: o.nodeListen, logLevel: o.logLevel, tls: o.tls, insecure: o.insecure });
    });
}
