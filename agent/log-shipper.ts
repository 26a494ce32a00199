// Ships new container and agent output to the manager (POST …/containers|agents/NAME/log, text/plain). Output that
// could not be sent is kept (bounded) and sent with the next round.
import type { Logger } from '../core/logging.ts';
import type { ContainerRuntime } from './runtime.ts';
import { keyOf } from './sync-plan.ts';

export const MAX_PENDING_LOG_BYTES = 1024 * 1024;

export interface LogShipperOptions {
  server: () => string;
  token: () => string;
  runtime: ContainerRuntime;
  logger: Logger;
  fetch?: typeof fetch;
  /** Only containers bound to this node are accepted by the manager. */
  isBound(namespace: string, name: string): boolean;
  /** Agents bound to this node (their logs go to …/agents/NAME/log); without it agent output is not shipped. */
  isAgentBound?(namespace: string, name: string): boolean;
}

export interface LogShipper {
  /** One round: read new output of every local container and send it. */
  shipOnce(): Promise<void>;
}

export function logPath(namespace: string, name: string, plural: 'containers' | 'agents' = 'containers'): string {
  return `/apis/drover.dev/v1alpha1/namespaces/${encodeURIComponent(namespace)}/${plural}/${encodeURIComponent(name)}/log`;
}

interface LogSource {
  plural: 'containers' | 'agents';
  namespace: string;
  name: string;
  read(): Promise<string | undefined>;
  bound(): boolean;
}

export function createLogShipper(opts: LogShipperOptions): LogShipper {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const pending = new Map<string, string>();
  let warnedMissing = false;

  async function send(namespace: string, name: string, text: string, plural: LogSource['plural']): Promise<boolean> {
    let res: Response;
    try {
      res = await doFetch(opts.server() + logPath(namespace, name, plural), {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8', authorization: `Bearer ${opts.token()}` },
        body: text,
      });
    } catch (e) {
      opts.logger.debug('could not ship logs', { container: name, err: (e as Error).message });
      return false;
    }
    await res.text().catch(() => '');
    if (res.status === 404) {
      // The manager may predate the log endpoint, or the container is gone: drop rather than pile up.
      if (!warnedMissing) opts.logger.debug('the manager has no log endpoint for this container; dropping output', { container: name });
      warnedMissing = true;
      return true;
    }
    if (!res.ok) {
      opts.logger.debug('log shipping refused', { container: name, code: res.status });
      return res.status < 500 && res.status !== 429; // client errors will not heal by retrying the same text
    }
    return true;
  }

  function sources(): LogSource[] {
    const rt = opts.runtime;
    const out: LogSource[] = rt.list().map((info) => ({
      plural: 'containers' as const, namespace: info.namespace, name: info.name,
      read: () => rt.readNewLogs(info.namespace, info.name), bound: () => opts.isBound(info.namespace, info.name),
    }));
    const readAgent = rt.readNewAgentLogs?.bind(rt);
    const agentBound = opts.isAgentBound;
    if (readAgent && agentBound) {
      for (const a of rt.listAgents()) {
        out.push({ plural: 'agents', namespace: a.namespace, name: a.name, read: () => readAgent(a.namespace, a.name), bound: () => agentBound(a.namespace, a.name) });
      }
    }
    return out;
  }

  return {
    async shipOnce() {
      for (const src of sources()) {
        // containers keep their historical `ns/name` key; agents get their own space (names may collide)
        const key = src.plural === 'containers' ? keyOf(src.namespace, src.name) : `agents:${keyOf(src.namespace, src.name)}`;
        let fresh: string | undefined;
        try {
          fresh = await src.read();
        } catch (e) {
          opts.logger.debug('could not read logs', { [src.plural === 'containers' ? 'container' : 'agent']: src.name, err: (e as Error).message });
          continue;
        }
        let text = (pending.get(key) ?? '') + (fresh ?? '');
        if (!text) continue;
        if (text.length > MAX_PENDING_LOG_BYTES) text = text.slice(text.length - MAX_PENDING_LOG_BYTES);
        if (!src.bound()) {
          pending.delete(key);
          continue;
        }
        if (await send(src.namespace, src.name, text, src.plural)) pending.delete(key);
        else pending.set(key, text);
      }
    },
  };
}
