// `POST /api/v1/join` (no bearer token: the join token is the credential): a node agent trades a
// Cluster's join token for its own node credential (role node, its Cluster, its node name).
import { JOIN_PATH, NODE_CREDENTIAL_PREFIX, RENEW_PATH, readNodeClaims, type JoinRequest, type JoinResponse, type RenewResponse } from '../core/join-protocol.ts';
import express from 'express';
import type { Router } from 'express';
import { ApiError, BadRequest, Forbidden, Invalid, Unauthorized, isApiError } from '../core/errors.ts';
import { parseDuration } from '../core/duration.ts';
import type { ClusterJoinToken } from '../core/kinds.generated.ts';
import { dns1123Label, labelValue, qualifiedName } from '../core/names.ts';
import { isPlainObject } from '../core/patch.ts';
import type { KubeObject, StatusCause } from '../core/types.ts';
import { NODE_CREDENTIAL_TTL_MS, bearerToken, type Authenticator, type TokenStore } from './auth.ts';
import type { ApiContext } from './context.ts';
import { editTokens, isExpired, joinTokenHash, sameHash, tokensOf } from './join-tokens.ts';
import { readObjectBody } from './request-body.ts';

export { NODE_CREDENTIAL_PREFIX } from '../core/join-protocol.ts';
export const DEFAULT_HEARTBEAT_INTERVAL = '2s';
export const DEFAULT_GRACE_PERIOD = '10s';
// Never say which part was wrong: a prober learns nothing about names or expiry.
const INVALID_TOKEN = 'invalid or expired join token';



/** The manager passes its TokenStore as the authenticator; tests may pass both separately. */
export function tokenStoreOf(a: Authenticator): TokenStore | undefined {
  const t = a as Partial<TokenStore>;
  return typeof t.create === 'function' && typeof t.revoke === 'function' && typeof t.list === 'function' ? (a as TokenStore) : undefined;
}

function parseJoinRequest(body: unknown): JoinRequest {
  if (!isPlainObject(body)) throw new BadRequest('request body must be a JSON object: {token, nodeName, labels?}');
  if (typeof body.token !== 'string' || body.token === '') throw new BadRequest('token is required (the join token from `drover token create --join`)');
  const causes: StatusCause[] = [];
  const nodeName = body.nodeName;
  if (typeof nodeName !== 'string' || nodeName === '') causes.push({ reason: 'FieldValueRequired', field: 'nodeName', message: 'Required value' });
  else for (const m of dns1123Label(nodeName)) causes.push({ reason: 'FieldValueInvalid', field: 'nodeName', message: `Invalid value: "${nodeName}": ${m}` });
  const labels = body.labels;
  if (labels !== undefined && !isPlainObject(labels)) causes.push({ reason: 'FieldValueInvalid', field: 'labels', message: 'must be an object of strings' });
  for (const [k, v] of Object.entries(isPlainObject(labels) ? labels : {})) {
    for (const m of qualifiedName(k)) causes.push({ reason: 'FieldValueInvalid', field: `labels`, message: `Invalid value: "${k}": ${m}` });
    if (typeof v !== 'string') causes.push({ reason: 'FieldValueInvalid', field: `labels[${k}]`, message: 'must be a string' });
    else for (const m of labelValue(v)) causes.push({ reason: 'FieldValueInvalid', field: `labels[${k}]`, message: `Invalid value: "${v}": ${m}` });
  }
  if (causes.length) {
    throw new Invalid(`join request is invalid: [${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}]`, { causes });
  }
  return { token: body.token, nodeName: nodeName as string, ...(labels ? { labels: labels as Record<string, string> } : {}) };
}

/** The Cluster whose unexpired join token this is, and the token's entry. */
export function findJoinToken(clusters: KubeObject[], token: string, nowMs: number): { cluster: KubeObject; entry: ClusterJoinToken } | undefined {
  const hash = joinTokenHash(token);
  if (!hash) return undefined;
  for (const cluster of clusters) {
    for (const entry of tokensOf(cluster)) {
      if (sameHash(hash, entry.tokenHash) && !isExpired(entry, nowMs) && !cluster.metadata.deletionTimestamp) return { cluster, entry };
    }
  }
  return undefined;
}

/**
 * Issue a node credential; an earlier credential of the same node in the same Cluster is revoked,
 * so a re-joined (or stolen-and-replaced) node has exactly one identity.
 */
export function issueNodeCredential(tokens: TokenStore, cluster: string, nodeName: string, joinTokenName: string, ttlMs = NODE_CREDENTIAL_TTL_MS): string {
  tokens.revokeWhere((old) => old.role === 'node' && old.cluster === cluster && old.node === nodeName);
  return tokens.create({
    role: 'node', cluster, node: nodeName, name: nodeName, prefix: NODE_CREDENTIAL_PREFIX, ttlMs,
    description: `node credential, joined with join token "${joinTokenName}"`,
  }).token;
}

/**
 * A join may not take over the name of a node that is alive (heard from within its Cluster's grace period):
 * two hosts would both act as that node. Once the old one has been silent that long it has fenced itself.
 */
