// `drover manager`: the API server, the embedded store and the controllers in one process.
// This file is the composition root: it opens the store, loads the CRDs and wires the parts.
import { mkdirSync, readFileSync, writeFileSync, rmSync, existsSync, chmodSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from '../core/logging.ts';
import { createLogger } from '../core/logging.ts';
import { loadRegistry } from '../core/crds.ts';
import { createValidator } from '../core/validation.ts';
import { readCliConfig, writeCliConfig, mergeContext, emptyCliConfig } from '../core/cli-config.ts';
import { isApiError } from '../core/errors.ts';
import type { Store } from '../core/store.ts';
import { openManagerStore, type StoreKind } from './manager-store.ts';
import { createApiServer, listen } from '../api/server.ts';
import { ensureAdminToken } from '../api/auth.ts';
import { revokeCredentialsOfDeletedNodes } from '../api/node-credentials.ts';
import { openAuditLog } from '../api/audit.ts';
import { objectAdmission } from '../api/admission.ts';
import { DEFAULT_RATE_LIMIT, type RateLimitOptions } from '../api/rate-limit.ts';
import { startElectedControllers, startSoleControllers, startingStatus, electionPrefix, type ControllerLeadership } from './leader.ts';
import { planRebalance } from '../reconcilers/rebalance-planner.ts';
import { CLIError } from './cli-error.ts';
import { checkListenSecurity, clientUrl, prepareManagerTls, renewServingCertificate, trustCa } from './manager-tls.ts';

export interface ManagerOptions {
  listen: string; // host:port, e.g. 127.0.0.1:8000 (port 0 = any free port)
  dataDir: string;
  logLevel?: string;
  /** Watch events kept for resuming watches (older ones answer 410 Gone). */
  watchHistory?: number;
  /** Lifetime of node credentials (default 24 h). */
  nodeCredentialTtlMs?: number;
  /** Serve https with a CA and serving certificate of its own under <data-dir>/tls/ (cli/manager-tls.ts). */
  tls?: boolean;
  /** Extra names (IPs or DNS names) the serving certificate carries besides 127.0.0.1, ::1 and localhost. */
  advertiseAddresses?: string[];
  /** Allow plain http on a non-loopback --listen. */
  insecure?: boolean;
  /** Audit log of writes and denials: a file path, `-` (stdout) or `off`; default <data-dir>/audit.log. */
  auditLog?: string;
  /** Per-principal limit of mutating requests; null = off; default DEFAULT_RATE_LIMIT (api/rate-limit.ts). */
  rateLimit?: RateLimitOptions | null;
  /** `sqlite` (default: <data-dir>/drover.db) or `etcd` (objects and tokens in etcd, shared by several managers). */
  store?: StoreKind;
  /** With store etcd: client URLs, e.g. http://127.0.0.1:2379. */
  etcdEndpoints?: string[];
  /** With store etcd: key prefix (default /drover/). */
  etcdPrefix?: string;
  /** With store etcd: lease TTL of the controller leader election (default 10 s; cli/leader.ts). */
  leaderLeaseTtlSeconds?: number;
}

export interface RunningManager {
  url: string;
  adminToken: string;
  adminConfigPath: string;
  /** PEM of the CA when serving https. */
  caCert?: string;
  logger: Logger;
  stop(): Promise<void>;
}

export const DEFAULT_CLUSTER = 'default';

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[?([^\]]*)\]?:)?(\d{1,5})$/.exec(listen.trim());
  if (!m || Number(m[2]) > 65535) throw new CLIError(`--listen must be HOST:PORT, e.g. 127.0.0.1:8000 (got "${listen}")`, { exitCode: 2 });
  return { host: m[1] || '127.0.0.1', port: Number(m[2]) };
}

