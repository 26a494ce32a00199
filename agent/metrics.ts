// Prometheus metrics of one node agent, on a registry of its own (tests run several agents in one process).
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export interface AgentMetrics {
  registry: Registry;
  heartbeats: Counter;
  heartbeatFailures: Counter;
  tasks: Counter<'type' | 'result'>;
  containers: Gauge<'phase'>;
}

export function createAgentMetrics(opts: { processMetrics?: boolean } = {}): AgentMetrics {
  const registry = new Registry();
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    heartbeats: new Counter({ name: 'drover_agent_heartbeats_total', help: 'Heartbeats the manager accepted', registers }),
    heartbeatFailures: new Counter({ name: 'drover_agent_heartbeat_failures_total', help: 'Heartbeats that failed', registers }),
    tasks: new Counter({
      name: 'drover_agent_tasks_total', help: 'Tasks executed by type and result (Completed, Failed)',
      labelNames: ['type', 'result'] as const, registers,
    }),
    containers: new Gauge({ name: 'drover_agent_containers', help: 'Local containers by phase', labelNames: ['phase'] as const, registers }),
  };
}