async function refuseLiveTakeover(ctx: ApiContext, cluster: string, nodeName: string, clusterObj: KubeObject): Promise<void> {
  const rt = ctx.registry.resolve('Node');
  if (!rt) return;
  let node: KubeObject;
  try {
    node = await ctx.store.get(rt.key, cluster, nodeName);
  } catch (e) {
    if (isApiError(e, 404)) return;
    throw e;
  }
  if (node.metadata.deletionTimestamp) {
    throw new ApiError(409, 'AlreadyExists',
      `node "${nodeName}" in cluster "${cluster}" is being deleted: it goes once its containers and agents are stopped or placed elsewhere (at most the grace period and their stop grace after its last heartbeat); join again after that`);
  }
  const last = Date.parse(String(node.status?.lastHeartbeatTime ?? ''));
  const ready = (node.status?.conditions as Array<{ type: string; status: string; reason?: string }> | undefined)?.find((c) => c.type === 'Ready');
  if (!Number.isFinite(last) || ready?.reason === 'AgentStopped') return;
  const grace = parseDuration(String((clusterObj.spec as { failurePolicy?: { gracePeriod?: string } } | undefined)?.failurePolicy?.gracePeriod ?? DEFAULT_GRACE_PERIOD));
  const silentMs = Date.now() - last;
  if (silentMs < grace) {
    const waitS = Math.ceil((grace - silentMs) / 1000);
    throw new ApiError(409, 'AlreadyExists',
      `node "${nodeName}" in cluster "${cluster}" is alive (last heartbeat ${Math.round(silentMs / 1000)}s ago): stop that agent, wait ${waitS}s, or delete the Node (drover delete node ${nodeName} -n ${cluster}) before joining under its name`);
  }
}

/** How long a renewed credential's predecessor stays valid: the agent switches at once, this covers a lost reply. */
export const RENEW_OVERLAP_MS = 5 * 60_000;

function expiryOf(token: string): string {
  const c = readNodeClaims(token);
  return new Date(c?.exp ?? Date.now()).toISOString();
}

export function joinRoutes(ctx: ApiContext, tokens: TokenStore | undefined): Router {
  const router = express.Router();
  router.post(JOIN_PATH, express.raw({ type: () => true, limit: 64 * 1024 }), async (req, res) => {
    res.locals.verb = 'create';
    res.locals.resource = 'join';
    if (!tokens) throw new ApiError(503, 'ServiceUnavailable', 'this server cannot issue node credentials (it has no token store)');
    const join = parseJoinRequest(readObjectBody(req));
    const clusterRt = ctx.registry.resolve('Cluster');
    if (!clusterRt) throw new Error('the Cluster CRD is missing from crds/');
    const { items } = await ctx.store.list(clusterRt.key);
    const found = findJoinToken(items, join.token, Date.now());
    if (!found) {
      ctx.logger.warn('join refused', { nodeName: join.nodeName, ip: req.ip });
      throw new Unauthorized(`Unauthorized: ${INVALID_TOKEN}`);
    }
    const namespace = found.cluster.metadata.name;
    await refuseLiveTakeover(ctx, namespace, join.nodeName, found.cluster);
    if (found.entry.maxUses !== undefined) {
      // Count the use before the credential exists: two racing joins cannot both take the last use.
      let exhausted = false;
      await editTokens(ctx, namespace, (list) => list.map((t) => {
        if (t.name !== found.entry.name) return t;
        if ((t.uses ?? 0) >= (t.maxUses ?? Infinity)) {
          exhausted = true;
          return t;
        }
        return { ...t, uses: (t.uses ?? 0) + 1 };
      }));
      if (exhausted) {
        ctx.logger.warn('join refused: the join token has no uses left', { nodeName: join.nodeName, joinToken: found.entry.name, ip: req.ip });
        throw new Unauthorized(`Unauthorized: ${INVALID_TOKEN}`);
      }
    }
    const credential = issueNodeCredential(tokens, namespace, join.nodeName, found.entry.name, ctx.nodeCredentialTtlMs);
    await tokens.flush?.();
    const policy = (found.cluster.spec as { failurePolicy?: { heartbeatInterval?: string; gracePeriod?: string } } | undefined)?.failurePolicy ?? {};
    ctx.logger.info('node joined', { cluster: namespace, node: join.nodeName, joinToken: found.entry.name });
    const reply: JoinResponse = {
      nodeName: join.nodeName, namespace, credential,
      cluster: { heartbeatInterval: policy.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL, gracePeriod: policy.gracePeriod ?? DEFAULT_GRACE_PERIOD },
      expiresAt: expiryOf(credential),
    };
    res.status(201).json(reply);
  });

  // Renewal: a node trades its still-valid credential for a fresh one; the old one lapses within minutes.
  router.post(RENEW_PATH, async (req, res) => {
    res.locals.verb = 'create';
    res.locals.resource = 'node-credentials';
    if (!tokens) throw new ApiError(503, 'ServiceUnavailable', 'this server cannot issue node credentials (it has no token store)');
    const bearer = bearerToken(req.headers.authorization);
    const p = bearer ? tokens.authenticate(bearer) : undefined;
    if (!p) throw new Unauthorized('Unauthorized: a valid node credential is required');
    res.locals.principal = p;
    if (p.role !== 'node' || !p.node || !p.cluster) throw new Forbidden(`${p.role} "${p.name}" cannot renew a node credential: only nodes renew their own`);
    const fresh = tokens.create({
      role: 'node', cluster: p.cluster, node: p.node, name: p.node, prefix: NODE_CREDENTIAL_PREFIX, ttlMs: ctx.nodeCredentialTtlMs ?? NODE_CREDENTIAL_TTL_MS,
      description: 'node credential, renewed',
    }).token;
    const oldId = readNodeClaims(bearer!)?.id;
    if (oldId) tokens.expireBy(oldId, Date.now() + RENEW_OVERLAP_MS);
    await tokens.flush?.();
    ctx.logger.info('node credential renewed', { cluster: p.cluster, node: p.node });
    const reply: RenewResponse = { credential: fresh, expiresAt: expiryOf(fresh) };
    res.status(201).json(reply);
  });
  return router;
}

export type { JoinRequest, JoinResponse } from '../core/join-protocol.ts';
export { JOIN_PATH } from '../core/join-protocol.ts';
