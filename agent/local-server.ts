// The agent's local HTTP endpoint (--listen): /health, /agents, /metrics. Nothing in the manager
// depends on it; it is for the operator and local probes (the seed's port 8001).
import { createServer, type Server } from 'node:http';
import type { AgentInfo } from './runtime.ts';
import type { Registry } from 'prom-client';

export interface HealthReport {
  node: string;
  namespace: string;
  managerReachable: boolean;
  lastHeartbeat?: string;
  containers: number;
  fenced: boolean;
}

export interface LocalServerSources {
  health(): HealthReport;
  agents(): AgentInfo[];
  metrics: Registry;
  /** Called before /metrics is rendered so gauges are current. */
  refreshMetrics?(): void;
}

export interface LocalServer {
  url: string;
  close(): Promise<void>;
}

export async function startLocalServer(host: string, port: number, src: LocalServerSources): Promise<LocalServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'application/json', JSON.stringify({ error: 'only GET is served here' }));
    if (path === '/health' || path === '/healthz') {
      const h = src.health();
      return send(200, 'application/json', JSON.stringify(h));
    }
    if (path === '/agents') return send(200, 'application/json', JSON.stringify(src.agents()));
    if (path === '/metrics') {
      src.refreshMetrics?.();
      src.metrics.metrics().then(
        (text) => send(200, src.metrics.contentType, text),
        (e: unknown) => send(500, 'text/plain', `metrics failed: ${(e as Error).message}\n`),
      );
      return;
    }
    send(404, 'application/json', JSON.stringify({ error: `no such endpoint ${path}; try /health, /agents or /metrics` }));
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      done();
    });
  });
  const addr = server.address() as { address: string; port: number };
  const shown = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shown}:${addr.port}`,
    close: () => new Promise<void>((done) => {
      server.closeAllConnections();
      server.close(() => done());
    }),
  };
}
