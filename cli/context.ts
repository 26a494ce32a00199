// Global flags + config file → one typed session (API client, namespace, registry), built once per command.
import { isAbsolute, resolve } from 'node:path';
import { ApiClient } from '../core/client.ts';
import { contextCa, defaultConfigPath, findContext, readCliConfig } from '../core/cli-config.ts';
import { loadRegistry } from '../core/crds.ts';
import type { ResourceRegistry } from '../core/resources.ts';
import { CLIError } from './cli-error.ts';
import type { Io } from './io.ts';

export interface GlobalOptions {
  context?: string;
  server?: string;
  token?: string;
  namespace?: string;
  config?: string;
}

export interface Session {
  client: ApiClient;
  /** `-n`, else the context's namespace, else `default`. */
  namespace: string;
  /** True when `-n` was given explicitly (documents without a namespace take it). */
  namespaceFromFlag: boolean;
  server: string;
  contextName?: string;
}

/** Used when there is no config file and no --server: where `drover up` listens by default. */
export const DEFAULT_SERVER = 'http://127.0.0.1:8000';

export function configPath(g: GlobalOptions, io: Io): string {
  const p = g.config ?? defaultConfigPath(io.env);
  return isAbsolute(p) ? p : resolve(io.cwd ?? process.cwd(), p);
}

export function openSession(g: GlobalOptions, io: Io): Session {
  const path = configPath(g, io);
  const cfg = readCliConfig(path);
  const contextName = g.context ?? cfg['current-context'];
  const ctx = contextName ? findContext(cfg, contextName) : undefined;
  if (g.context && !ctx) {
    throw new CLIError(`context "${g.context}" not found in ${path}`, { hint: `list them with 'drover config get-contexts'` });
  }
  const server = g.server ?? ctx?.server ?? DEFAULT_SERVER;
  if (!/^https?:\/\//.test(server)) {
    throw new CLIError(`invalid server URL "${server}"`, { hint: 'use http://HOST:PORT or https://HOST:PORT' });
  }
  const token = g.token ?? ctx?.token;
  const ca = ctx ? contextCa(ctx, path) : undefined;
  return {
    client: new ApiClient({ server, token, fetch: io.fetch, ca, userAgent: 'drover-cli' }),
    namespace: g.namespace ?? ctx?.namespace ?? 'default',
    namespaceFromFlag: g.namespace !== undefined,
    server,
    contextName,
  };
}

let cachedRegistry: ResourceRegistry | undefined;

export function registryOf(io: Io): ResourceRegistry {
  if (io.registry) return io.registry;
  cachedRegistry ??= loadRegistry();
  return cachedRegistry;
}