/** One manager per data dir: a second one would hand out the same revisions twice. */
function lockDataDir(dataDir: string): () => void {
  const lock = join(dataDir, 'manager.pid');
  if (existsSync(lock)) {
    const pid = Number(readFileSync(lock, 'utf8').trim());
    if (pid && pid !== process.pid && isAlive(pid)) {
      throw new CLIError(`another drover manager (pid ${pid}) is using ${dataDir}; stop it or use another --data-dir`);
    }
  }
  writeFileSync(lock, String(process.pid));
  return () => rmSync(lock, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function startManager(opts: ManagerOptions): Promise<RunningManager> {
  const dataDir = resolve(opts.dataDir);
  const { host, port } = parseListen(opts.listen);
  checkListenSecurity(opts.listen, host, opts);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const logger = createLogger({ level: opts.logLevel });
  const unlock = lockDataDir(dataDir);

  const registry = loadRegistry();
  const validator = createValidator(registry);
  let opened;
  try {
    opened = await openManagerStore({ kind: opts.store, dataDir, watchHistory: opts.watchHistory, etcdEndpoints: opts.etcdEndpoints, etcdPrefix: opts.etcdPrefix, logger });
  } catch (e) {
    unlock();
    throw e;
  }
  const store = opened.store;
  try {
    await ensureDefaultCluster(store, registry, validator);
    const tokens = opened.tokens;
    const adminConfigPath = join(dataDir, 'admin.config');
    const previous = readAdminToken(adminConfigPath);
    const { token: adminToken } = ensureAdminToken(tokens, () => previous);
    await tokens.flush?.();

    const tls = opts.tls ? await prepareManagerTls(dataDir, host, opts.advertiseAddresses ?? [], logger) : undefined;
    const audit = openAuditLog(opts.auditLog ?? join(dataDir, 'audit.log'));
    const rateLimit = opts.rateLimit === null ? undefined : (opts.rateLimit ?? DEFAULT_RATE_LIMIT);
    let controllers: ControllerLeadership | undefined; // who runs the controllers, for GET /leader
    const leaderStatus = () => (controllers ? controllers.status() : Promise.resolve(startingStatus(opened.kind)));
    const app = createApiServer({ store, registry, validator, authenticator: tokens, logger, rebalancePlanner: planRebalance, audit, rateLimit, nodeCredentialTtlMs: opts.nodeCredentialTtlMs, leaderStatus,
      ...(tls ? { tls: { caCert: tls.caCert, caSha256: tls.caSha256 } } : {}) });
    const server = await listen(app, host, port, tls ? { tls: { cert: tls.cert, key: tls.key } } : {});
    const url = clientUrl(server.url, host);
    const renewal = tls ? renewServingCertificate(server, dataDir, host, opts.advertiseAddresses ?? [], logger) : undefined;

    // The admin credential: written 0600, refreshed with the current address at every start.
    const cfg = mergeContext(existsSync(adminConfigPath) ? readCliConfig(adminConfigPath) : emptyCliConfig(), 'local',
      { server: url, token: adminToken, namespace: DEFAULT_CLUSTER }, { makeCurrent: true });
    writeCliConfig(adminConfigPath, trustCa(cfg, 'local', tls?.caCert));
    chmodSync(adminConfigPath, 0o600);

    const nodeRevoker = await revokeCredentialsOfDeletedNodes(store, registry, tokens, logger);
    // GitOps writes pass the API's own admission (schema, hostPath policy, the Cluster must exist)
    const gitops = { dataDir, admit: objectAdmission({ store, registry, validator }) };
    // etcd: every manager serves the API, the elected one runs the controllers (fenced writes); SQLite: this one
    const settings = { registry, logger, gitops };
    controllers = opened.etcd
      ? await startElectedControllers({ store: opened.etcd, controllers: settings, logger, url, etcdEndpoints: opts.etcdEndpoints ?? [],
        leaseTtlSeconds: opts.leaderLeaseTtlSeconds, electionPrefix: electionPrefix(opened.etcd.keys.prefix) })
      : await startSoleControllers({ store, url, controllers: settings });
    const running = controllers;
    logger.info('manager ready', { url, dataDir, store: opened.location, adminConfig: adminConfigPath, ...(tls ? { caSha256: tls.caSha256 } : {}) });

    let stopped = false;
    return {
      url,
      adminToken,
      adminConfigPath,
      ...(tls ? { caCert: tls.caCert } : {}),
      logger,
      async stop() {
        if (stopped) return;
        stopped = true;
        await running.stop();
        nodeRevoker.stop();
        renewal?.stop();
        await server.close();
        await opened.close();
        audit?.close();
        unlock();
        logger.info('manager stopped', { dataDir });
      },
    };
  } catch (e) {
    await opened.close();
    unlock();
    throw e;
  }
}

function readAdminToken(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const cfg = readCliConfig(path);
  return cfg.contexts.find((c) => c.name === 'local')?.context.token;
}

async function ensureDefaultCluster(
  store: Store,
  registry: ReturnType<typeof loadRegistry>,
  validator: ReturnType<typeof createValidator>,
): Promise<void> {
  const rt = registry.resolve('Cluster');
  if (!rt) throw new Error('the Cluster CRD is missing from crds/');
  const cluster = validator.admit(rt, { apiVersion: rt.apiVersion, kind: rt.kind, metadata: { name: DEFAULT_CLUSTER }, spec: {} });
  try {
    await store.create(rt.key, cluster);
  } catch (e) {
    if (!isApiError(e, 409)) throw e;
  }
}

/** Run until SIGINT/SIGTERM, then stop cleanly. */
export async function runManager(opts: ManagerOptions): Promise<void> {
  const m = await startManager(opts);
  await waitForSignal();
  await m.stop();
}

export function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((done) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      done(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
