// `drover manager` and `drover up`: thin flag parsing in front of cli/manager.ts and cli/up.ts.
import { isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import type { CommandEnv } from '../command-env.ts';
import { runManager } from '../manager.ts';
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
    .action(async (o: { listen: string; dataDir: string; logLevel?: string; watchHistory: string; nodeCredentialTtl: string; auditLog?: string; rateLimit: string } & TlsFlags) => {
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
      await runManager({ listen: o.listen, dataDir: abs(o.dataDir), logLevel: o.logLevel, watchHistory, nodeCredentialTtlMs,
        tls: o.tls, advertiseAddresses: o.advertiseAddress, insecure: o.insecure, auditLog, rateLimit });
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
