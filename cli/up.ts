// `drover up`: a manager on the embedded store plus the quickstart, for a first look.
// (A local process-runtime node joins here once node agents exist.)
import { join, resolve } from 'node:path';
import { defaultConfigPath, emptyCliConfig, mergeContext, readCliConfig, writeCliConfig } from '../core/cli-config.ts';
import { existsSync } from 'node:fs';
import { startManager, waitForSignal } from './manager.ts';
import { parseAgentConfig, startNodeAgent, type NodeAgent } from '../agent/index.ts';
import { createProcessRuntime } from '../agent/process-runtime.ts';
import { hostname } from 'node:os';
import { CLIError } from './cli-error.ts';
import { fetchTrusting } from '../core/client.ts';
import { trustCa } from './manager-tls.ts';

export interface UpOptions {
  listen: string;
  dataDir: string;
  quickstart: boolean;
  logLevel?: string;
  /** Local /health, /agents, /metrics of the built-in node (port 0 = any free port). */
  nodeListen?: string;
  /** Start no local node (manager only). */
  node?: boolean;
  /** Serve https (see `drover manager --tls`); the local node pins the CA through its join token. */
  tls?: boolean;
  /** Allow plain http on a non-loopback --listen. */
  insecure?: boolean;
}

export const QUICKSTART_DIR = resolve(import.meta.dirname, '../manifests/quickstart');
const CONTEXT = 'drover-up';

export async function runUp(opts: UpOptions): Promise<void> {
  const out = (s: string) => process.stdout.write(s + '\n');
  let m;
  try {
    m = await startManager({ listen: opts.listen, dataDir: opts.dataDir, logLevel: opts.logLevel ?? 'warn', tls: opts.tls, insecure: opts.insecure });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new CLIError(`${opts.listen} is already in use`, { hint: 'is another drover up running? stop it, or pass --listen 127.0.0.1:PORT', cause: e });
    }
    throw e;
  }
  // The user's own CLI config gets a context for this manager, made current.
  const userConfig = defaultConfigPath();
  const cfg = existsSync(userConfig) ? readCliConfig(userConfig) : emptyCliConfig();
  writeCliConfig(userConfig, trustCa(mergeContext(cfg, CONTEXT, { server: m.url, token: m.adminToken, namespace: 'demo' }, { makeCurrent: true }), CONTEXT, m.caCert));

  out(`drover manager is up at ${m.url} (data in ${opts.dataDir})`);
  out(`context "${CONTEXT}" is now current in ${userConfig}`);
  if (opts.quickstart) {
    out(`applying ${QUICKSTART_DIR}:`);
    const { run } = await import('./program.ts');
    const code = await run(['apply', '-f', QUICKSTART_DIR], {
      stdout: process.stdout,
      stderr: process.stderr,
      env: { ...process.env, DROVER_CONFIG: m.adminConfigPath },
    });
    if (code !== 0) {
      await m.stop();
      throw new CLIError('the quickstart did not apply', { hint: `see the errors above; fix ${QUICKSTART_DIR} and run drover up again` });
    }
  }
  let agent: NodeAgent | undefined;
  if (opts.node !== false) agent = await startLocalNode(m.url, m.adminToken, opts, opts.quickstart ? 'demo' : 'default', out, m.caCert);
  out('');
  out('Try, in another terminal:');
  out('  ./bin/drover get all -n demo');
  out('  ./bin/drover get agentdeployments -n demo -w');
  out('  ./bin/drover describe cluster demo');
  out(`Admin credentials: ${join(opts.dataDir, 'admin.config')} (mode 0600). Press Ctrl-C to stop.`);
  await waitForSignal();
  out('stopping…');
  await agent?.stop({ stopWorkloads: true });
  await m.stop();
}

/** The built-in process-runtime node: joins with a fresh join token the first time, then keeps its identity. */
async function startLocalNode(server: string, adminToken: string, opts: UpOptions, cluster: string, out: (s: string) => void, caCert?: string): Promise<NodeAgent> {
  const dataDir = join(opts.dataDir, 'node');
  let joinToken: string | undefined;
  if (!existsSync(join(dataDir, 'credential.json'))) {
    const r = await (caCert ? fetchTrusting(caCert) : fetch)(`${server}/api/v1/clusters/${cluster}/join-tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ description: 'drover up: the local node', ttl: '1h' }),
    });
    if (!r.ok) throw new CLIError(`could not create a join token for the local node: HTTP ${r.status} ${await r.text()}`);
    joinToken = ((await r.json()) as { token: string }).token;
  }
  const name = hostname().toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'local';
  const config = parseAgentConfig({ server, joinToken, name, dataDir, listen: opts.nodeListen ?? '127.0.0.1:8001', logLevel: opts.logLevel ?? 'warn' });
  const { createLogger } = await import('../core/logging.ts');
  const logger = createLogger({ level: config.logLevel });
  const runtime = createProcessRuntime({ dataDir: config.dataDir, logger, nodeAddress: config.address });
  const agent = await startNodeAgent(config, { runtime, logger });
  out(`node ${agent.nodeName} joined cluster ${cluster} (process runtime; local endpoint ${agent.localUrl ?? 'none'})`);
  return agent;
}
