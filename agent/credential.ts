// The node's identity: exchanged once for a join token, then kept in <data-dir>/credential.json (0600)
// so a restarted agent is the same node and never needs the join token again.
import { JOIN_PATH, type JoinRequest, type JoinResponse } from '../core/join-protocol.ts';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../core/client.ts';

export interface NodeCredential {
  server: string;
  namespace: string;
  nodeName: string;
  token: string;
}



export const CREDENTIAL_FILE = 'credential.json';
/** The https manager's CA, pinned at the join (agent/ca-trust.ts) and trusted for every later request. */
export const CA_FILE = 'ca.crt';

export function credentialPath(dataDir: string): string {
  return join(dataDir, CREDENTIAL_FILE);
}

export function caPath(dataDir: string): string {
  return join(dataDir, CA_FILE);
}

export function readSavedCa(dataDir: string): string | undefined {
  const path = caPath(dataDir);
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/** Atomic; 0644: a CA certificate is public, but only this node decides what it holds. */
export function writeSavedCa(dataDir: string, pem: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = caPath(dataDir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, pem, { mode: 0o644 });
  renameSync(tmp, path);
}

export function readCredential(dataDir: string): NodeCredential | undefined {
  const path = credentialPath(dataDir);
  if (!existsSync(path)) return undefined;
  let parsed: Partial<NodeCredential>;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<NodeCredential>;
  } catch (e) {
    throw new Error(`${path} is not valid JSON; remove it and join again with --join-token`, { cause: e });
  }
  for (const k of ['server', 'namespace', 'nodeName', 'token'] as const) {
    if (typeof parsed[k] !== 'string' || !parsed[k]) throw new Error(`${path} lacks "${k}"; remove it and join again with --join-token`);
  }
  return parsed as NodeCredential;
}

/** Atomic (write then rename) and mode 0600: the file holds a bearer token. */
export function writeCredential(dataDir: string, cred: NodeCredential): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = credentialPath(dataDir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(cred, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** POST /api/v1/join: the join token is the credential, so no bearer token is sent. */
export async function joinCluster(server: string, req: JoinRequest, fetchImpl?: typeof fetch): Promise<JoinResponse> {
  const client = new ApiClient({ server, fetch: fetchImpl, userAgent: 'drover-agent' });
  const body = await client.raw('POST', JOIN_PATH, req);
  const r = body as Partial<JoinResponse>;
  if (!r || typeof r !== 'object' || typeof r.credential !== 'string' || typeof r.namespace !== 'string') {
    throw new Error(`the manager answered the join with an unexpected body: ${JSON.stringify(body).slice(0, 200)}`);
  }
  return { nodeName: r.nodeName ?? req.nodeName, namespace: r.namespace, credential: r.credential, cluster: r.cluster };
}

export type { JoinRequest, JoinResponse } from '../core/join-protocol.ts';
export { JOIN_PATH } from '../core/join-protocol.ts';
