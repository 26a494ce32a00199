// The runtime port: what a node agent needs from whatever runs containers (the process runtime and
// the Docker runtime). Containers and the agents inside them; the node agent supervises through this.
import type { KubeObject } from '../core/types.ts';

export const ContainerStates = ['created', 'starting', 'running', 'restarting', 'stopping', 'exited', 'failed'] as const;
export type ContainerState = (typeof ContainerStates)[number];

export const HealthStates = ['Healthy', 'Unhealthy', 'Starting', 'None'] as const;
export type HealthState = (typeof HealthStates)[number];

/** What the runtime needs to run one container: the Container object's identity and spec. */
export interface ContainerRequest {
  namespace: string;
  name: string;
  uid: string;
  generation: number;
  /** Container.spec as stored (defaults applied). */
  spec: Record<string, unknown>;
}

export interface ExitInfo {
  exitCode: number | null;
  signal: string | null;
  /** e.g. Completed, Error, OOMKilled, Killed, StartFailed */
  reason: string;
  finishedAt: string; // RFC 3339
}

export interface ContainerInfo {
  namespace: string;
  name: string;
  uid: string;
  /** Generation of the spec this instance runs. */
  generation: number;
  /** Runtime id: `process://<pid>` or a Docker id. */
  containerID: string;
  pid?: number;
  state: ContainerState;
  health: HealthState;
  restarts: number;
  startedAt?: string;
  lastExit?: ExitInfo;
  /** Human-readable reason for the current state (e.g. `CrashLoopBackOff: back-off 4s`). */
  message?: string;
  /** Machine-readable reason when it failed without an exit (e.g. ImagePullFailed, ErrImageNeverPull, StartFailed). */
  reason?: string;
  /** The image the container runs (docker runtime). */
  imageID?: string;
  usage?: { cpu: string; memory: string }; // quantities, e.g. "12m", "34Mi"
}

/** A container the runtime found that drover did not create but that offers to host agents. */
export interface DiscoveredContainer {
  /** The Container object name to register it under (DNS-1123). */
  name: string;
  /** Its name in the runtime (e.g. the Docker container name). */
  dockerName: string;
  id: string;
  image: string;
  running: boolean;
  capabilities: string[];
  capacityAgents?: number;
}

export interface AgentRequest {
  namespace: string;
  /** Agent object name. */
  name: string;
  uid: string;
  /** Container (agent host) the agent runs in. */
  containerName: string;
  command: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string }>;
  /** Free-form config, handed to the agent as JSON in DROVER_AGENT_CONFIG. */
  config?: Record<string, unknown>;
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
}

export interface AgentInfo {
  namespace: string;
  name: string;
  uid: string;
  containerName: string;
  /** `process://<pid>` or a Docker exec id. */
  id: string;
  pid?: number;
  state: ContainerState;
  restarts: number;
  startedAt?: string;
  lastExit?: ExitInfo;
  message?: string;
}

export type RuntimeEvent =
  | { type: 'container'; info: ContainerInfo }
  | { type: 'agent'; info: AgentInfo }
  | { type: 'discovered'; container: DiscoveredContainer };

export interface RuntimeInfo {
  type: 'process' | 'docker';
  version: string;
}

export interface ContainerRuntime {
  info(): RuntimeInfo;
  /** Adopt what a previous run left behind (same data dir / labels): returns what is still running. */
  recover(): Promise<ContainerInfo[]>;
  /** Create and start (idempotent: an instance of the same uid+generation that runs is left alone). */
  deploy(req: ContainerRequest): Promise<ContainerInfo>;
  start(namespace: string, name: string): Promise<ContainerInfo>;
  /** Graceful stop: SIGTERM, then SIGKILL after `timeoutSeconds` (spec.terminationGracePeriodSeconds). */
  stop(namespace: string, name: string, timeoutSeconds?: number): Promise<ContainerInfo>;
  restart(namespace: string, name: string): Promise<ContainerInfo>;
  /** Stop and forget; removes the working directory unless keepFiles. NotFound is not an error. */
  remove(namespace: string, name: string, opts?: { keepFiles?: boolean }): Promise<void>;
  list(): ContainerInfo[];
  get(namespace: string, name: string): ContainerInfo | undefined;
  /** The last `tailBytes` of the container's combined stdout/stderr. */
  logs(namespace: string, name: string, opts?: { tailBytes?: number }): Promise<string>;
  /** New log output since the last call, for shipping to the manager (undefined = nothing new). */
  readNewLogs(namespace: string, name: string): Promise<string | undefined>;

  startAgent(req: AgentRequest): Promise<AgentInfo>;
  stopAgent(namespace: string, name: string, timeoutSeconds?: number): Promise<void>;
  listAgents(): AgentInfo[];
  /** New output of one agent since the last call, for shipping (undefined = nothing new). Optional: runtimes without it ship no agent logs. */
  readNewAgentLogs?(namespace: string, name: string): Promise<string | undefined>;

  /** Containers that offer to host agents without being drover's (docker runtime); the node agent registers them. */
  discover?(): Promise<DiscoveredContainer[]>;

  /** Every state/health/restart change, as it happens (exit detected within a second). */
  on(handler: (ev: RuntimeEvent) => void): () => void;
  /** Node-level capacity and usage (cpu cores, memory bytes) from the host. */
  nodeResources(): Promise<{ capacity: { cpu: string; memory: string }; usage: { cpu: string; memory: string } }>;
  /** Stop supervising; `stopWorkloads` also stops every container (graceful). */
  close(opts?: { stopWorkloads?: boolean }): Promise<void>;
}

export type ContainerObject = KubeObject;
