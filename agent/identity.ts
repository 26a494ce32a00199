// Who this node is: the saved credential when there is one (a restarted agent keeps its identity),
// else a join with --join-token, retried with capped backoff while the manager is unreachable.
import { ConnectionError } from '../core/client.ts';
import { isApiError } from '../core/errors.ts';
import type { Logger } from '../core/logging.ts';
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
      if (!(e instanceof ConnectionError) && !isApiError(e, 503)) throw e;
      opts.logger.warn('manager unreachable; retrying the join', { err: (e as Error).message, retryMs: backoff });
      if (!(await opts.sleep(backoff))) throw new Error('stopped before the node could join', { cause: e });
      backoff = nextBackoff(backoff);
    }
  }
}

export async function resolveIdentity(config: AgentConfig, opts: { fetch?: typeof fetch; logger: Logger; sleep(ms: number): Promise<boolean> }): Promise<Identity> {
  const saved = readCredential(config.dataDir);
  if (saved) {
    if (saved.nodeName !== config.nodeName) {
      opts.logger.warn('the saved credential names another node; keeping the saved identity', { saved: saved.nodeName, requested: config.nodeName });
    }
    return { credential: saved };
  }
  return joinAndSave(config, opts);
}
