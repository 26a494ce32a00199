// Who this node is: the saved credential when there is one (a restarted agent keeps its identity),
// else a join with --join-token, retried with capped backoff while the manager is unreachable.
import { ConnectionError, fetchTrusting } from '../core/client.ts';
import { isApiError } from '../core/errors.ts';
import type { Logger } from '../core/logging.ts';
import { resolveTrustedCa } from './ca-trust.ts';
import type { AgentConfig } from './config.ts';
import { joinCluster, readCredential, writeCredential, credentialPath, type NodeCredential, type JoinResponse } from './credential.ts';

export const BACKOFF_START_MS = 100;
export const BACKOFF_MAX_MS = 5000;

export function nextBackoff(ms: number): number {
  return Math.min(ms * 2, BACKOFF_MAX_MS);
}

export interface Identity {
  credential: NodeCredential;
  /** Set when this start joined (the cluster timings it answered with). */
  joined?: JoinResponse;
  /** https manager: the PEM of the CA trusted for it (agent/ca-trust.ts). */
  ca?: string;
  /** The transport for every request to the manager: the injected one, else one trusting `ca`, else Node's fetch. */
  fetch?: typeof fetch;
}

export async function joinAndSave(config: AgentConfig, opts: { fetch?: typeof fetch; logger: Logger; sleep(ms: number): Promise<boolean> }): Promise<Identity> {
  if (!config.joinToken) {
    throw new Error(`no node credential in ${credentialPath(config.dataDir)} and no --join-token: create one with 'drover token create --join --cluster NAME'`);
  }
  let backoff = BACKOFF_START_MS;
  for (;;) {
    try {
      const joined = await joinCluster(config.server, { token: config.joinToken, nodeName: config.nodeName, labels: config.labels }, opts.fetch);
      const credential: NodeCredential = { server: config.server, namespace: joined.namespace, nodeName: joined.nodeName, token: joined.credential };
      writeCredential(config.dataDir, credential);
      opts.logger.info('joined the cluster', { node: credential.nodeName, cluster: credential.namespace });
      return { credential, joined };
    } catch (e) {
      if (isApiError(e, 401) || isApiError(e, 403)) {
        throw new Error(`the manager refused the join token: ${(e as Error).message}`, { cause: e });
      }
      if (isApiError(e, 409)) {
        // Our name belongs to a node that is still alive (an old run, another host): it frees up once that one is silent.
        opts.logger.warn('the node name is held by a live node; retrying the join', { err: (e as Error).message, retryMs: BACKOFF_MAX_MS });
        if (!(await opts.sleep(BACKOFF_MAX_MS))) throw new Error('stopped before the node could join', { cause: e });
        continue;
      }
      if (!(e instanceof ConnectionError) && !isApiError(e, 503)) throw e;
      opts.logger.warn('manager unreachable; retrying the join', { err: (e as Error).message, retryMs: backoff });
      if (!(await opts.sleep(backoff))) throw new Error('stopped before the node could join', { cause: e });
      backoff = nextBackoff(backoff);
    }
  }
}

export async function resolveIdentity(
  config: AgentConfig, opts: { fetch?: typeof fetch; fetchCa?: (server: string) => Promise<string>; logger: Logger; sleep(ms: number): Promise<boolean> },
): Promise<Identity> {
  // the CA is settled first: nothing, not even the saved credential, goes to a server that is not proven
  const ca = await resolveTrustedCa(config, opts);
  const fetchImpl = opts.fetch ?? (ca ? fetchTrusting(ca) : undefined);
  const trust = { ...(ca ? { ca } : {}), ...(fetchImpl ? { fetch: fetchImpl } : {}) };
  const saved = readCredential(config.dataDir);
  if (saved) {
    if (saved.nodeName !== config.nodeName) {
      opts.logger.warn('the saved credential names another node; keeping the saved identity', { saved: saved.nodeName, requested: config.nodeName });
    }
    return { credential: saved, ...trust };
  }
  return { ...(await joinAndSave(config, { ...opts, fetch: fetchImpl })), ...trust };
}
