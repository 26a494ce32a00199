// The resource registry, built from the CRD files in crds/ (the single source of truth).
// Implementation: core/crds.ts (loadRegistry).

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  format?: string;
  /** 0 = shown by default; >0 only with -o wide. */
  priority?: number;
}

export interface ScaleSubresource {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

export interface ResourceType {
  group: string;
  version: string;
  /** `group/version` */
  apiVersion: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  /** Store key: `<plural>.<group>` */
  key: string;
  hasStatus: boolean;
  scale?: ScaleSubresource;
  printerColumns: PrinterColumn[];
  /** The CRD's openAPIV3Schema for this version. */
  schema: Record<string, unknown>;
  /** The whole CRD object as loaded (for serving and for installing into Kubernetes). */
  crd: Record<string, unknown>;
}

export interface ResourceRegistry {
  all(): ResourceType[];
  /** By kind (`AgentDeployment`), plural, singular or short name, case-insensitive; `kind.group` also accepted. */
  resolve(name: string): ResourceType | undefined;
  byKey(key: string): ResourceType | undefined;
  byPlural(group: string, plural: string): ResourceType | undefined;
  byApiVersionKind(apiVersion: string, kind: string): ResourceType | undefined;
}
