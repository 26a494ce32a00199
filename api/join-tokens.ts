// Join tokens: `drvj_<secret>`, stored in Cluster.spec.joinTokens only as the hex SHA-256 of the
// secret. The server makes the secret, so no client is trusted with randomness. Routes (admin/operator):
// POST/GET /api/v1/clusters/:cluster/join-tokens, DELETE /api/v1/clusters/:cluster/join-tokens/:name.
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import express from 'express';
import type { Request, Response, Router } from 'express';
import { splitJoinToken } from '../core/ca-pin.ts';
import { BadRequest, Conflict, NotFound, isApiError } from '../core/errors.ts';
import { parseDuration } from '../core/duration.ts';
import type { ClusterJoinToken } from '../core/kinds.generated.ts';
import { dns1123Label } from '../core/names.ts';
import { isPlainObject } from '../core/patch.ts';
import type { ResourceType } from '../core/resources.ts';
import type { KubeObject } from '../core/types.ts';
import type { Principal } from './auth.ts';
import { authorize } from './authorize.ts';
import type { Verb } from './authorize.ts';
import type { ApiContext } from './context.ts';
import { readObjectBody } from './request-body.ts';
import { checkUrlName } from './resource-path.ts';

export const JOIN_TOKEN_PREFIX = 'drvj_';
export const DEFAULT_JOIN_TOKEN_TTL = '24h';
const WRITE_ATTEMPTS = 5;

export interface JoinTokenInfo {
  name: string;
  description?: string;
  maxUses?: number;
  uses?: number;
  /** RFC 3339; absent = never expires. */
  expires?: string;
  expired: boolean;
}

export interface CreatedJoinToken {
  name: string;
  /** The only time the plaintext is seen. */
  token: string;
  expires?: string;
}

/**
 * Hex SHA-256 of the secret part (after `drvj_`, before the `.<CA sha256>` pin a TLS manager appends); undefined
 * when the text is not a join token. The pin is for the node, not a secret: it is never stored or compared here.
 */
export function joinTokenHash(token: string): string | undefined {
  const { secretPart } = splitJoinToken(token);
  if (!secretPart.startsWith(JOIN_TOKEN_PREFIX) || secretPart.length <= JOIN_TOKEN_PREFIX.length) return undefined;
  return createHash('sha256').update(secretPart.slice(JOIN_TOKEN_PREFIX.length)).digest('hex');
}

export function isExpired(t: Pick<ClusterJoinToken, 'expires'>, nowMs: number): boolean {
  return t.expires !== undefined && !(Date.parse(t.expires) > nowMs);
}

