// `drover simulate nodes`: many hollow node agents in one process (real agent code, a runtime that only
// records) until SIGTERM/SIGINT. For benchmarks and scale tests, never for real workloads.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { AgentConfigError } from '../../agent/config.ts';
import { startSimulatedNodes, simulatedNodeNames } from '../../agent/simulated-nodes.ts';
import { createLogger } from '../../core/logging.ts';
import { QUANTITY_PATTERN } from '../../core/quantity.ts';
import type { CommandEnv } from '../command-env.ts';
import { usageError } from '../cli-error.ts';
import { waitForSignal } from '../manager.ts';

export interface SimulateFlags {
  server?: string;
  joinToken?: string;
  count?: string;
  prefix?: string;
  containersPerNode?: string;
  agentsPerNode?: string;
  labels?: string;
  nodeCpu?: string;
  nodeMemory?: string;
  dataDir?: string;
  logLevel?: string;
}

export interface SimulateConfig {
  server: string;
  joinToken: string;
  count: number;
  prefix: string;
  containersPerNode?: number;
  agentsPerNode?: number;
  labels?: string;
  capacity: { cpu: string; memory: string };
  /** Undefined: a temporary directory, removed on a clean stop. */
  dataDir?: string;
  logLevel: string;
}

const PREFIX = /^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/;

function positive(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw usageError(`${flag} must be a positive integer (got "${text}")`);
  return n;
}

function quantity(text: string, flag: string): string {
  if (!new RegExp(QUANTITY_PATTERN).test(text)) throw usageError(`${flag} must be a quantity such as 16, 500m or 64Gi (got "${text}")`);
  return text;
}

export function parseSimulateFlags(o: SimulateFlags, cwd: string): SimulateConfig {
  if (!o.server) throw usageError('--server is required (the manager URL, e.g. http://127.0.0.1:8000)');
  if (!o.joinToken) throw usageError('--join-token is required', "create one with 'drover token create --join --cluster NAME'");
  const prefix = o.prefix ?? 'sim';
  if (!PREFIX.test(prefix)) throw usageError(`--prefix "${prefix}" must be lower-case letters, digits and '-' (a node name starts with it)`);
  return {
    server: o.server,
    joinToken: o.joinToken,
    count: positive(o.count ?? '10', '--count')!,
    prefix,
    containersPerNode: positive(o.containersPerNode, '--containers-per-node'),
    agentsPerNode: positive(o.agentsPerNode, '--agents-per-node'),
    labels: o.labels,
    capacity: { cpu: quantity(o.nodeCpu ?? '16', '--node-cpu'), memory: quantity(o.nodeMemory ?? '64Gi', '--node-memory') },
    dataDir: o.dataDir === undefined ? undefined : isAbsolute(o.dataDir) ? o.dataDir : resolve(cwd, o.dataDir),
    logLevel: o.logLevel ?? 'warn',
  };
}

export function registerSimulate(program: Command, env: CommandEnv): void {
  const simulate = program.command('simulate').description('simulated nodes for benchmarks and scale tests (nothing really runs)');
  simulate
    .command('nodes')
    .description('run COUNT hollow node agents in this process: real join, heartbeats, sync and status, a runtime that only records')
    .option('--join-token <token>', 'join token from `drover token create --join`')
    .option('--count <n>', 'how many nodes', '10')
    .option('--prefix <prefix>', 'node names are PREFIX-0, PREFIX-1, …', 'sim')
    .option('--containers-per-node <n>', 'container capacity each node reports')
    .option('--agents-per-node <n>', 'agent capacity each node reports')
    .option('--labels <k=v,...>', 'labels of every simulated node')
    .option('--node-cpu <quantity>', 'cpu capacity each node reports', '16')
    .option('--node-memory <quantity>', 'memory capacity each node reports', '64Gi')
    .option('--data-dir <dir>', 'where the node credentials go (default: a temporary directory, removed on exit)')
    .option('--log-level <level>', 'error, warn, info or debug', 'warn')
    .addHelpText('after', '\nExample: drover simulate nodes --count 100 --server http://127.0.0.1:8000 --join-token drvj_…')
    .action(async (o: SimulateFlags, cmd: Command) => {
      const cfg = parseSimulateFlags({ ...o, server: o.server ?? env.globals(cmd).server }, env.io.cwd ?? process.cwd());
      const dataDir = cfg.dataDir ?? mkdtempSync(join(tmpdir(), 'drover-simulate-'));
      // One logger for every node (each gets a child with its name), on stderr: stdout is for progress lines.
      const logger = createLogger({ level: cfg.logLevel, stderr: true });
      const names = simulatedNodeNames(cfg.prefix, cfg.count);
      env.io.stdout.write(`starting ${cfg.count} simulated nodes ${names[0]}…${names[names.length - 1]} (credentials in ${dataDir})\n`);
      let nodes;
      try {
        nodes = await startSimulatedNodes({
          server: cfg.server.replace(/\/+$/, ''), joinToken: cfg.joinToken, count: cfg.count, prefix: cfg.prefix, dataDir, labels: cfg.labels,
          capacityContainers: cfg.containersPerNode, capacityAgents: cfg.agentsPerNode, capacity: cfg.capacity, logger,
        });
      } catch (e) {
        const cause = (e as Error).cause;
        if (cause instanceof AgentConfigError) throw usageError(cause.message);
        throw e;
      }
      env.io.stdout.write(`${nodes.nodes.length} simulated nodes running; stop with Ctrl-C\n`);
      const sig = await waitForSignal();
      logger.info('stopping the simulated nodes', { signal: sig });
      await nodes.stop({ stopWorkloads: true });
      if (!cfg.dataDir) rmSync(dataDir, { recursive: true, force: true });
      env.io.stdout.write(`stopped ${cfg.count} simulated nodes\n`);
    });
}
