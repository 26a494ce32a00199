// Opaque list continuation tokens. A token names the last key returned and the revision the
// first page was read at; later pages read *current* data after that key (not a snapshot), and a
// token whose revision was compacted away answers Gone so the client restarts the list.
import { BadRequest } from '../core/errors.ts';

export interface ContinueToken {
  /** Revision the list started at (compared with the compaction point). */
  rev: number;
  /** Last returned key. */
  ns: string;
  name: string;
}

export function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 1, ...t })).toString('base64url');
}

export function decodeContinue(token: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<ContinueToken> & { v?: number };
    if (t.v === 1 && Number.isInteger(t.rev) && typeof t.ns === 'string' && typeof t.name === 'string') {
      return { rev: t.rev as number, ns: t.ns, name: t.name };
    }
  } catch (e) {
    throw new BadRequest(`invalid continue token: ${token}`, undefined, { cause: e });
  }
  throw new BadRequest(`invalid continue token: ${token}`);
}
