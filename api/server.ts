// The API server: Kubernetes REST over express 5, with probes, discovery, metrics and watch.
import type { Server as HttpServer } from 'node:http';
import { Server as HttpsServer, createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { RequestHandler } from 'express';
import { CA_PATH } from '../core/ca-pin.ts';
import { Unauthorized } from '../core/errors.ts';
import type { Logger } from '../core/logging.ts';
import { GROUP, VERSION } from '../core/types.ts';
import type { Authenticator } from './auth.ts';
import { bearerToken } from './auth.ts';
import { DEFAULT_MAX_BODY_BYTES } from './context.ts';
import type { ApiContext, ApiServerOptions } from './context.ts';
import { apiGroupDocument, apiGroupList, coreApiVersions, coreResourceList } from './discovery.ts';
import { instrumentStore } from './instrumented-store.ts';
import { joinRoutes, tokenStoreOf } from './join.ts';
import { tokenRoutes } from './token-routes.ts';
import { joinTokenRoutes } from './join-tokens.ts';
import { logRoutes } from './log-routes.ts';
import { seedTaskRoutes } from './seed-task-api.ts';
import { rebalanceRoutes } from './rebalance-routes.ts';
import { gitopsRoutes } from './gitops-routes.ts';
import { seedClusterRoutes } from './seed-cluster-api.ts';
import type { InstrumentedStore } from './instrumented-store.ts';
import { createApiMetrics } from './metrics.ts';
import type { ApiMetrics } from './metrics.ts';
import { resourceRouter } from './routes.ts';
import { kubectlRoutes } from './kubectl-routes.ts';
import { auditLog } from './audit.ts';
import { TokenBuckets, rateLimiter } from './rate-limit.ts';
import { answerClientError, errorHandler, notFoundHandler } from './status.ts';
import { WatchSessions } from './watch.ts';

export type { ApiServerOptions, Validator } from './context.ts';

export const DEFAULT_GIT_VERSION = 'v0.1.0-drover';

/** One log line per request (debug; 5xx at error) and the request metrics. Never logs tokens or queries. */
function requestLog(logger: Logger, metrics: ApiMetrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const verb = (res.locals.verb as string | undefined) ?? req.method.toLowerCase();
      const resource = (res.locals.resource as string | undefined) ?? '';
      const code = res.statusCode;
      metrics.requests.inc({ verb, resource, code: String(code) });
      if (verb !== 'watch') metrics.requestDuration.observe({ verb, resource }, seconds);
      const entry = {
        method: req.method, path: req.originalUrl.split('?')[0], code, ms: Math.round(seconds * 1e4) / 10,
        ...(res.locals.principal ? { user: (res.locals.principal as { name: string }).name } : {}),
      };
      if (code >= 500) logger.error('request failed', entry);
      else logger.debug('request', entry);
    };
    res.once('finish', finish);
    res.once('close', finish);
    next();
  };
}

function authenticate(authenticator: Authenticator): RequestHandler {
  return (req, res, next) => {
    const token = bearerToken(req.headers.authorization);
    const principal = token ? authenticator.authenticate(token) : undefined;
    if (!principal) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="drover"');
      throw new Unauthorized(token ? 'Unauthorized: the bearer token is not valid (expired, revoked or mistyped?)' : 'Unauthorized: send a bearer token (Authorization: Bearer <token>)');
    }
    res.locals.principal = principal;
    next();
  };
}

