// Bearer tokens: stored only as sha256 hashes, each with an optional expiry, in <data-dir>/tokens.json
// (mode 0600), or in etcd with `--store etcd` (api/etcd-token-store.ts). Node credentials are also signed:
// `drvn_<claims>.<hmac>`, so a forged or expired one is refused before any lookup, and the claims (node,
// cluster, expiry) are readable by the node agent.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_CREDENTIAL_PREFIX, readNodeClaims, type NodeClaims } from '../core/join-protocol.ts';

export { NODE_CREDENTIAL_PREFIX, readNodeClaims, type NodeClaims };

export const Roles = ['admin', 'operator', 'viewer', 'node'] as const;
export type Role = (typeof Roles)[number];

export interface Principal {
  name: string;
  role: Role;
  /** Limits the principal to one Cluster (= namespace). */
  cluster?: string;
  /** Role node: the Node this credential belongs to (NodeRestriction). */
  node?: string;
}

export interface Authenticator {
  authenticate(token: string): Principal | undefined;
}

export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  cluster?: string;
  node?: string;
  description?: string;
  createdAt: string;
  /** RFC 3339; absent = never expires. */
  expiresAt?: string;
}

/** What a TokenStore keeps per token: the info and the token's SHA-256, never the token. */
export interface TokenRecord extends TokenInfo {
  sha256: string;
}

export interface CreateTokenOptions {
  role: Role;
  cluster?: string;
  /** Role node: the Node the credential belongs to. */
  node?: string;
  description?: string;
  /** Principal name shown in logs and denials; default `<role>-<id>`. */
  name?: string;
  /** Token prefix, default `drv_` (node credentials use `drvn_` and are signed). */
  prefix?: string;
  /** Lifetime; undefined or 0 = never expires. */
  ttlMs?: number;
}

export interface TokenStore extends Authenticator {
  readonly path: string;
  /** The plaintext token is returned once and never stored. */
  create(opts: CreateTokenOptions): { token: string; id: string };
  list(): TokenInfo[];
  /** false when no token has this id. */
  revoke(id: string): boolean;
  /** Revoke every token the predicate picks; returns how many. */
  revokeWhere(pick: (t: TokenInfo) => boolean): number;
  /** Shorten a token's life to at most `untilMs` (a renewed node credential's predecessor). */
  expireBy(id: string, untilMs: number): void;
  /**
   * Resolves when every change made so far is durable; rejects if one failed. The file store writes
   * synchronously; the etcd store (api/etcd-token-store.ts) writes in the background.
   */
  flush?(): Promise<void>;
}

const TOKEN_PREFIX = 'drv_';
const DAY_MS = 24 * 3600_000;
/** Node credentials live this long unless renewed (the node agent renews at two thirds). */
export const NODE_CREDENTIAL_TTL_MS = DAY_MS;
// Another process (the CLI) may edit the file; re-check its mtime at most this often.
const RELOAD_CHECK_MS = 1000;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The manager's key for signing node credentials, made at first start (0600). */
function signingKey(dataDir: string): Buffer {
  const file = join(dataDir, 'node-credential.key');
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  return key;
}

/** What every TokenStore does the same way: making tokens, checking signatures, expiry, principals. */
export interface TokenMinter {
  /** The token (returned once) and the record to keep. */
  mint(opts: CreateTokenOptions): { token: string; record: TokenRecord };
  expired(r: TokenInfo): boolean;
  /** A node credential whose signature or expiry is wrong: refused without a lookup. */
  forged(token: string): boolean;
  /** The principal of `token` among `byHash` (records by sha256), or undefined. */
  authenticate(token: string, byHash: Map<string, TokenRecord>): Principal | undefined;
}

