// What backup, restore and migrate-store need from a backend beyond the Store port: every object with
// its identity intact, in revision order, and a way to store an object exactly as it was.
import type { Store } from '../core/store.ts';
import type { KubeObject } from '../core/types.ts';

export interface StoredObject {
  /** Resource key `<plural>.<group>`. */
  resource: string;
  object: KubeObject;
}

export interface TransferableStore extends Store {
  /** Every object, in resourceVersion order (a consistent snapshot). */
  exportObjects(): Promise<StoredObject[]>;
  /** How many objects the store holds. */
  countObjects(): Promise<number>;
  /**
   * Store `obj` as it is — uid, creationTimestamp, generation, finalizers, deletionTimestamp, status —
   * under a new revision (its resourceVersion is ignored), replacing an object with the same key.
   * Watchers see ADDED (or MODIFIED for a replacement).
   */
  importObject(resource: string, obj: KubeObject): Promise<KubeObject>;
}

/** Sort by resourceVersion, numerically. */
export function byRevision(a: StoredObject, b: StoredObject): number {
  return Number(a.object.metadata.resourceVersion) - Number(b.object.metadata.resourceVersion);
}
