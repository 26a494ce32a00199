// Loads the CustomResourceDefinitions in crds/ into the resource registry (core/resources.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { PrinterColumn, ResourceRegistry, ResourceType, ScaleSubresource } from './resources.ts';

type Obj = Record<string, unknown>;

/** `<repo>/crds`, next to core/. */
export function defaultCrdDir(): string {
  return fileURLToPath(new URL('../crds/', import.meta.url));
}

/** Every CustomResourceDefinition in `dir` (*.yaml, *.yml; sorted by file name). */
export function loadCrds(dir: string = defaultCrdDir()): Obj[] {
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  const crds: Obj[] = [];
  for (const f of files) {
    const file = join(dir, f);
    const docs = parseAllDocuments(readFileSync(file, 'utf8'));
    for (const doc of Array.isArray(docs) ? docs : [docs]) {
      if (doc.errors.length) throw new Error(`${file}: invalid YAML: ${doc.errors[0].message}`, { cause: doc.errors[0] });
      const obj = doc.toJS({ maxAliasCount: 100 }) as unknown;
      if (obj == null) continue;
      crds.push(checkCrd(obj, file));
    }
  }
  if (!crds.length) throw new Error(`${dir}: no CustomResourceDefinitions found`);
  return crds;
}

function checkCrd(obj: unknown, file: string): Obj {
  const fail = (what: string): never => { throw new Error(`${file}: malformed CustomResourceDefinition: ${what}`); };
  if (!isObj(obj)) return fail('not a mapping');
  if (obj.apiVersion !== 'apiextensions.k8s.io/v1' || obj.kind !== 'CustomResourceDefinition') {
    fail(`expected apiVersion apiextensions.k8s.io/v1, kind CustomResourceDefinition, got ${String(obj.apiVersion)} ${String(obj.kind)}`);
  }
  const spec = obj.spec;
  if (!isObj(spec)) return fail('missing spec');
  if (typeof spec.group !== 'string') fail('missing spec.group');
  if (spec.scope !== 'Cluster' && spec.scope !== 'Namespaced') fail('spec.scope must be Cluster or Namespaced');
  const names = spec.names;
  if (!isObj(names) || typeof names.kind !== 'string' || typeof names.plural !== 'string') return fail('missing spec.names.kind/plural');
  const versions = spec.versions;
  if (!Array.isArray(versions) || !versions.length) return fail('missing spec.versions');
  const storage = versions.filter((v) => isObj(v) && v.storage === true);
  if (storage.length !== 1) fail('exactly one version must have storage: true');
  for (const v of versions) {
    if (!isObj(v) || typeof v.name !== 'string') fail('a version has no name');
    const schema = (v as Obj).schema;
    if (!isObj(schema) || !isObj(schema.openAPIV3Schema)) fail(`version ${String((v as Obj).name)} has no schema.openAPIV3Schema`);
  }
  const expected = `${names.plural as string}.${spec.group as string}`;
  if ((obj.metadata as Obj | undefined)?.name !== expected) fail(`metadata.name must be ${expected}`);
  return obj;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function resourceTypeFromCrd(crd: Obj): ResourceType {
  const spec = crd.spec as Obj;
  const names = spec.names as Obj;
  const version = (spec.versions as Obj[]).find((v) => v.storage === true)!;
  const subresources = (version.subresources ?? {}) as Obj;
  const group = spec.group as string;
  const plural = names.plural as string;
  return {
    group,
    version: version.name as string,
    apiVersion: `${group}/${version.name as string}`,
    kind: names.kind as string,
    listKind: (names.listKind as string | undefined) ?? `${names.kind as string}List`,
    plural,
    singular: (names.singular as string | undefined) ?? (names.kind as string).toLowerCase(),
    shortNames: (names.shortNames as string[] | undefined) ?? [],
    categories: (names.categories as string[] | undefined) ?? [],
    namespaced: spec.scope === 'Namespaced',
    key: `${plural}.${group}`,
    hasStatus: 'status' in subresources,
    scale: subresources.scale as ScaleSubresource | undefined,
    printerColumns: (version.additionalPrinterColumns as PrinterColumn[] | undefined) ?? [],
    schema: (version.schema as Obj).openAPIV3Schema as Obj,
    crd,
  };
}

/** The registry built from the CRDs in `crdDir` (default: `<repo>/crds`). */
export function loadRegistry(crdDir?: string): ResourceRegistry {
  return createRegistry(loadCrds(crdDir ?? defaultCrdDir()).map(resourceTypeFromCrd));
}

export function createRegistry(types: ResourceType[]): ResourceRegistry {
  const byName = new Map<string, ResourceType>();
  const add = (name: string, rt: ResourceType) => {
    const k = name.toLowerCase();
    const prev = byName.get(k);
    if (prev && prev !== rt) throw new Error(`resource name "${name}" is used by both ${prev.key} and ${rt.key}`);
    byName.set(k, rt);
  };
  for (const rt of types) {
    for (const n of [rt.kind, rt.plural, rt.singular, ...rt.shortNames]) {
      add(n, rt);
      add(`${n}.${rt.group}`, rt);
    }
  }
  return {
    all: () => [...types],
    resolve: (name) => byName.get(name.toLowerCase()),
    byKey: (key) => types.find((t) => t.key === key),
    byPlural: (group, plural) => types.find((t) => t.group === group && t.plural === plural),
    byApiVersionKind: (apiVersion, kind) => types.find((t) => t.apiVersion === apiVersion && t.kind === kind),
  };
}
