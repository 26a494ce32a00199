// meta.k8s.io Table responses (what `kubectl get` asks for): the columns and cells `drover get` prints,
// from the CRDs' additionalPrinterColumns via core/printer.ts, so both CLIs show the same table.
import { printerColumns, printerRow } from '../core/printer.ts';
import type { PrinterColumn, ResourceType } from '../core/resources.ts';
import type { KubeObject, WatchEvent } from '../core/types.ts';
import type { IncludeObject, MetaVersion, Rendering } from './content-negotiation.ts';

export interface TableColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface TableRow {
  cells: unknown[];
  object?: unknown;
}

export interface Table {
  kind: 'Table';
  apiVersion: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

/** How one kind prints: its columns (every priority; kubectl hides priority > 0 unless -o wide) and a row per object. */
export interface TableSpec {
  columns: PrinterColumn[];
  row(obj: KubeObject, now: number): unknown[];
}

export function crdTableSpec(rt: ResourceType): TableSpec {
  return {
    columns: printerColumns(rt, { wide: true }),
    row: (obj, now) => printerRow(rt, obj, { wide: true, now }),
  };
}

function columnDefinition(c: PrinterColumn): TableColumnDefinition {
  const isName = c.jsonPath === '.metadata.name';
  return {
    name: c.name, type: c.type, format: c.format ?? (isName ? 'name' : ''),
    description: c.description ?? (isName ? 'Name must be unique within a namespace.' : ''), priority: c.priority ?? 0,
  };
}

function partialMetadata(obj: KubeObject, version: MetaVersion): unknown {
  return { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata: obj.metadata };
}

function rowObject(obj: KubeObject, include: IncludeObject, version: MetaVersion): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  return partialMetadata(obj, version);
}

export function toTable(
  spec: TableSpec, objects: KubeObject[], meta: Table['metadata'],
  opts: { version: MetaVersion; includeObject: IncludeObject; now?: number },
): Table {
  const now = opts.now ?? Date.now();
  return {
    kind: 'Table', apiVersion: `meta.k8s.io/${opts.version}`, metadata: meta,
    columnDefinitions: spec.columns.map(columnDefinition),
    rows: objects.map((o) => {
      const object = rowObject(o, opts.includeObject, opts.version);
      return { cells: spec.row(o, now), ...(object !== undefined ? { object } : {}) };
    }),
  };
}

function isList(body: unknown): body is { metadata?: Table['metadata']; items: KubeObject[] } {
  return typeof body === 'object' && body !== null && Array.isArray((body as { items?: unknown }).items);
}

/** A get or list answer in the rendering the client asked for (objects other than a list or one object pass through). */
export function renderReply(body: unknown, rendering: Rendering, spec: TableSpec, includeObject: IncludeObject): unknown {
  if (rendering.as === 'json' || typeof body !== 'object' || body === null) return body;
  const { version } = rendering;
  if (isList(body)) {
    const meta = body.metadata ?? {};
    if (rendering.as === 'Table') return toTable(spec, body.items, meta, { version, includeObject });
    return { kind: 'PartialObjectMetadataList', apiVersion: `meta.k8s.io/${version}`, metadata: meta, items: body.items.map((o) => partialMetadata(o, version)) };
  }
  const obj = body as KubeObject;
  if (!obj.metadata) return body;
  if (rendering.as === 'Table') return toTable(spec, [obj], { resourceVersion: obj.metadata.resourceVersion }, { version, includeObject });
  return partialMetadata(obj, version);
}

/**
 * Watch events in that rendering: each object becomes a one-row Table (what `kubectl get -w` prints) or its
 * metadata; a BOOKMARK keeps only its resourceVersion; an ERROR's Status passes unchanged.
 */
export function renderWatchEvent(ev: WatchEvent, rendering: Rendering, spec: TableSpec, includeObject: IncludeObject): WatchEvent {
  if (rendering.as === 'json' || ev.type === 'ERROR') return ev;
  const { version } = rendering;
  if (ev.type === 'BOOKMARK') {
    const resourceVersion = ev.object.metadata?.resourceVersion;
    const object = rendering.as === 'Table'
      ? { kind: 'Table', apiVersion: `meta.k8s.io/${version}`, metadata: { resourceVersion }, columnDefinitions: [], rows: [] }
      : { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata: { resourceVersion } };
    return { type: 'BOOKMARK', object: object as unknown as KubeObject };
  }
  return { type: ev.type, object: renderReply(ev.object, rendering, spec, includeObject) as KubeObject };
}