export function createApiServer(opts: ApiServerOptions): express.Express {
  const metrics = opts.metrics ?? createApiMetrics();
  const store: InstrumentedStore = instrumentStore(opts.store, metrics);
  const ctx: ApiContext = {
    store, registry: opts.registry, validator: opts.validator, logger: opts.logger, metrics,
    sessions: new WatchSessions(),
    bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 60_000,
    maxWatchBufferBytes: opts.maxWatchBufferBytes ?? 16 * 1024 * 1024,
    ...(opts.nodeCredentialTtlMs ? { nodeCredentialTtlMs: opts.nodeCredentialTtlMs } : {}),
    ...(opts.tls ? { caSha256: opts.tls.caSha256 } : {}),
  };
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.locals.watchSessions = ctx.sessions;

  app.use(requestLog(opts.logger, metrics));
  if (opts.audit) app.use(auditLog(opts.audit, { onError: (e) => opts.logger.error('cannot write the audit log', { err: String(e) }) }));
  const ok: RequestHandler = (_req, res) => {
    res.type('text/plain').send('ok');
  };
  app.get('/healthz', ok);
  app.get('/livez', ok);
  app.get('/readyz', async (_req, res) => {
    // a closed (or broken) store cannot serve: take this replica out of rotation. revision() may
    // answer from memory, so read one row for real.
    const probeKey = opts.registry.all()[0]?.key ?? '';
    const ready = !store.closed && (await store.list(probeKey, { limit: 1 }).then(() => true, () => false));
    res.status(ready ? 200 : 503).type('text/plain').send(ready ? 'ok' : 'store unavailable');
  });
  app.get('/version', (_req, res) => {
    const gitVersion = opts.version?.gitVersion ?? DEFAULT_GIT_VERSION;
    const [major, minor] = gitVersion.replace(/^v/, '').split('.');
    res.json({
      major, minor, gitVersion, gitCommit: '', gitTreeState: '', buildDate: '',
      goVersion: '', compiler: `node ${process.version}`, platform: `${process.platform}/${process.arch}`,
    });
  });

  if (opts.tls) {
    // public, like kubeadm's cluster-info: a joining node fetches it without trusting it, then checks its pin
    const caCert = opts.tls.caCert;
    app.get(CA_PATH, (_req, res) => {
      res.type('application/x-pem-file').send(caCert);
    });
  }
  app.use(joinRoutes(ctx, opts.tokens ?? tokenStoreOf(opts.authenticator)));
  app.use(authenticate(opts.authenticator));
  if (opts.rateLimit) app.use(rateLimiter(new TokenBuckets(opts.rateLimit)));
  app.use(tokenRoutes(ctx, opts.tokens ?? tokenStoreOf(opts.authenticator)));
  app.use(joinTokenRoutes(ctx));
  app.use(logRoutes(ctx).router);
  app.use(seedTaskRoutes(ctx));
  app.use(rebalanceRoutes(ctx, opts.rebalancePlanner));
  app.use(gitopsRoutes(ctx));
  app.use(seedClusterRoutes(ctx));
  if (opts.leaderStatus) {
    const leaderStatus = opts.leaderStatus;
    app.get('/leader', async (_req, res) => {
      res.json(await leaderStatus());
    });
  }
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.use(kubectlRoutes(ctx, opts.version?.gitVersion ?? DEFAULT_GIT_VERSION));
  app.get('/api', (req, res) => {
    res.json(coreApiVersions(req.headers.host ?? ''));
  });
  app.get('/api/v1', (_req, res) => {
    res.json(coreResourceList());
  });
  app.get('/apis', (_req, res) => {
    res.json(apiGroupList());
  });
  app.get(`/apis/${GROUP}`, (_req, res) => {
    res.json(apiGroupDocument());
  });
  app.use(
    `/apis/${GROUP}/${VERSION}`,
    express.raw({ type: () => true, limit: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES }),
    resourceRouter(ctx),
  );
  app.use(notFoundHandler);
  app.use(errorHandler(opts.logger));
  return app;
}

export interface ListeningServer {
  url: string;
  port: number;
  close(): Promise<void>;
  /** https only: serve a new certificate and key from now on (open connections keep theirs). */
  setCertificate?(tls: { cert: string; key: string }): void;
}

export interface ListenOptions {
  /** Serve https with this PEM certificate (chain) and key instead of plain http. */
  tls?: { cert: string; key: string };
}

/** Listen on host:port (0 = any free port). close() ends open watch streams, then the server. */
export async function listen(app: express.Express, host: string, port: number, opts: ListenOptions = {}): Promise<ListeningServer> {
  const server = await new Promise<HttpServer | HttpsServer>((resolve, reject) => {
    if (opts.tls) {
      const s = createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, app);
      s.once('error', reject);
      s.listen(port, host, () => resolve(s));
      return;
    }
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  server.on('clientError', answerClientError);
  const addr = server.address() as AddressInfo;
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const sessions = app.locals.watchSessions as WatchSessions | undefined;
  return {
    url: `${opts.tls ? 'https' : 'http'}://${urlHost}:${addr.port}`,
    port: addr.port,
    ...(server instanceof HttpsServer ? { setCertificate: (tls: { cert: string; key: string }) => server.setSecureContext(tls) } : {}),
    close: () => new Promise<void>((resolve, reject) => {
      sessions?.endAll();
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeIdleConnections();
      // anything still open after the watches ended is a stuck client: do not wait for it
      setTimeout(() => server.closeAllConnections(), 1000).unref();
    }),
  };
}
