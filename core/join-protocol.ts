// The join exchange between a node agent and the manager (`POST /api/v1/join`): one definition for both sides.

export const JOIN_PATH = '/api/v1/join';

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
}
