// `drover agent` configuration, parsed once from flags into a typed object and passed down.
import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { isCaPin, splitJoinToken } from '../core/ca-pin.ts';
import { parseDuration } from '../core/duration.ts';

export const RuntimeKinds = ['process', 'docker'] as const;
export type RuntimeKind = (typeof RuntimeKinds)[number];

export const AGENT_DEFAULTS = {
  dataDir: './.drover-agent',
  listen: '127.0.0.1:8001',
  address: '127.0.0.1',
  capacityContainers: 50,
  capacityAgents: 200,
  heartbeatIntervalMs: 2000,
  gracePeriodMs: 10_000,
  taskLease: '30s',
} as const;

export interface AgentConfig {
  server: string;
  joinToken?: string;
  nodeName: string;
  labels: Record<string, string>;
  runtime: RuntimeKind;
  dataDir: string;
  listen: { host: string; port: number };
  /** Reported as the Node's InternalIP. */
  address: string;
  capacityContainers: number;
  capacityAgents: number;
  /** How long a claim on a running Task lasts; renewed every third of it. */
  taskLeaseMs: number;
  logLevel?: string;
  /** Docker runtime: the engine (default $DOCKER_HOST, else unix:///var/run/docker.sock) and the default network mode. */
  docker: { host?: string; network?: string };
  /** Docker runtime: run the node watchdog (default true; --no-watchdog). */
  watchdog: boolean;
  /** https manager: a PEM file with the CA to trust (absolute), instead of the CA pinned by the join token. */
  caFile?: string;
}

/** Flags as commander hands them over (all strings). */
export interface AgentFlags {
  server?: string;
  joinToken?: string;
  name?: string;
  labels?: string;
  runtime?: string;
  dataDir?: string;
  listen?: string;
  address?: string;
  capacityContainers?: string;
  capacityAgents?: string;
  taskLease?: string;
  logLevel?: string;
  dockerHost?: string;
  dockerNetwork?: string;
  /** commander's --no-watchdog: false when given. */
  watchdog?: boolean;
  caFile?: string;
}

/** A flag the user got wrong; the CLI prints it as a usage error. */
export class AgentConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentConfigError';
  }
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

export function parseLabels(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text || !text.trim()) return out;
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new AgentConfigError(`--labels: "${part}" is not key=value (e.g. --labels zone=eu-1,disk=ssd)`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (!LABEL_KEY.test(key)) throw new AgentConfigError(`--labels: "${key}" is not a valid label key`);
    if (!LABEL_VALUE.test(value)) throw new AgentConfigError(`--labels: "${value}" is not a valid label value for ${key}`);
    out[key] = value;
  }
  return out;
}

export function parseHostPort(text: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[?([^\]]*)\]?:)?(\d{1,5})$/.exec(text.trim());
  if (!m || Number(m[2]) > 65535) throw new AgentConfigError(`${flag} must be HOST:PORT, e.g. 127.0.0.1:8001 (got "${text}")`);
  return { host: m[1] || '127.0.0.1', port: Number(m[2]) };
}

function positiveInt(text: string | undefined, flag: string, dflt: number): number {
  if (text === undefined) return dflt;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new AgentConfigError(`${flag} must be a positive integer (got "${text}")`);
  return n;
}

function leaseMs(text: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (e) {
    throw new AgentConfigError(`--task-lease: ${(e as Error).message}`);
  }
  if (ms < 300) throw new AgentConfigError(`--task-lease must be at least 300ms (got "${text}")`);
  return ms;
}

function defaultNodeName(host: string): string {
  // Hostnames may carry a domain or upper case; a Node name is one DNS-1123 label.
  return host.split('.')[0].toLowerCase();
}

function dockerHost(text: string | undefined): string | undefined {
  if (!text) return undefined;
  if (!/^(unix:\/\/\/|tcp:\/\/|\/)/.test(text)) throw new AgentConfigError(`--docker-host must be unix:///path/to/docker.sock or tcp://HOST:PORT (got "${text}")`);
  return text;
}

/** A pin must be 64 hex digits, and a token that pins a CA (or --ca-file) only makes sense over https. */
function checkJoinTokenPin(flags: AgentFlags, server: URL): void {
  const pin = flags.joinToken ? splitJoinToken(flags.joinToken).caSha256 : undefined;
  if (pin !== undefined && !isCaPin(pin)) {
    throw new AgentConfigError(`--join-token: the CA hash after the '.' must be 64 hex digits (got ${pin.length} characters); copy the whole token`);
  }
  if (server.protocol === 'http:' && pin) {
    throw new AgentConfigError(`--join-token pins a CA, so the manager serves https: use --server https://${server.host} (not http, which would send the token in clear text)`);
  }
  if (server.protocol === 'http:' && flags.caFile) throw new AgentConfigError('--ca-file applies to an https --server only');
}

export function parseAgentConfig(flags: AgentFlags, env: { cwd?: string; hostname?: string } = {}): AgentConfig {
  if (!flags.server) throw new AgentConfigError('--server is required (the manager URL, e.g. http://127.0.0.1:8000)');
  let server: URL;
  try {
    server = new URL(flags.server);
  } catch (e) {
    throw new AgentConfigError(`--server "${flags.server}" is not a URL (e.g. http://127.0.0.1:8000): ${(e as Error).message}`);
  }
  if (server.protocol !== 'http:' && server.protocol !== 'https:') throw new AgentConfigError(`--server must be an http or https URL (got "${flags.server}")`);
  const nodeName = flags.name ?? defaultNodeName(env.hostname ?? hostname());
  if (!DNS1123_LABEL.test(nodeName)) {
    throw new AgentConfigError(`node name "${nodeName}" is not a DNS-1123 label (lower-case letters, digits and '-', at most 63); pass --name`);
  }
  const runtime = flags.runtime ?? 'process';
  if (!(RuntimeKinds as readonly string[]).includes(runtime)) {
    throw new AgentConfigError(`--runtime "${runtime}" is not supported (supported: ${RuntimeKinds.join(', ')})`);
  }
  const dataDir = flags.dataDir ?? AGENT_DEFAULTS.dataDir;
  checkJoinTokenPin(flags, server);
  const cwd = env.cwd ?? process.cwd();
  return {
    server: flags.server.replace(/\/+$/, ''),
    joinToken: flags.joinToken || undefined,
    nodeName,
    labels: parseLabels(flags.labels),
    runtime: runtime as RuntimeKind,
    dataDir: isAbsolute(dataDir) ? dataDir : resolve(cwd, dataDir),
    listen: parseHostPort(flags.listen ?? AGENT_DEFAULTS.listen, '--listen'),
    address: flags.address ?? AGENT_DEFAULTS.address,
    capacityContainers: positiveInt(flags.capacityContainers, '--capacity-containers', AGENT_DEFAULTS.capacityContainers),
    capacityAgents: positiveInt(flags.capacityAgents, '--capacity-agents', AGENT_DEFAULTS.capacityAgents),
    taskLeaseMs: leaseMs(flags.taskLease ?? AGENT_DEFAULTS.taskLease),
    logLevel: flags.logLevel,
    docker: { host: dockerHost(flags.dockerHost), network: flags.dockerNetwork || undefined },
    watchdog: flags.watchdog !== false,
    ...(flags.caFile ? { caFile: isAbsolute(flags.caFile) ? flags.caFile : resolve(cwd, flags.caFile) } : {}),
  };
}
