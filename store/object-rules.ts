// What every backend decides the same way about an object: the metadata the store owns (uid,
// creationTimestamp, generation, deletion state), when an update is a no-op, when a delete only marks.
// Backends differ only in how they read, compare and commit.
import { randomInt } from 'node:crypto';
import type { DeleteOptions } from '../core/store.ts';
import type { KubeObject } from '../core/types.ts';
import { BadRequest, Invalid } from '../core/errors.ts';
import { modifiedConflict, preconditionConflict } from './store-errors.ts';
import { desiredChanged, jsonEqual } from './object-diff.ts';

// Kubernetes' generateName alphabet: no vowels, so generated names never spell words.
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
/** Attempts at a free generated name before giving up with AlreadyExists. */
export const GENERATE_NAME_ATTEMPTS = 8;

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function parseRevision(rv: string, what: string): number {
  if (!/^\d+$/.test(rv)) throw new BadRequest(`invalid ${what}: "${rv}" is not a revision`);
  return Number(rv);
}

export function nsOf(obj: KubeObject): string {
  return obj.metadata.namespace ?? '';
}

/** A JSON-clean copy the caller can no longer mutate, with metadata normalised as Kubernetes does. */
export function cleanCopy(obj: KubeObject): KubeObject {
  if (!obj || typeof obj !== 'object' || !obj.metadata || typeof obj.metadata !== 'object') {
    throw new Invalid('object has no metadata', { causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'metadata' }] });
  }
  const c = JSON.parse(JSON.stringify(obj)) as KubeObject;
  if (c.metadata.namespace === '') delete c.metadata.namespace;
  if (Array.isArray(c.metadata.finalizers) && c.metadata.finalizers.length === 0) delete c.metadata.finalizers;
  return c;
}

export function nameRequired(resource: string): Invalid {
  return new Invalid(`${resource} is invalid: metadata.name: Required value: name or generateName is required`, {
    causes: [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }],
  });
}

/** `prefix` plus 5 random characters from the generateName alphabet. */
export function generatedName(prefix: string): string {
  let name = prefix;
  for (let i = 0; i < 5; i++) name += NAME_ALPHABET[randomInt(NAME_ALPHABET.length)];
  return name;
}

/** The server-owned fields of a new object (its resourceVersion is set when committed). */
export function stampNew(obj: KubeObject, uid: string, nowMs: number): void {
  const m = obj.metadata;
  m.uid = uid;
  m.creationTimestamp = rfc3339(nowMs);
  m.generation = 1;
  delete m.deletionTimestamp;
  delete m.deletionGracePeriodSeconds;
}

export type WritePlan =
  | { action: 'none'; obj: KubeObject }
  | { action: 'put'; obj: KubeObject }
  | { action: 'remove'; obj: KubeObject };

/**
 * Store.update's rules, given the stored object `cur` and the caller's clean copy `next` (mutated):
 * resourceVersion/uid preconditions, identity and deletion state kept from `cur`, no-op detection,
 * the generation rule, and removal once a deleted object has no finalizers left.
 */
export function planUpdate(resource: string, cur: KubeObject, next: KubeObject): WritePlan {
  const m = next.metadata;
  if (m.resourceVersion && m.resourceVersion !== cur.metadata.resourceVersion) throw modifiedConflict(resource, m.name);
  if (m.uid && m.uid !== cur.metadata.uid) throw preconditionConflict(resource, m.name, 'UID', m.uid, cur.metadata.uid ?? '');
  // Identity and deletion state belong to the store: an update can neither change nor clear them.
  m.uid = cur.metadata.uid;
  m.creationTimestamp = cur.metadata.creationTimestamp;
  m.resourceVersion = cur.metadata.resourceVersion;
  m.generation = cur.metadata.generation;
  m.deletionTimestamp = cur.metadata.deletionTimestamp;
  m.deletionGracePeriodSeconds = cur.metadata.deletionGracePeriodSeconds;
  if (m.deletionTimestamp === undefined) delete m.deletionTimestamp;
  if (m.deletionGracePeriodSeconds === undefined) delete m.deletionGracePeriodSeconds;
  if (jsonEqual(next, cur)) return { action: 'none', obj: cur };
  if (desiredChanged(cur, next)) m.generation = (cur.metadata.generation ?? 0) + 1;
  if (m.deletionTimestamp && !m.finalizers?.length) return { action: 'remove', obj: next };
  return { action: 'put', obj: next };
}

/**
 * Store.delete's rules for the stored object `cur` (mutated when marked): preconditions, then either
 * a deletionTimestamp (finalizers hold the object; marked once) or removal.
 */
export function planDelete(resource: string, name: string, cur: KubeObject, opts: DeleteOptions, nowMs: number): WritePlan {
  const rv = cur.metadata.resourceVersion ?? '';
  if (opts.resourceVersion && opts.resourceVersion !== rv) throw preconditionConflict(resource, name, 'ResourceVersion', opts.resourceVersion, rv);
  if (opts.uid && opts.uid !== cur.metadata.uid) throw preconditionConflict(resource, name, 'UID', opts.uid, cur.metadata.uid ?? '');
  if (cur.metadata.finalizers?.length) {
    // Finalizers hold the object: mark it once; controllers remove their finalizer to release it.
    if (cur.metadata.deletionTimestamp) return { action: 'none', obj: cur };
    cur.metadata.deletionTimestamp = rfc3339(nowMs);
    cur.metadata.deletionGracePeriodSeconds = 0;
    return { action: 'put', obj: cur };
  }
  return { action: 'remove', obj: cur };
}
