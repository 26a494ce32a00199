// The join exchange between a node agent and the manager (`POST /api/v1/join`): one definition for both sides.

export const JOIN_PATH = '/api/v1/join';
/** `POST` with the node credential: a fresh credential for the same node (the old one lapses within minutes). */
export const RENEW_PATH = '/api/v1/node-credentials/renew';

export const NODE_CREDENTIAL_PREFIX = 'drvn_';

/** What a signed node credential says about itself (readable by its holder; the manager's HMAC makes it trustworthy). */
export interface NodeClaims {
  id: string;
  cluster: string;
  node: string;
  /** Issued and expiry times, ms since the epoch. */
  iat: number;
  exp: number;
}

/** The claims of a node credential `drvn_<claims>.<hmac>`, not verified (the node agent plans its renewal with them). */
export function readNodeClaims(token: string): NodeClaims | undefined {
  if (!token.startsWith(NODE_CREDENTIAL_PREFIX) || !token.includes('.')) return undefined;
  const body = token.slice(NODE_CREDENTIAL_PREFIX.length).split('.')[0];
  try {
    const c = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as NodeClaims;
    return typeof c.node === 'string' && typeof c.exp === 'number' && typeof c.iat === 'number' ? c : undefined;
  } catch {
    return undefined;
  }
}

export interface JoinRequest {
  token: string;
  nodeName: string;
  labels?: Record<string, string>;
}

export interface JoinResponse {
  nodeName: string;
  namespace: string;
  credential: string;
  /** The Cluster's failure policy; the manager always sends it, an agent falls back to the defaults without it. */
  cluster?: { heartbeatInterval: string; gracePeriod: string };
  /** When the credential expires (RFC 3339); the agent renews it at two thirds of its life. */
  expiresAt?: string;
}

/** `POST RENEW_PATH` answer. */
export interface RenewResponse {
  credential: string;
  expiresAt: string;
}
