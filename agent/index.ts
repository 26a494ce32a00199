// The node agent's public surface (cli/ starts it; tests drive it).
export { startNodeAgent, SYNC_INTERVAL_MS } from './node-agent.ts';
export type { NodeAgent, NodeAgentDeps } from './node-agent.ts';
export { parseAgentConfig, parseLabels, AgentConfigError, AGENT_DEFAULTS } from './config.ts';
export type { AgentConfig, AgentFlags } from './config.ts';
export { readCredential, writeCredential, credentialPath } from './credential.ts';
export type { NodeCredential } from './credential.ts';
export { AgentEventReasons } from './events.ts';
export { NodeReasons } from './heartbeat.ts';
export { TaskFailureReasons } from './task-executor.ts';
export { phaseFor, containerStatusPatch } from './status-mapping.ts';
