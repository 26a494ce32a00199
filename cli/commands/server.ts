// `drover manager` and `drover up`: thin flag parsing in front of cli/manager.ts and cli/up.ts.
import { isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import type { CommandEnv } from '../command-env.ts';
import { runManager } from '../manager.ts';
import { runUp } from '../up.ts';
import { usageError } from '../cli-error.ts';

export const DEFAULT_LISTEN = '127.0.0.1:8000';
export const DEFAULT_DATA_DIR = '.drover-data';

export function registerServerCommands(program: Command, env: CommandEnv): void {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(env.io.cwd ?? process.cwd(), p));
  program
    .command('manager')
    .description('run the manager: API server, embedded store and controllers')
    .option('--listen <host:port>', 'address to serve the API on (port 0 = any free port)', DEFAULT_LISTEN)
    .option('--data-dir <dir>', 'where the store and admin.config live', DEFAULT_DATA_DIR)
    .option('--log-level <level>', 'error, warn, info or debug')
    .option('--watch-history <events>', 'watch events kept so watches can resume (older answer 410 Gone)', '10000')
    .action(async (o: { listen: string; dataDir: string; logLevel?: string; watchHistory: string }) => {
      const watchHistory = Number(o.watchHistory);
      if (!Number.isInteger(watchHistory) || watchHistory < 1) throw usageError(`--watch-history must be a positive integer (got "${o.watchHistory}")`);
      await runManager({ listen: o.listen, dataDir: abs(o.dataDir), logLevel: o.logLevel, watchHistory });
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
    .action(async (o: { listen: string; dataDir: string; quickstart: boolean; node: boolean; nodeListen: string; logLevel?: string }) => {
      await runUp({ listen: o.listen, dataDir: abs(o.dataDir), quickstart: o.quickstart, node: o.node, nodeListen: o.nodeListen, logLevel: o.logLevel });
    });
}
