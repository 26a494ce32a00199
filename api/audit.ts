// The audit log: one JSON line per mutating request (POST, PUT, PATCH, DELETE — create, update, patch,
// delete, deletecollection, join, token operations, seed API writes) and per denial (401, 403, 429) of
// any request. Who (principal name and role, never the token), what, where, the outcome, from where.
// Log pushes of node agents (POST …/log) are left out when they succeed: one per container per second.
import { randomUUID } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Request, RequestHandler, Response } from 'express';
import { GROUP } from '../core/types.ts';
import type { Principal } from './auth.ts';
import { MUTATING_METHODS } from './rate-limit.ts';

export interface AuditRecord {
  time: string;
  requestID: string;
  user: { name: string; role?: string; cluster?: string };
  verb: string;
  resource: { group: string; resource: string; subresource?: string };
  namespace?: string;
  name?: string;
  code: number;
  method: string;
  path: string;
  sourceIP: string;
  userAgent: string;
}

export interface AuditSink {
  write(record: AuditRecord): void;
  close(): void;
}

/** Where the resource router leaves what it parsed from the URL (routes.ts). */
export interface AuditTarget {
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export const DEFAULT_AUDIT_MAX_BYTES = 50 * 1024 * 1024;
export const DEFAULT_AUDIT_KEEP = 3;
const DENIALS: ReadonlySet<number> = new Set([401, 403, 429]);
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * `<path>` opened for appending (0600), rotated to `<path>.1` … `<path>.<keep>` when a line would take it
 * past `maxBytes`. Each line is one write(2): complete in the file as soon as write() returns.
 */
export function openAuditFile(path: string, opts: { maxBytes?: number; keep?: number } = {}): AuditSink {
  const maxBytes = opts.maxBytes ?? DEFAULT_AUDIT_MAX_BYTES;
  const keep = opts.keep ?? DEFAULT_AUDIT_KEEP;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let fd = -1;
  let size = 0;
  const open = () => {
    fd = openSync(path, 'a', 0o600);
    chmodSync(path, 0o600); // an existing file keeps its mode on open: tighten it
    size = fstatSync(fd).size;
  };
  const rotate = () => {
    closeSync(fd);
    rmSync(`${path}.${keep}`, { force: true });
    for (let i = keep - 1; i >= 1; i--) if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
    if (keep >= 1) renameSync(path, `${path}.1`);
    else rmSync(path, { force: true });
    open();
  };
  open();
  return {
    write(record) {
      const line = Buffer.from(JSON.stringify(record) + '\n');
      if (size > 0 && size + line.length > maxBytes) rotate();
      writeSync(fd, line);
      size += line.length;
    },
    close() {
      if (fd >= 0) closeSync(fd);
      fd = -1;
    },
  };
}

/** `--audit-log`: `off` → none, `-` → stdout, else a file path. */
export function openAuditLog(spec: string): AuditSink | undefined {
  if (spec === 'off') return undefined;
  if (spec === '-') return { write: (r) => void process.stdout.write(JSON.stringify(r) + '\n'), close: () => {} };
  return openAuditFile(spec);
}

/** Group, resource, namespace and name from a URL when no router recorded them (seed API, denials before routing). */
export function targetFromPath(path: string): AuditTarget {
  let segs: string[];
  try {
    segs = path.split('/').filter((s) => s !== '').map(decodeURIComponent);
  } catch {
    segs = path.split('/').filter((s) => s !== '');
  }
  if (segs[0] === 'apis' && segs.length >= 3) {
    let rest = segs.slice(3);
    if (rest[0] === 'watch') rest = rest.slice(1);
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    return { group: segs[1], resource: rest[0] ?? '', ...(rest[2] ? { subresource: rest[2] } : {}), ...(namespace ? { namespace } : {}), ...(rest[1] ? { name: rest[1] } : {}) };
  }
  // the seed API, tokens and the join route: the path below /api/v1 (the name, when a route took one
  // from the URL, is in res.locals.auditName)
  return { group: '', resource: (segs[0] === 'api' ? segs.slice(2) : segs).join('/') };
}

function shouldRecord(req: Request, res: Response): boolean {
  if (DENIALS.has(res.statusCode)) return true;
  if (!MUTATING_METHODS.has(req.method)) return false;
  const resource = res.locals.resource as string | undefined;
  if (resource?.endsWith('/log') && res.statusCode < 400) return false;
  return true;
}

export function auditRecord(req: Request, res: Response, requestID: string, now: Date): AuditRecord {
  const principal = res.locals.principal as Principal | undefined;
  const path = req.originalUrl.split('?')[0];
  const target = (res.locals.auditTarget as AuditTarget | undefined) ?? targetFromPath(path);
  const routed = res.locals.resource as string | undefined;
  const [resource, subresource] = routed ? routed.split('/', 2) : [target.resource, target.subresource];
  return {
    time: now.toISOString(),
    requestID,
    user: principal ? { name: principal.name, role: principal.role, ...(principal.cluster ? { cluster: principal.cluster } : {}) } : { name: 'system:anonymous' },
    verb: (res.locals.verb as string | undefined) ?? req.method.toLowerCase(),
    resource: { group: target.group || (routed ? GROUP : ''), resource, ...(subresource ? { subresource } : {}) },
    ...(target.namespace ? { namespace: target.namespace } : {}),
    ...(target.name ?? res.locals.auditName ? { name: (target.name ?? res.locals.auditName) as string } : {}),
    code: res.statusCode,
    method: req.method,
    path: path.length > 512 ? path.slice(0, 512) : path,
    sourceIP: req.socket.remoteAddress ?? '',
    userAgent: String(req.headers['user-agent'] ?? '').slice(0, 256),
  };
}

/**
 * Middleware mounted before authentication (so 401s are seen): gives every request an id
 * (`X-Request-Id`, the client's when it sent a sane one) and writes the record when the response ends.
 */
export function auditLog(sink: AuditSink, opts: { now?: () => Date; onError?: (e: unknown) => void } = {}): RequestHandler {
  const now = opts.now ?? (() => new Date());
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    const requestID = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.locals.requestID = requestID;
    res.setHeader('X-Request-Id', requestID);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      if (!shouldRecord(req, res)) return;
      try {
        sink.write(auditRecord(req, res, requestID, now()));
      } catch (e) {
        opts.onError?.(e);
      }
    };
    res.once('finish', finish);
    res.once('close', finish);
    next();
  };
}
