// Prometheus metrics of the API server and its store, on a registry of their own (no globals,
// so tests and several servers in one process do not collide).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ApiMetrics {
  registry: Registry;
  requests: Counter<'verb' | 'resource' | 'code'>;
  requestDuration: Histogram<'verb' | 'resource'>;
  storeOperations: Counter<'op' | 'resource'>;
  storeDuration: Histogram<'op' | 'resource'>;
  watchers: Gauge<'resource'>;
}

export interface ApiMetricsOptions {
  registry?: Registry;
  /** Node process metrics (cpu, memory, event loop lag, …); default true. */
  processMetrics?: boolean;
}

export function createApiMetrics(opts: ApiMetricsOptions = {}): ApiMetrics {
  const registry = opts.registry ?? new Registry();
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'drover_api_requests_total', help: 'API requests by verb, resource and HTTP code',
      labelNames: ['verb', 'resource', 'code'] as const, registers,
    }),
    requestDuration: new Histogram({
      name: 'drover_api_request_duration_seconds', help: 'API request latency (watches excluded)',
      labelNames: ['verb', 'resource'] as const, registers,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    storeOperations: new Counter({
      name: 'drover_store_operations_total', help: 'Store operations by op and resource',
      labelNames: ['op', 'resource'] as const, registers,
    }),
    storeDuration: new Histogram({
      name: 'drover_store_operation_duration_seconds', help: 'Store operation latency',
      labelNames: ['op', 'resource'] as const, registers,
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    }),
    watchers: new Gauge({
      name: 'drover_watchers', help: 'Open watch streams', labelNames: ['resource'] as const, registers,
    }),
  };
}
