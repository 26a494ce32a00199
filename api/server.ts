// The API server: Kubernetes REST over express 5, with probes, discovery, metrics and watch.
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { RequestHandler } from 'express';
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
import { joinTokenRoutes } from './join-tokens.ts';
import { logRoutes } from './log-routes.ts';
import { seedTaskRoutes } from './seed-task-api.ts';
import { rebalanceRoutes } from './rebalance-routes.ts';
import { seedClusterRoutes } from './seed-cluster-api.ts';
import type { InstrumentedStore } from './instrumented-store.ts';
import { createApiMetrics } from './metrics.ts';
import type { ApiMetrics } from './metrics.ts';
import { resourceRouter } from './routes.ts';
import { errorHandler, notFoundHandler } from './status.ts';
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
      throw new Unauthorized(token ? 'Unauthorized: the bearer token is not valid (revoked or mistyped?)' : 'Unauthorized: send a bearer token (Authorization: Bearer <token>)');
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
  };
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.locals.watchSessions = ctx.sessions;

  app.use(requestLog(opts.logger, metrics));
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

  app.use(joinRoutes(ctx, opts.tokens ?? tokenStoreOf(opts.authenticator)));
  app.use(authenticate(opts.authenticator));
  app.use(joinTokenRoutes(ctx));
  app.use(logRoutes(ctx).router);
  app.use(seedTaskRoutes(ctx));
  app.use(rebalanceRoutes(ctx, opts.rebalancePlanner));
  app.use(seedClusterRoutes(ctx));
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
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
}

/** Listen on host:port (0 = any free port). close() ends open watch streams, then the server. */
export async function listen(app: express.Express, host: string, port: number): Promise<ListeningServer> {
  const server = await new Promise<import('node:http').Server>((resolve, reject) => {
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  const addr = server.address() as AddressInfo;
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const sessions = app.locals.watchSessions as WatchSessions | undefined;
  return {
    url: `http://${urlHost}:${addr.port}`,
    port: addr.port,
    close: () => new Promise<void>((resolve, reject) => {
      sessions?.endAll();
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeIdleConnections();
      // anything still open after the watches ended is a stuck client: do not wait for it
      setTimeout(() => server.closeAllConnections(), 1000).unref();
    }),
  };
}