/** Constant-time comparison of two hex hashes. */
export function sameHash(a: string, b: string | undefined): boolean {
  if (!b || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

function randomName(): string {
  const abc = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return 'join-' + Array.from({ length: 6 }, () => abc[randomInt(abc.length)]).join('');
}

function clusterType(ctx: ApiContext): ResourceType {
  const rt = ctx.registry.resolve('Cluster');
  if (!rt) throw new Error('the Cluster CRD is missing from crds/');
  return rt;
}

export function tokensOf(cluster: KubeObject): ClusterJoinToken[] {
  const list = (cluster.spec as { joinTokens?: unknown } | undefined)?.joinTokens;
  return Array.isArray(list) ? (list as ClusterJoinToken[]) : [];
}

/** Read-modify-write of a Cluster's join tokens, validated by the CRD, retried on concurrent writes. */
export async function editTokens(ctx: ApiContext, cluster: string, edit: (tokens: ClusterJoinToken[]) => ClusterJoinToken[]): Promise<void> {
  const rt = clusterType(ctx);
  for (let attempt = 1; ; attempt++) {
    const current = await ctx.store.get(rt.key, undefined, cluster);
    const next = structuredClone(current);
    next.spec = { ...(next.spec ?? {}), joinTokens: edit(tokensOf(current)) };
    const admitted = await ctx.validator.admit(rt, next);
    admitted.metadata.resourceVersion = current.metadata.resourceVersion;
    try {
      await ctx.store.update(rt.key, admitted);
      return;
    } catch (e) {
      if (attempt >= WRITE_ATTEMPTS || !isApiError(e, 409)) throw e;
    }
  }
}

export interface CreateJoinTokenOptions {
  /** Go-style duration; "0" = never expires. Default 24h. */
  ttl?: string;
  description?: string;
  name?: string;
  /** Joins allowed (1 = single use); undefined = unlimited until expiry. */
  maxUses?: number;
  nowMs?: number;
}

export async function createJoinToken(ctx: ApiContext, cluster: string, o: CreateJoinTokenOptions = {}): Promise<CreatedJoinToken> {
  let ttlMs: number;
  try {
    ttlMs = parseDuration(o.ttl ?? DEFAULT_JOIN_TOKEN_TTL);
  } catch (e) {
    throw new BadRequest(`ttl: ${(e as Error).message}`, undefined, { cause: e });
  }
  if (o.name !== undefined) {
    const problems = dns1123Label(o.name);
    if (problems.length) throw new BadRequest(`name "${o.name}": ${problems.join('; ')}`);
  }
  const secret = randomBytes(32).toString('base64url');
  // with TLS the node learns which CA to trust from the token itself (`drvj_<secret>.<CA sha256>`)
  const token = JOIN_TOKEN_PREFIX + secret + (ctx.caSha256 ? `.${ctx.caSha256}` : '');
  const expires = ttlMs > 0 ? rfc3339((o.nowMs ?? Date.now()) + ttlMs) : undefined;
  let name = o.name ?? randomName();
  await editTokens(ctx, cluster, (tokens) => {
    if (tokens.some((t) => t.name === name)) {
      if (o.name !== undefined) throw new Conflict(`join token "${name}" already exists in cluster "${cluster}": revoke it first or pick another name`);
      name = randomName();
    }
    const entry: ClusterJoinToken = {
      name, tokenHash: joinTokenHash(token)!,
      ...(o.description ? { description: o.description } : {}),
      ...(expires ? { expires } : {}),
      ...(o.maxUses ? { maxUses: o.maxUses, uses: 0 } : {}),
    };
    return [...tokens, entry];
  });
  return { name, token, ...(expires ? { expires } : {}) };
}

export async function listJoinTokens(ctx: ApiContext, cluster: string, nowMs = Date.now()): Promise<JoinTokenInfo[]> {
  const c = await ctx.store.get(clusterType(ctx).key, undefined, cluster);
  return tokensOf(c).map((t) => ({
    name: t.name, ...(t.description ? { description: t.description } : {}), ...(t.expires ? { expires: t.expires } : {}),
    ...(t.maxUses ? { maxUses: t.maxUses, uses: t.uses ?? 0 } : {}),
    expired: isExpired(t, nowMs) || (t.maxUses !== undefined && (t.uses ?? 0) >= t.maxUses),
  }));
}

export async function revokeJoinToken(ctx: ApiContext, cluster: string, name: string): Promise<void> {
  await editTokens(ctx, cluster, (tokens) => {
    if (!tokens.some((t) => t.name === name)) throw new NotFound(`join token "${name}" not found in cluster "${cluster}"`, { name, kind: 'jointokens' });
    return tokens.filter((t) => t.name !== name);
  });
}

export function joinTokenRoutes(ctx: ApiContext): Router {
  const rt = clusterType(ctx);
  const router = express.Router();
  const base = '/api/v1/clusters/:cluster/join-tokens';
  const check = (req: Request, res: Response, verb: Verb): string => {
    const cluster = String(req.params.cluster);
    checkUrlName(cluster, 'name', true);
    res.locals.verb = verb;
    res.locals.resource = 'clusters/join-tokens';
    // join tokens belong to the Cluster's namespace, so an operator bound to that Cluster manages them
    authorize(res.locals.principal as Principal, { verb, plural: rt.plural, group: rt.group, subresource: 'join-tokens', namespace: cluster, name: cluster, clusterScoped: true });
    return cluster;
  };

  router.post(base, express.raw({ type: () => true, limit: 64 * 1024 }), async (req, res) => {
    const cluster = check(req, res, 'update');
    const body = Buffer.isBuffer(req.body) && req.body.length ? readObjectBody(req) : {};
    if (!isPlainObject(body)) throw new BadRequest('request body must be a JSON object: {ttl?, description?, name?}');
    const str = (k: string) => {
      const v = body[k];
      if (v !== undefined && typeof v !== 'string') throw new BadRequest(`${k} must be a string`);
      return v as string | undefined;
    };
    const maxUses = body.maxUses;
    if (maxUses !== undefined && (!Number.isInteger(maxUses) || (maxUses as number) < 1)) throw new BadRequest('maxUses must be a positive integer (1 = single use)');
    const created = await createJoinToken(ctx, cluster, { ttl: str('ttl'), description: str('description'), name: str('name'), maxUses: maxUses as number | undefined });
    ctx.logger.info('join token created', { cluster, name: created.name, expires: created.expires ?? 'never' });
    res.status(201).json(created);
  });

  router.get(base, async (req, res) => {
    const cluster = check(req, res, 'get');
    res.json({ items: await listJoinTokens(ctx, cluster) });
  });

  router.delete(`${base}/:name`, async (req, res) => {
    const cluster = check(req, res, 'update');
    const name = String(req.params.name);
    await revokeJoinToken(ctx, cluster, name);
    ctx.logger.info('join token revoked', { cluster, name });
    res.json({ name, revoked: true });
  });
  return router;
}