/** `key` signs node credentials; every manager that shares a token store must share the key. */
export function tokenMinter(key: Buffer, now: () => number): TokenMinter {
  const sign = (body: string) => createHmac('sha256', key).update(body).digest('base64url');
  /** The HMAC matches and the claims have not expired. */
  const signatureOk = (token: string): boolean => {
    const rest = token.slice(NODE_CREDENTIAL_PREFIX.length);
    const dot = rest.lastIndexOf('.');
    if (dot <= 0) return false;
    const want = Buffer.from(sign(rest.slice(0, dot)));
    const got = Buffer.from(rest.slice(dot + 1));
    if (want.length !== got.length || !timingSafeEqual(want, got)) return false;
    const claims = readNodeClaims(token);
    return claims !== undefined && claims.exp > now();
  };
  const expired = (r: TokenInfo) => r.expiresAt !== undefined && !(Date.parse(r.expiresAt) > now());
  const forged = (token: string) => token.startsWith(NODE_CREDENTIAL_PREFIX) && token.includes('.') && !signatureOk(token);
  return {
    expired,
    forged,
    authenticate(token, byHash) {
      if (!token || forged(token)) return undefined;
      const r = byHash.get(hashToken(token));
      if (!r || expired(r)) return undefined;
      return { name: r.name, role: r.role, ...(r.cluster ? { cluster: r.cluster } : {}), ...(r.node ? { node: r.node } : {}) };
    },
    mint(opts) {
      if (!(Roles as readonly string[]).includes(opts.role)) throw new Error(`unknown role "${opts.role}" (want one of ${Roles.join(', ')})`);
      const id = randomBytes(6).toString('hex');
      const issued = now();
      const expiresMs = opts.ttlMs ? issued + opts.ttlMs : undefined;
      const prefix = opts.prefix ?? TOKEN_PREFIX;
      let token: string;
      if (prefix === NODE_CREDENTIAL_PREFIX && opts.node && opts.cluster) {
        const claims: NodeClaims & { n: string } = { id, cluster: opts.cluster, node: opts.node, iat: issued, exp: expiresMs ?? issued + NODE_CREDENTIAL_TTL_MS, n: randomBytes(16).toString('base64url') };
        const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
        token = `${prefix}${body}.${sign(body)}`;
      } else {
        token = prefix + randomBytes(32).toString('base64url');
      }
      const record: TokenRecord = {
        id, name: opts.name ?? `${opts.role}-${id}`, role: opts.role, createdAt: new Date(issued).toISOString(),
        ...(opts.cluster ? { cluster: opts.cluster } : {}),
        ...(opts.node ? { node: opts.node } : {}),
        ...(opts.description ? { description: opts.description } : {}),
        ...(expiresMs ? { expiresAt: new Date(expiresMs).toISOString() } : {}),
        sha256: hashToken(token),
      };
      return { token, record };
    },
  };
}

export function openTokenStore(dataDir: string, opts: { now?: () => number } = {}): TokenStore {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const now = opts.now ?? Date.now;
  const path = join(dataDir, 'tokens.json');
  const minter = tokenMinter(signingKey(dataDir), now);
  const expired = minter.expired;
  let records: TokenRecord[] = [];
  let byHash = new Map<string, TokenRecord>();
  let loadedMtime = -1;
  let lastCheck = 0;

  const index = () => {
    byHash = new Map(records.map((r) => [r.sha256, r]));
  };
  const load = () => {
    if (!existsSync(path)) {
      records = [];
      loadedMtime = -1;
    } else {
      const parsed = JSON.parse(readFileSync(path, 'utf8')) as { tokens?: TokenRecord[] };
      records = Array.isArray(parsed.tokens) ? parsed.tokens : [];
      loadedMtime = statSync(path).mtimeMs;
    }
    index();
  };
  const save = () => {
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ tokens: records }, null, 2) + '\n', { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
    loadedMtime = statSync(path).mtimeMs;
    index();
  };
  const maybeReload = () => {
    const now = Date.now();
    if (now - lastCheck < RELOAD_CHECK_MS) return;
    lastCheck = now;
    const mtime = existsSync(path) ? statSync(path).mtimeMs : -1;
    if (mtime !== loadedMtime) load();
  };

  load();
  return {
    path,
    authenticate(token) {
      if (!token) return undefined;
      // A forged or expired node credential is refused before the file is even re-read.
      if (minter.forged(token)) return undefined;
      maybeReload();
      return minter.authenticate(token, byHash);
    },
    create(opts) {
      const { token, record: rec } = minter.mint(opts);
      maybeReload();
      // Expired records are dropped as new ones come: the file does not grow with every renewal.
      records = [...records.filter((r) => !expired(r)), rec];
      save();
      return { token, id: rec.id };
    },
    list() {
      maybeReload();
      return records.map(({ sha256: _hash, ...info }) => info);
    },
    revoke(id) {
      maybeReload();
      const before = records.length;
      records = records.filter((r) => r.id !== id);
      if (records.length === before) return false;
      save();
      return true;
    },
    revokeWhere(pick) {
      maybeReload();
      const before = records.length;
      records = records.filter((r) => !pick(r));
      const n = before - records.length;
      if (n) save();
      return n;
    },
    expireBy(id, untilMs) {
      maybeReload();
      const r = records.find((x) => x.id === id);
      if (!r) return;
      if (r.expiresAt && Date.parse(r.expiresAt) <= untilMs) return;
      r.expiresAt = new Date(untilMs).toISOString();
      save();
    },
  };
}

/**
 * First start creates the admin token; later starts reuse the one `readExisting` returns (the
 * plaintext lives only in admin.config) as long as it still authenticates as admin.
 */
export function ensureAdminToken(tokens: TokenStore, readExisting?: () => string | undefined): { token: string; created: boolean } {
  const existing = readExisting?.();
  if (existing && tokens.authenticate(existing)?.role === 'admin') return { token: existing, created: false };
  const { token } = tokens.create({ role: 'admin', name: 'admin', description: 'created by the manager on first start' });
  return { token, created: true };
}

/** `Authorization: Bearer X` → X, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

/** A fixed token table, for tests and embedding. */
export function staticAuthenticator(tokens: Record<string, Principal>): Authenticator {
  const map = new Map(Object.entries(tokens));
  return { authenticate: (t) => map.get(t) };
}
