// Bearer tokens: stored only as sha256 hashes in <data-dir>/tokens.json (mode 0600).
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
}

interface TokenRecord extends TokenInfo {
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
  /** Token prefix, default `drv_` (node credentials use `drvn_`). */
  prefix?: string;
}

export interface TokenStore extends Authenticator {
  readonly path: string;
  /** The plaintext token is returned once and never stored. */
  create(opts: CreateTokenOptions): { token: string; id: string };
  list(): TokenInfo[];
  /** false when no token has this id. */
  revoke(id: string): boolean;
}

const TOKEN_PREFIX = 'drv_';
// Another process (the CLI) may edit the file; re-check its mtime at most this often.
const RELOAD_CHECK_MS = 1000;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function openTokenStore(dataDir: string): TokenStore {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, 'tokens.json');
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
      maybeReload();
      const r = byHash.get(hashToken(token));
      return r && { name: r.name, role: r.role, ...(r.cluster ? { cluster: r.cluster } : {}), ...(r.node ? { node: r.node } : {}) };
    },
    create(opts) {
      if (!(Roles as readonly string[]).includes(opts.role)) throw new Error(`unknown role "${opts.role}" (want one of ${Roles.join(', ')})`);
      const id = randomBytes(6).toString('hex');
      const token = (opts.prefix ?? TOKEN_PREFIX) + randomBytes(32).toString('base64url');
      const rec: TokenRecord = {
        id, name: opts.name ?? `${opts.role}-${id}`, role: opts.role, createdAt: new Date().toISOString(),
        ...(opts.cluster ? { cluster: opts.cluster } : {}),
        ...(opts.node ? { node: opts.node } : {}),
        ...(opts.description ? { description: opts.description } : {}),
        sha256: hashToken(token),
      };
      records = [...records, rec];
      save();
      return { token, id };
    },
    list() {
      maybeReload();
      return records.map(({ sha256: _hash, ...info }) => info);
    },
    revoke(id) {
      const before = records.length;
      records = records.filter((r) => r.id !== id);
      if (records.length === before) return false;
      save();
      return true;
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
