// Request bodies arrive as raw Buffers (size-limited by express.raw); here they are checked against
// their Content-Type and parsed, so every failure becomes a Status naming the problem.
import type { Request } from 'express';
import { BadRequest, UnsupportedMediaType } from '../core/errors.ts';
import { MAX_NESTING_DEPTH, jsonDepthExceededAt } from '../core/input-limits.ts';

export const PatchTypes = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
} as const;
export type PatchType = keyof typeof PatchTypes;

function mediaType(req: Request): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

/** JSON text → value; too deep, empty or malformed text is a 400 naming the problem. */
export function parseJsonText(text: string): unknown {
  const deep = jsonDepthExceededAt(text);
  if (deep >= 0) {
    throw new BadRequest(`request body nests objects and arrays deeper than the limit of ${MAX_NESTING_DEPTH} levels (at byte ${deep})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BadRequest(`request body is not valid JSON: ${(e as Error).message}`, undefined, { cause: e });
  }
}

function parseJson(req: Request): unknown {
  const buf = req.body;
  if (!Buffer.isBuffer(buf) || buf.length === 0) throw new BadRequest('request body is empty: send a JSON object');
  return parseJsonText(buf.toString('utf8'));
}

/**
 * `verify` for express.json(): the same depth limit before body-parser parses. Its error carries
 * status 400, which the error handler (status.ts) turns into a BadRequest Status.
 */
export function verifyJsonDepth(_req: unknown, _res: unknown, buf: Buffer): void {
  const deep = jsonDepthExceededAt(buf.toString('utf8'));
  if (deep >= 0) {
    throw Object.assign(new Error(`request body nests objects and arrays deeper than the limit of ${MAX_NESTING_DEPTH} levels (at byte ${deep})`), { status: 400, expose: true });
  }
}

/** POST/PUT bodies: JSON (a missing Content-Type is taken as JSON). */
export function readObjectBody(req: Request): unknown {
  const type = mediaType(req);
  if (type !== '' && type !== 'application/json' && !type.endsWith('+json')) {
    throw new UnsupportedMediaType(`unsupported Content-Type "${type}": send application/json`);
  }
  return parseJson(req);
}

/** PATCH bodies: merge patch or JSON patch; the other Kubernetes patch types are refused by name. */
export function readPatchBody(req: Request): { type: PatchType; patch: unknown } {
  const type = mediaType(req);
  if (type === PatchTypes.merge) return { type: 'merge', patch: parseJson(req) };
  if (type === PatchTypes.json) return { type: 'json', patch: parseJson(req) };
  const supported = `use ${PatchTypes.merge} or ${PatchTypes.json}`;
  if (type === 'application/strategic-merge-patch+json') {
    throw new UnsupportedMediaType(`strategic merge patch is not supported for custom resources (drover.dev): ${supported} (kubectl patch --type merge)`);
  }
  if (type === 'application/apply-patch+yaml') {
    throw new UnsupportedMediaType(`server-side apply is not supported yet: ${supported}, or drover apply / kubectl apply (client-side)`);
  }
  throw new UnsupportedMediaType(`unsupported patch Content-Type "${type || '(none)'}": ${supported}`);
}

export function hasBody(req: Request): boolean {
  return Buffer.isBuffer(req.body) && req.body.length > 0;
}
