// Public surface of api/: the HTTP server, authentication and metrics.
export { createApiServer, listen, DEFAULT_GIT_VERSION } from './server.ts';
export type { ListeningServer } from './server.ts';
export type { ApiServerOptions, Validator } from './context.ts';
export { DEFAULT_MAX_BODY_BYTES } from './context.ts';
export { openTokenStore, ensureAdminToken, bearerToken, hashToken, staticAuthenticator, Roles } from './auth.ts';
export type { Authenticator, Principal, Role, TokenStore, TokenInfo, CreateTokenOptions } from './auth.ts';
export { authorize, Verbs } from './authorize.ts';
export type { Verb, Attributes } from './authorize.ts';
export { createApiMetrics } from './metrics.ts';
export type { ApiMetrics, ApiMetricsOptions } from './metrics.ts';
export { instrumentStore } from './instrumented-store.ts';
export type { InstrumentedStore } from './instrumented-store.ts';
