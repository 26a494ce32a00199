// API tokens for people and automation (admin only): POST/GET /api/v1/tokens, DELETE /api/v1/tokens/:id.
// The plaintext is returned once by POST; the store keeps only its sha256. An admin bound to a Cluster
// manages only that Cluster's tokens. Node credentials show up in the list (and can be revoked) but are
// only ever made by a join.
import express from 'express';
import type { Request, Response, Router } from 'express';
import { ApiError, BadRequest, Forbidden, NotFound, isApiError } from '../core/errors.ts';
import { parseDuration } from '../core/duration.ts';
import { dns1123Label } from '../core/names.ts';
import { isPlainObject } from '../core/patch.ts';
import type { Principal, Role, TokenInfo, TokenStore } from './auth.ts';
import type { ApiContext } from './context.ts';
import { readObjectBody } from './request-body.ts';

export const TOKENS_PATH = '/api/v1/tokens';
export const DEFAULT_API_TOKEN_TTL = '24h';
const CREATABLE_ROLES: Role[] = ['admin', 'operator', 'viewer'];

export interface TokenView extends TokenInfo {
  expired: boolean;
}

export interface CreatedApiToken {
  id: string;
  name: string;
  role: Role;
  cluster?: string;
  expiresAt?: string;
  /** The only time the plaintext is seen. */
  token: string;
}

function requireAdmin(res: Response, verb: string): Principal {
  const p = res.locals.principal as Principal;
  res.locals.verb = verb;
  res.locals.resource = 'tokens';
  if (p.role !== 'admin') {
    throw new Forbidden(`${p.role} "${p.name}" cannot ${verb} tokens: only admins manage tokens`, { kind: 'tokens' });
  }
  return p;
}

/** Tokens a principal may see and revoke: all for an unbound admin, its Cluster's for a bound one. */
function visible(p: Principal, t: TokenInfo): boolean {
  return p.cluster === undefined || t.cluster === p.cluster;
}

function view(t: TokenInfo, nowMs: number): TokenView {
  return { ...t, expired: t.expiresAt !== undefined && !(Date.parse(t.expiresAt) > nowMs) };
}

export function tokenRoutes(ctx: ApiContext, tokens: TokenStore | undefined): Router {
  const router = express.Router();
  const store = (): TokenStore => {
    if (!tokens) throw new ApiError(503, 'ServiceUnavailable', 'this server keeps no token store');
    return tokens;
  };

  router.post(TOKENS_PATH, express.raw({ type: () => true, limit: 64 * 1024 }), async (req: Request, res: Response) => {
    const p = requireAdmin(res, 'create');
    const body = Buffer.isBuffer(req.body) && req.body.length ? readObjectBody(req) : {};
    if (!isPlainObject(body)) throw new BadRequest('request body must be a JSON object: {role, cluster?, ttl?, description?, name?}');
    const str = (k: string): string | undefined => {
      const v = body[k];
      if (v !== undefined && typeof v !== 'string') throw new BadRequest(`${k} must be a string`);
      return v as string | undefined;
    };
    const role = str('role');
    if (!role || !(CREATABLE_ROLES as string[]).includes(role)) {
      throw new BadRequest(`role must be one of ${CREATABLE_ROLES.join(', ')}${role === 'node' ? ' (node credentials come from a join: drover token create --join)' : ''}`);
    }
    let cluster = str('cluster');
    if (p.cluster !== undefined) {
      if (cluster !== undefined && cluster !== p.cluster) throw new Forbidden(`admin "${p.name}" is limited to cluster "${p.cluster}" and cannot make tokens for cluster "${cluster}"`);
      cluster = p.cluster;
    }
    if (cluster !== undefined) {
      const rt = ctx.registry.resolve('Cluster');
      try {
        await ctx.store.get(rt!.key, undefined, cluster);
      } catch (e) {
        if (isApiError(e, 404)) throw new NotFound(`cluster "${cluster}" not found: create it before tokens for it`, { kind: 'clusters', name: cluster });
        throw e;
      }
    }
    let ttlMs: number;
    try {
      ttlMs = parseDuration(str('ttl') ?? DEFAULT_API_TOKEN_TTL);
    } catch (e) {
      throw new BadRequest(`ttl: ${(e as Error).message}`, undefined, { cause: e });
    }
    const name = str('name');
    if (name !== undefined) {
      const problems = dns1123Label(name);
      if (problems.length) throw new BadRequest(`name "${name}": ${problems.join('; ')}`);
      if (store().list().some((t) => t.name === name)) throw new ApiError(409, 'AlreadyExists', `a token named "${name}" already exists: revoke it first or pick another name`);
    }
    const description = str('description');
    if (description !== undefined && description.length > 1024) throw new BadRequest('description must be at most 1024 characters');
    const made = store().create({ role: role as Role, ...(cluster ? { cluster } : {}), ...(name ? { name } : {}), ...(description ? { description } : {}), ...(ttlMs > 0 ? { ttlMs } : {}) });
    await store().flush?.();
    const info = store().list().find((t) => t.id === made.id)!;
    ctx.logger.info('token created', { id: info.id, name: info.name, role: info.role, cluster: info.cluster, expiresAt: info.expiresAt ?? 'never', by: p.name });
    const reply: CreatedApiToken = {
      id: info.id, name: info.name, role: info.role, ...(info.cluster ? { cluster: info.cluster } : {}),
      ...(info.expiresAt ? { expiresAt: info.expiresAt } : {}), token: made.token,
    };
    res.status(201).json(reply);
  });

  router.get(TOKENS_PATH, (_req: Request, res: Response) => {
    const p = requireAdmin(res, 'list');
    const now = Date.now();
    res.json({ items: store().list().filter((t) => visible(p, t)).map((t) => view(t, now)) });
  });

  router.delete(`${TOKENS_PATH}/:id`, async (req: Request, res: Response) => {
    const p = requireAdmin(res, 'delete');
    const key = String(req.params.id);
    const all = store().list().filter((t) => visible(p, t));
    const byId = all.filter((t) => t.id === key);
    const matches = byId.length ? byId : all.filter((t) => t.name === key);
    if (matches.length === 0) throw new NotFound(`token "${key}" not found (give its id or name from drover token list)`, { kind: 'tokens', name: key });
    if (matches.length > 1) throw new ApiError(409, 'Conflict', `${matches.length} tokens are named "${key}": revoke one by its id (${matches.map((t) => t.id).join(', ')})`);
    const t = matches[0];
    store().revoke(t.id);
    await store().flush?.();
    ctx.logger.info('token revoked', { id: t.id, name: t.name, role: t.role, by: p.name });
    res.json({ id: t.id, name: t.name, revoked: true });
  });
  return router;
}
