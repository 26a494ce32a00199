// Request bodies arrive as raw Buffers (size-limited by express.raw); here they are checked against
// their Content-Type and parsed, so every failure becomes a Status naming the problem.
import type { Request } from 'express';
import { BadRequest, UnsupportedMediaType } from '../core/errors.ts';

export const PatchTypes = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
} as const;
export type PatchType = keyof typeof PatchTypes;

function mediaType(req: Request): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

function parseJson(req: Request): unknown {
  const buf = req.body;
  if (!Buffer.isBuffer(buf) || buf.length === 0) throw new BadRequest('request body is empty: send a JSON object');
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new BadRequest(`request body is not valid JSON: ${(e as Error).message}`, undefined, { cause: e });
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
