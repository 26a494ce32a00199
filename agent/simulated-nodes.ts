// Many simulated (hollow) nodes in one process: the real node agent code (join, heartbeat, sync,
// watches, status reports) over a RecordingRuntime that runs nothing. For benchmarks and scale tests.
import { join } from 'node:path';
import type { Logger } from '../core/logging.ts';
import type { ResourceRegistry } from '../core/resources.ts';
import { loadRegistry } from '../core/crds.ts';
import { parseAgentConfig } from './config.ts';
import { startNodeAgent, type NodeAgent } from './node-agent.ts';
import { RecordingRuntime } from './recording-runtime.ts';

export interface SimulatedNodesOptions {
  server: string;
  joinToken: string;
  count: number;
  /** Node names are `<prefix>-<index>`, zero-padded to the widest index. */
  prefix?: string;
  /** Each node keeps its credential in `<dataDir>/<node name>`. */
  dataDir: string;
  labels?: string;
  capacityContainers?: number;
  capacityAgents?: number;
  /** Node cpu/memory capacity each simulated node reports. */
  capacity?: { cpu: string; memory: string };
  logger: Logger;
  registry?: ResourceRegistry;
  /** How many nodes join at once (joins are spread out so heartbeats do not all fire together). */
  concurrency?: number;
}

export interface SimulatedNode {
  name: string;
  agent: NodeAgent;
  runtime: RecordingRuntime;
}

export interface SimulatedNodes {
  readonly nodes: readonly SimulatedNode[];
  /** Lose one node as kill -9 would: heartbeats stop, its workloads vanish, nothing is reported. */
  kill(name: string): Promise<void>;
  /** Stop every live node; with stopWorkloads (default) each reports its containers stopped, like `drover agent` on SIGTERM. */
  stop(opts?: { stopWorkloads?: boolean }): Promise<void>;
  /** Containers and agents running on the live nodes. */
  totals(): { nodes: number; containers: number; agents: number };
}

export function simulatedNodeNames(prefix: string, count: number): string[] {
  const width = String(Math.max(0, count - 1)).length;
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(width, '0')}`);
}

export async function startSimulatedNodes(opts: SimulatedNodesOptions): Promise<SimulatedNodes> {
  const registry = opts.registry ?? loadRegistry();
  const names = simulatedNodeNames(opts.prefix ?? 'sim', opts.count);
  const pids = { next: 100_000 }; // one counter: fake pids stay unique across the process
  const started: SimulatedNode[] = [];
  const dead = new Set<string>();

  async function startOne(name: string): Promise<SimulatedNode> {
    const config = parseAgentConfig({
      server: opts.server, joinToken: opts.joinToken, name, labels: opts.labels, dataDir: join(opts.dataDir, name),
      // Port 0: the local endpoint costs an idle socket, and nothing collides.
      listen: '127.0.0.1:0',
      capacityContainers: opts.capacityContainers === undefined ? undefined : String(opts.capacityContainers),
      capacityAgents: opts.capacityAgents === undefined ? undefined : String(opts.capacityAgents),
    });
    const runtime = new RecordingRuntime({ capacity: opts.capacity, pids });
    // processMetrics off: default collectors per node would cost more than the simulated node itself.
    const agent = await startNodeAgent(config, { runtime, logger: opts.logger, registry, processMetrics: false });
    return { name, agent, runtime };
  }

  const queue = [...names];
  const workers = Array.from({ length: Math.min(opts.concurrency ?? 8, names.length) }, async () => {
    for (let name = queue.shift(); name; name = queue.shift()) started.push(await startOne(name));
  });
  const results = await Promise.allSettled(workers);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.allSettled(started.map((n) => n.agent.stop({ stopWorkloads: false })));
    throw new Error(`could not start the simulated nodes (${started.length}/${names.length} started)`, { cause: failed.reason });
  }
  started.sort((a, b) => a.name.localeCompare(b.name));

  const live = () => started.filter((n) => !dead.has(n.name));
  return {
    nodes: started,
    async kill(name) {
      const n = started.find((s) => s.name === name);
      if (!n) throw new Error(`no simulated node ${name} (have ${names[0]}…${names[names.length - 1]})`);
      if (dead.has(name)) return;
      dead.add(name);
      n.runtime.crashAll();
      await n.agent.stop({ stopWorkloads: false });
    },
    async stop(o = {}) {
      const nodes = live();
      for (const n of nodes) dead.add(n.name);
      await Promise.allSettled(nodes.map((n) => n.agent.stop({ stopWorkloads: o.stopWorkloads ?? true })));
    },
    totals() {
      const nodes = live();
      return {
        nodes: nodes.length,
        containers: nodes.reduce((s, n) => s + n.runtime.list().filter((c) => c.state === 'running').length, 0),
        agents: nodes.reduce((s, n) => s + n.runtime.listAgents().filter((a) => a.state === 'running').length, 0),
      };
    },
  };
}
