// Generates core/kinds.generated.ts (TypeScript types per kind) from the CRD schemas in crds/.
// Run: node scripts/gen-types.ts   (or `make gen`). A unit test fails when the file is stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadRegistry } from '../core/crds.ts';
import type { ResourceRegistry, ResourceType } from '../core/resources.ts';

type Schema = Record<string, unknown>;
interface Parent { short: string; full: string }

export const GENERATED_FILE = fileURLToPath(new URL('../core/kinds.generated.ts', import.meta.url));

const ROOT_FIELDS_FROM_KUBEOBJECT = new Set(['apiVersion', 'kind', 'metadata']);
const KIND_ORDER = ['Cluster', 'Node', 'Container', 'AgentDeployment', 'Agent', 'Task', 'Event'];

const pascal = (s: string) => s.replace(/(^|[-_. ])([a-zA-Z0-9])/g, (_, __, c: string) => c.toUpperCase()).replace(/^[a-z]/, (c) => c.toUpperCase());
const singular = (s: string) => (s.endsWith('sses') ? s.slice(0, -2) : s.endsWith('ies') ? `${s.slice(0, -3)}y` : s.endsWith('s') && !s.endsWith('ss') ? s.slice(0, -1) : s);
const isObj = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);
const quoteKey = (k: string) => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? k : JSON.stringify(k));

function jsdoc(text: unknown, indent: string): string {
  if (typeof text !== 'string' || !text) return '';
  return `${indent}/** ${text.replace(/\*\//g, '* /').replace(/\s*\n\s*/g, ' ')} */\n`;
}

class Generator {
  private used = new Set<string>();
  private out: string[] = [];
  private readonly apiVersion: string;

  constructor(apiVersion: string) {
    this.apiVersion = apiVersion;
  }

  private claim(candidates: string[]): string {
    for (const c of candidates) if (!this.used.has(c)) { this.used.add(c); return c; }
    let i = 2;
    while (this.used.has(`${candidates[0]}${i}`)) i++;
    this.used.add(`${candidates[0]}${i}`);
    return `${candidates[0]}${i}`;
  }

  kind(rt: ResourceType): void {
    const root = rt.schema;
    this.used.add(rt.kind);
    const required = new Set((root.required as string[] | undefined) ?? []);
    const lines: string[] = [];
    lines.push(`  apiVersion: '${this.apiVersion}';`, `  kind: '${rt.kind}';`);
    for (const [k, s] of Object.entries((root.properties ?? {}) as Record<string, Schema>)) {
      if (ROOT_FIELDS_FROM_KUBEOBJECT.has(k)) continue;
      const forced = k === 'spec' || k === 'status' ? `${rt.kind}${pascal(k)}` : undefined;
      const t = this.type(s, { short: rt.kind, full: rt.kind }, k, forced);
      lines.push(`${jsdoc(s.description, '  ')}  ${quoteKey(k)}${required.has(k) ? '' : '?'}: ${t};`);
    }
    this.out.push(`${jsdoc(root.description, '')}export interface ${rt.kind} extends KubeObject {\n${lines.join('\n')}\n}\n`);
  }

  /**
   * The TypeScript type for a schema node; named object types and enums are emitted as a side
   * effect, named after their parent type (`short`: spec/status children drop Spec/Status).
   */
  private type(s: Schema, parent: Parent, prop: string, forcedName?: string): string {
    const nullable = s.nullable === true ? ' | null' : '';
    const names = () => [`${parent.short}${pascal(prop)}`, `${parent.full}${pascal(prop)}`];
    if (s['x-kubernetes-int-or-string'] === true) return `number | string${nullable}`;
    if (Array.isArray(s.enum)) {
      const union = s.enum.map((v) => JSON.stringify(v)).join(' | ');
      if (s.enum.length < 2) return union + nullable;
      const name = this.claim(names());
      this.out.push(`export const ${name}Values = [${s.enum.map((v) => JSON.stringify(v)).join(', ')}] as const;\nexport type ${name} = (typeof ${name}Values)[number];\n`);
      return name + nullable;
    }
    switch (s.type) {
      case 'string': return `string${nullable}`;
      case 'integer': case 'number': return `number${nullable}`;
      case 'boolean': return `boolean${nullable}`;
      case 'array': {
        const items = isObj(s.items) ? s.items : {};
        if (prop === 'conditions' && isObj(items.properties) && 'type' in items.properties && 'status' in items.properties) return `Condition[]${nullable}`;
        const inner = this.type(items, parent, singular(prop));
        return `${inner.includes(' ') ? `(${inner})` : inner}[]${nullable}`;
      }
      case 'object': {
        const props = isObj(s.properties) ? (s.properties as Record<string, Schema>) : undefined;
        if (!props) {
          if (isObj(s.additionalProperties)) return `Record<string, ${this.type(s.additionalProperties, parent, `${prop}Value`)}>${nullable}`;
          return `Record<string, unknown>${nullable}`;
        }
        const name = forcedName ?? this.claim(names());
        this.used.add(name);
        // Children of KindSpec/KindStatus are named Kind<Field> (ContainerPort, not ContainerSpecPort).
        const me: Parent = forcedName ? { short: parent.short, full: name } : { short: name, full: name };
        const required = new Set((s.required as string[] | undefined) ?? []);
        const fields = Object.entries(props).map(([k, p]) => {
          const t = this.type(p, me, k);
          return `${jsdoc(p.description, '  ')}  ${quoteKey(k)}${required.has(k) ? '' : '?'}: ${t};`;
        });
        if (s['x-kubernetes-preserve-unknown-fields'] === true) fields.push('  [field: string]: unknown;');
        this.out.push(`${jsdoc(s.description, '')}export type ${name} = {\n${fields.join('\n')}\n};\n`);
        return name + nullable;
      }
      default: return 'unknown';
    }
  }

  text(): string {
    return this.out.join('\n');
  }
}

/** The content of core/kinds.generated.ts for the registry's kinds. */
export function generateKindTypes(registry: ResourceRegistry): string {
  const kinds = registry.all().sort((a, b) => rank(a.kind) - rank(b.kind) || a.kind.localeCompare(b.kind));
  const parts = kinds.map((rt) => {
    const g = new Generator(rt.apiVersion);
    g.kind(rt);
    return `// ---- ${rt.kind} (${rt.key}) ----\n\n${g.text()}`;
  });
  return [
    '// Code generated by scripts/gen-types.ts from crds/*.yaml. DO NOT EDIT: change the CRD, then run `make gen`.',
    "import type { Condition, KubeObject } from './types.ts';",
    '',
    ...parts,
  ].join('\n');
}

function rank(kind: string): number {
  const i = KIND_ORDER.indexOf(kind);
  return i < 0 ? KIND_ORDER.length : i;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(GENERATED_FILE, generateKindTypes(loadRegistry()));
  console.log(`wrote ${GENERATED_FILE}`);
}
