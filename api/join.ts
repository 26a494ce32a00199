// `POST /api/v1/join` (no bearer token: the join token is the credential): a node agent trades a
// Cluster's join token for its own node credential (role node, its Cluster, its node name).
import { JOIN_PATH, type JoinRequest, type JoinResponse } from '../core/join-protocol.ts';
import express from 'express';
import type { Router } from 'express';
import { ApiError, BadRequest, Invalid, Unauthorized } from '../core/errors.ts';
import type { ClusterJoinToken } from '../core/kinds.generated.ts';
import { dns1123Label, labelValue, qualifiedName } from '../core/names.ts';
import { isPlainObject } from '../core/patch.ts';
import type { KubeObject, StatusCause } from '../core/types.ts';
import type { Authenticator, TokenStore } from './auth.ts';
import type { ApiContext } from './context.ts';
import { isExpired, joinTokenHash, sameHash, tokensOf } from './join-tokens.ts';
import { readObjectBody } from './request-body.ts';

export const NODE_CREDENTIAL_PREFIX = 'drvn_';
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
export function issueNodeCredential(tokens: TokenStore, cluster: string, nodeName: string, joinTokenName: string): string {
  for (const old of tokens.list()) {
    if (old.role === 'node' && old.cluster === cluster && old.node === nodeName) tokens.revoke(old.id);
  }
  return tokens.create({
    role: 'node', cluster, node: nodeName, name: nodeName, prefix: NODE_CREDENTIAL_PREFIX,
    description: `node credential, joined with join token "${joinTokenName}"`,
  }).token;
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
    const credential = issueNodeCredential(tokens, namespace, join.nodeName, found.entry.name);
    const policy = (found.cluster.spec as { failurePolicy?: { heartbeatInterval?: string; gracePeriod?: string } } | undefined)?.failurePolicy ?? {};
    ctx.logger.info('node joined', { cluster: namespace, node: join.nodeName, joinToken: found.entry.name });
    const reply: JoinResponse = {
      nodeName: join.nodeName, namespace, credential,
      cluster: { heartbeatInterval: policy.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL, gracePeriod: policy.gracePeriod ?? DEFAULT_GRACE_PERIOD },
    };
    res.status(201).json(reply);
  });
  return router;
}

export type { JoinRequest, JoinResponse } from '../core/join-protocol.ts';
export { JOIN_PATH } from '../core/join-protocol.ts';
