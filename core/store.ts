// The Store port. Backends: store/sqlite-store.ts (embedded default) and store/etcd-store.ts (HA).
// Every backend must pass test/contract/store-contract.ts.
import type { KubeObject, WatchEvent } from './types.ts';

/** Resource key: `<plural>.<group>`, e.g. `agentdeployments.drover.dev` (ResourceType.key). */
export type ResourceKey = string;

export interface ListOptions {
  /** Only this namespace; undefined = all namespaces (or cluster-scoped). */
  namespace?: string;
  /** Kubernetes label selector syntax: `a=b,c!=d,e in (x,y),!f,g`. */
  labelSelector?: string;
  /** Field selector: `metadata.name=x,status.phase!=Running` (supported fields in core/selectors.ts). */
  fieldSelector?: string;
  /** Page size; 0/undefined = everything. */
  limit?: number;
  /** Opaque token from a previous page. An expired one throws Gone. */
  continue?: string;
}

export interface ListResult {
  items: KubeObject[];
  /** Store revision the list is consistent with; watch from here. */
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * Deliver every change after this revision. '0' or undefined = from now (no replay).
   * Older than the retained history → the promise rejects with Gone (410).
   */
  resourceVersion?: string;
  /** Send BOOKMARK events (object: {kind, apiVersion, metadata:{resourceVersion}}) at this interval. */
  bookmarkIntervalMs?: number;
}

export interface Watcher {
  stop(): void;
}

export interface DeleteOptions {
  /** Precondition: fail with Conflict unless the stored object has this resourceVersion. */
  resourceVersion?: string;
  /** Precondition: fail with Conflict unless the stored object has this uid. */
  uid?: string;
}

/** The leadership a fenced write depends on: an etcd key and the create revision it had when won. */
export interface FenceGuard {
  key: string;
  createRevision: string;
}

export interface Store {
  /**
   * Assigns uid, creationTimestamp, resourceVersion and generation=1.
   * AlreadyExists if the name is taken. Returns the stored object.
   */
  create(resource: ResourceKey, obj: KubeObject): Promise<KubeObject>;
  /** NotFound if missing. */
  get(resource: ResourceKey, namespace: string | undefined, name: string): Promise<KubeObject>;
  list(resource: ResourceKey, opts?: ListOptions): Promise<ListResult>;
  /**
   * Replaces the stored object. If obj.metadata.resourceVersion is set and differs from the stored
   * one → Conflict. uid/creationTimestamp are kept from the stored object; generation is bumped
   * only when `spec` (or, for kinds without spec, anything outside metadata/status) changed.
   * If the result has a deletionTimestamp and no finalizers, the object is removed (DELETED).
   * An update that changes nothing keeps the resourceVersion and emits no event.
   */
  update(resource: ResourceKey, obj: KubeObject): Promise<KubeObject>;
  /**
   * Objects with finalizers get deletionTimestamp set (MODIFIED) and stay until the finalizers are
   * removed; others are removed (DELETED). Returns the last state. NotFound if missing.
   */
  delete(resource: ResourceKey, namespace: string | undefined, name: string, opts?: DeleteOptions): Promise<KubeObject>;
  /**
   * Stream changes of one resource (or of every resource when resource is '*').
   * Events are delivered in revision order; the handler is called synchronously in order.
   */
  watch(resource: ResourceKey | '*', opts: WatchOptions, handler: (ev: WatchEvent) => void): Promise<Watcher>;
  /** Current global revision. */
  revision(): Promise<string>;
  /**
   * Optional (etcd only; SQLite has a single manager and no fencing): a view of this same store whose
   * every write (create, update, delete) also requires, in the same transaction, that the key
   * `guard.key` exists with create revision `guard.createRevision` — the leader's election key. When it
   * does not, the write fails with NotLeader (core/errors.ts) and nothing is written. Reads and watches
   * are the store's own; close() of the view does nothing (close the store itself).
   */
  fenced?(guard: FenceGuard): Store;
  /** Drop watch history up to and including `revision` (watching from older answers Gone). */
  compact(revision: string): Promise<void>;
  close(): Promise<void>;
}
