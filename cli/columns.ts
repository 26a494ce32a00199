// Table headers and rows for a kind, from the CRD printer columns (core/printer.ts); NAMESPACE first with -A.
import { printerColumns, printerRow } from '../core/printer.ts';
import type { ResourceType } from '../core/resources.ts';
import type { KubeObject } from '../core/types.ts';
import { refName } from './kinds.ts';

export interface TableShape {
  headers: string[];
  row(obj: KubeObject): string[];
}

export function tableShape(rt: ResourceType, opts: { wide: boolean; allNamespaces: boolean; kindPrefix: boolean; now: () => number }): TableShape {
  const headers = printerColumns(rt, { wide: opts.wide }).map((c) => c.name.toUpperCase());
  const withNs = opts.allNamespaces && rt.namespaced;
  return {
    headers: withNs ? ['NAMESPACE', ...headers] : headers,
    row(obj) {
      const cells = printerRow(rt, obj, { wide: opts.wide, now: opts.now() });
      // Several kinds in one `get` print kubectl-style qualified names so rows are unambiguous.
      if (opts.kindPrefix) cells[0] = refName(rt, obj.metadata.name);
      return withNs ? [obj.metadata.namespace ?? '', ...cells] : cells;
    },
  };
}
