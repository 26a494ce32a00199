// Node credential renewal: a signed credential says when it expires; the agent trades it for a fresh one
// at two thirds of its life (as Nomad does), retrying every RETRY_MS while the manager cannot be reached.
import type { ApiClient } from '../core/client.ts';
import { isApiError } from '../core/errors.ts';
import { RENEW_PATH, readNodeClaims, type RenewResponse } from '../core/join-protocol.ts';

export const RENEW_AT = 2 / 3;
export const RETRY_MS = 10_000;

/** Milliseconds until the credential should be renewed (0 = now); undefined when it carries no expiry. */
export function renewalDelay(token: string, nowMs: number): number | undefined {
  const c = readNodeClaims(token);
  if (!c) return undefined;
  const at = c.iat + (c.exp - c.iat) * RENEW_AT;
  return Math.max(0, at - nowMs);
}

export type RenewOutcome = { ok: true; credential: string; expiresAt: string } | { ok: false; rejected: boolean; error: string };

/** One renewal attempt. `rejected`: the manager refused the credential (revoked, expired, or its Node deleted). */
export async function renewCredential(client: ApiClient): Promise<RenewOutcome> {
  try {
    const r = (await client.raw('POST', RENEW_PATH, {})) as Partial<RenewResponse>;
    if (typeof r?.credential !== 'string') return { ok: false, rejected: false, error: `unexpected renewal answer: ${JSON.stringify(r).slice(0, 200)}` };
    return { ok: true, credential: r.credential, expiresAt: String(r.expiresAt) };
  } catch (e) {
    return { ok: false, rejected: isApiError(e, 401) || isApiError(e, 403), error: (e as Error).message };
  }
}
