// The PATCH bodies kubectl sends beyond merge and JSON patch: server-side apply (`application/apply-patch+yaml`,
// YAML or JSON) and strategic merge patch, which for custom resources has no Go struct to read merge keys
// from, so it is taken as a JSON merge patch with its `$` directives removed (lists are replaced whole).
import type { Request } from 'express';
import { BadRequest } from '../core/errors.ts';
import { isPlainObject } from '../core/patch.ts';
import { parseManifests } from '../core/yaml-io.ts';
import { parseJsonText, readPatchBody, type PatchType } from './request-body.ts';

export const APPLY_PATCH_TYPE = 'application/apply-patch+yaml';
export const STRATEGIC_MERGE_PATCH_TYPE = 'application/strategic-merge-patch+json';

export type AnyPatch =
  | { type: PatchType; patch: unknown }
  | { type: 'apply'; object: Record<string, unknown> };

function mediaType(req: Request): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

export function isApplyPatch(req: Request): boolean {
  return req.method === 'PATCH' && mediaType(req) === APPLY_PATCH_TYPE;
}

function bodyText(req: Request): string {
  const buf = req.body;
  if (!Buffer.isBuffer(buf) || buf.length === 0) throw new BadRequest('request body is empty: send the patch');
  return buf.toString('utf8');
}

/** `$patch`, `$retainKeys`, `$setElementOrder/…`, `$deleteFromPrimitiveList/…`: directives with no meaning without merge keys. */
export function withoutStrategicDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutStrategicDirectives);
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, child] of Object.entries(v)) {
    if (k.startsWith('$')) continue;
    Object.defineProperty(out, k, { value: withoutStrategicDirectives(child), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function parseApplyBody(text: string): Record<string, unknown> {
  const trimmed = text.trimStart();
  let value: unknown;
  if (trimmed.startsWith('{')) {
    value = parseJsonText(text);
  } else {
    let docs;
    try {
      docs = parseManifests(text, 'request body');
    } catch (e) {
      // `request body:LINE:COLUMN: what is wrong`, with the limits of drover apply -f
      throw new BadRequest((e as Error).message, undefined, { cause: e });
    }
    if (docs.length !== 1) throw new BadRequest(`an apply body is one object, got ${docs.length} documents`);
    value = docs[0].object;
  }
  if (!isPlainObject(value)) throw new BadRequest('an apply body must be an object with apiVersion, kind and metadata.name');
  return value;
}

export function readAnyPatchBody(req: Request): AnyPatch {
  const type = mediaType(req);
  if (type === APPLY_PATCH_TYPE) return { type: 'apply', object: parseApplyBody(bodyText(req)) };
  if (type === STRATEGIC_MERGE_PATCH_TYPE) {
    const patch = withoutStrategicDirectives(parseJsonText(bodyText(req)));
    if (!isPlainObject(patch)) throw new BadRequest('a strategic merge patch must be a JSON object');
    return { type: 'merge', patch };
  }
  return readPatchBody(req);
}
