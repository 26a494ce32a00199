// The shape every reconciler returns: a diff that a controller applies. Applying it twice is safe.
import type { KubeObject } from '../core/types.ts';

export const EventTypes = ['Normal', 'Warning'] as const;
export type EventType = (typeof EventTypes)[number];

/** Points at one object; uid, when given, is a precondition for delete/patch. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
}

/** An Event to record; involvedObject defaults to the object being reconciled. */
export interface EventSpec {
  type: EventType;
  reason: string;
  message: string;
  involvedObject?: ObjectRef;
}

/** A JSON merge patch (RFC 7386) for one object. */
export interface ObjectPatch {
  ref: ObjectRef;
  patch: Record<string, unknown>;
}

export interface ReconcileResult {
  /** Objects to create (AlreadyExists is fine: the diff is idempotent). */
  create?: KubeObject[];
  patch?: ObjectPatch[];
  /** Objects to delete (NotFound is fine). */
  delete?: ObjectRef[];
  /** The reconciled object's new status, written through /status; absent = leave as is. */
  status?: Record<string, unknown>;
  /** Task objects to create for node agents. */
  tasks?: KubeObject[];
  events?: EventSpec[];
  /** Reconcile this object again after this many milliseconds (the one way to requeue). */
  requeueAfter?: number;
}
