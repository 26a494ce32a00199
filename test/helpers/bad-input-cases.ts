// Generated malformed requests for test/integration/bad-input.test.ts: deterministic (seeded PRNG),
// built from the CRD schemas in crds/ so every field of every kind is tried with wrong values.
// Every case here is invalid on purpose: each must be refused with a 4xx Status, none may be stored.
import { gzipSync } from 'node:zlib';
import type { ResourceRegistry, ResourceType } from '../../core/resources.ts';

export const NS = 'badinput';
export const API = '/apis/drover.dev/v1alpha1';
export const ALLOWED_HOST_PATH = '/srv/drover-bad';
/** Names of everything a bad case might create start with this: none may exist afterwards. */
export const BAD_PREFIX = 'bad-';
/** The object of each kind the suite creates on purpose, and targets with updates, patches and status writes. */
export const TARGET = 'target';

export type Auth = 'admin' | 'none' | 'wrong' | 'basic';

export interface HttpCase {
  what: string;
  method: string;
  /** Sent as is: no URL normalization, so `..` and `%2e%2e` reach the server. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  auth?: Auth;
}

export interface RawCase {
  what: string;
  data: string | Buffer;
  /** Half-close the connection after sending: the request is cut short. */
  end?: boolean;
}

type Json = unknown;
type Obj = Record<string, Json>;
type SchemaNode = Record<string, Json>;

/** mulberry32: small, fast, good enough to make the cases reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function collectionPath(rt: ResourceType): string {
  return rt.namespaced ? `${API}/namespaces/${NS}/${rt.plural}` : `${API}/${rt.plural}`;
}

export function itemPath(rt: ResourceType, name: string): string {
  return `${collectionPath(rt)}/${name}`;
}

/** A minimal valid object of each kind (in NS for namespaced kinds). */
export function baseObject(rt: ResourceType, name: string): Obj {
  const metadata: Obj = rt.namespaced ? { name, namespace: NS } : { name };
  const head = { apiVersion: rt.apiVersion, kind: rt.kind, metadata };
  switch (rt.kind) {
    case 'Cluster': return { ...head, spec: { policy: { allowedHostPaths: [ALLOWED_HOST_PATH] } } };
    case 'Node': return { ...head, spec: { unschedulable: true } };
    case 'Container': return { ...head, spec: { image: 'example/x:1', command: ['sleep', '1'], env: [{ name: 'PLAIN', value: 'v' }] } };
    case 'AgentDeployment': return { ...head, spec: { agentType: 'bad', replicas: 0, template: { command: ['x'] } } };
    case 'Agent': return { ...head, spec: { agentType: 'bad', command: ['x'] } };
    case 'Task': return { ...head, spec: { type: 'deploy', target: { kind: 'Container', name: 'nothing' } } };
    case 'Event': return { ...head, involvedObject: { kind: 'Container', name: TARGET, namespace: NS }, reason: 'Test', type: 'Normal', message: 'm' };
    // suspended: the GitOps controller fetches nothing for it
    case 'GitRepository': return { ...head, spec: { url: '/nonexistent/bad-input.git', interval: '1h', suspend: true } };
    case 'ApplySet': return { ...head, spec: { tooling: 'bad-input', groupKinds: ['Container.drover.dev'], namespaces: [NS] } };
    default: throw new Error(`no base object for kind ${rt.kind}`);
  }
}

/** The objects the suite creates on purpose, in order (the Cluster first: it is their namespace). */
export function validObjects(registry: ResourceRegistry): Array<{ rt: ResourceType; obj: Obj }> {
  const out: Array<{ rt: ResourceType; obj: Obj }> = [];
  const rt = (k: string) => registry.resolve(k)!;
  out.push({ rt: rt('Cluster'), obj: baseObject(rt('Cluster'), NS) });
  for (const k of ['Node', 'Container', 'AgentDeployment', 'Agent', 'Task', 'Event', 'GitRepository', 'ApplySet']) out.push({ rt: rt(k), obj: baseObject(rt(k), TARGET) });
  // a hostPath volume the Cluster's policy allows, and a secret env entry
  const withVolume = baseObject(rt('Container'), 'with-volume');
  (withVolume.spec as Obj).volumes = [{ name: 'data', hostPath: `${ALLOWED_HOST_PATH}/data`, mountPath: '/data' }];
  (withVolume.spec as Obj).env = [{ name: 'API_KEY', value: 'do-not-print-me', secret: true }];
  out.push({ rt: rt('Container'), obj: withVolume });
  return out;
}

// ---- schema-driven wrong values ----

type Seg = { prop: string } | { item: true } | { map: true };

interface Field {
  segs: Seg[];
  node: SchemaNode;
}

function fieldsOf(node: SchemaNode, segs: Seg[] = []): Field[] {
  const out: Field[] = [];
  if (segs.length) out.push({ segs, node });
  if (node['x-kubernetes-preserve-unknown-fields'] === true) return out;
  for (const [k, v] of Object.entries((node.properties ?? {}) as Record<string, SchemaNode>)) out.push(...fieldsOf(v, [...segs, { prop: k }]));
  if (node.items && typeof node.items === 'object') out.push(...fieldsOf(node.items as SchemaNode, [...segs, { item: true }]));
  if (node.additionalProperties && typeof node.additionalProperties === 'object') out.push(...fieldsOf(node.additionalProperties as SchemaNode, [...segs, { map: true }]));
  return out;
}

const keyOf = (s: Seg): string | number => ('prop' in s ? s.prop : 'item' in s ? 0 : 'k');

/** Set `value` at `segs` inside `root`, creating (or replacing) containers of the right shape on the way. */
export function setAt(root: Obj, segs: Seg[], value: Json): void {
  let cur: Record<string | number, Json> = root;
  segs.forEach((s, i) => {
    const key = keyOf(s);
    if (i === segs.length - 1) {
      cur[key] = value;
      return;
    }
    const next = segs[i + 1];
    const wantArray = 'item' in next;
    const have = cur[key];
    const ok = wantArray ? Array.isArray(have) : typeof have === 'object' && have !== null && !Array.isArray(have);
    if (!ok) cur[key] = wantArray ? [] : {};
    cur = cur[key] as Record<string | number, Json>;
  });
}

function pathText(segs: Seg[]): string {
  return segs.map((s) => ('prop' in s ? `.${s.prop}` : 'item' in s ? '[0]' : '[k]')).join('').slice(1);
}

function itemFill(items: SchemaNode | undefined): Json {
  const t = items?.type;
  return t === 'integer' || t === 'number' ? 1 : t === 'object' ? {} : t === 'boolean' ? true : 'a';
}

/** Values of the wrong type (and out of bounds) for a schema node; every one must fail validation. */
export function wrongValues(node: SchemaNode): Json[] {
  const out: Json[] = [];
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const type = intOrString ? 'int-or-string' : (node.type as string | undefined);
  switch (type) {
    case 'string':
      out.push(12345, true, { x: 'y' }, ['a']);
      if (Array.isArray(node.enum)) out.push('NotOneOfTheEnum');
      if (typeof node.pattern === 'string') out.push('%%% no match %%%');
      if (typeof node.maxLength === 'number') out.push('x'.repeat(node.maxLength + 1));
      if (typeof node.minLength === 'number' && node.minLength > 0) out.push('');
      if (node.format === 'date-time') out.push('yesterday at noon');
      break;
    case 'integer':
      out.push('12', 1.5, true, [1], 1e308);
      if (typeof node.minimum === 'number') out.push(node.minimum - 1);
      if (typeof node.maximum === 'number') out.push(node.maximum + 1);
      break;
    case 'number':
      out.push('0.5', true, {});
      if (typeof node.minimum === 'number') out.push(node.minimum - 0.5);
      if (typeof node.maximum === 'number') out.push(node.maximum + 0.5);
      break;
    case 'boolean':
      out.push('true', 1, []);
      break;
    case 'array':
      out.push('x', { a: 1 }, 3);
      if (typeof node.maxItems === 'number') out.push(Array.from({ length: node.maxItems + 1 }, () => itemFill(node.items as SchemaNode)));
      if (typeof node.minItems === 'number' && node.minItems > 0) out.push([]);
      break;
    case 'object':
      out.push('x', [1], 7);
      if (typeof node.maxProperties === 'number') out.push(Object.fromEntries(Array.from({ length: node.maxProperties + 1 }, (_, i) => [`k${i}`, 'v'])));
      break;
    case 'int-or-string':
      out.push(true, { a: 1 }, [1], 1.5);
      if (typeof node.pattern === 'string') out.push('%%% no match %%%');
      if (typeof node.minimum === 'number') out.push(node.minimum - 1);
      break;
    default:
      if (node['x-kubernetes-preserve-unknown-fields'] === true) out.push('x', 5);
  }
  return out;
}

// ---- the generator ----

/** Names that must never reach the store: path traversal, unicode look-alikes, separators, too long. */
export const BAD_NAMES = [
  '..', '.', '../x', '..\\x', 'a/b', '/etc/passwd', 'x/../y', '%2e%2e', '..%2f..', '\u0000', 'a\u0000b', 'ａｂｃ', 'аbc' /* Cyrillic а */,
  'web\u200b', '\u202eevil', 'Web', 'web.', '.web', '-web', 'web-', 'web_1', 'web name', 'web\n', 'é', '😀', '~', '*', '?', '#',
  'a;b', "a'b", 'a"b', '<script>', '${x}', '$(id)', 'a:b', '@', 'a'.repeat(254), 'x.'.repeat(127) + 'x', ' web', 'web ', '\t',
];

/** hostPath values the Cluster policy (allowedHostPaths: [ALLOWED_HOST_PATH]) must refuse. */
export const BAD_HOST_PATHS = [
  '/etc', '/', '/var/run/docker.sock', '/proc/1/root', `${ALLOWED_HOST_PATH}/../../etc`, `${ALLOWED_HOST_PATH}/..`,
  `${ALLOWED_HOST_PATH}//x`, `${ALLOWED_HOST_PATH}/./x`, `${ALLOWED_HOST_PATH.slice(1)}/x`, './x', '../x', '', `${ALLOWED_HOST_PATH}x`,
  `${ALLOWED_HOST_PATH}\u0000/x`, `${ALLOWED_HOST_PATH}/x\u0000`, `/${ALLOWED_HOST_PATH}`, `${ALLOWED_HOST_PATH}/../drover-bad/x`,
  '~/x', 'C:\\x', '\\\\server\\share', ALLOWED_HOST_PATH.toUpperCase(), `${ALLOWED_HOST_PATH}/${'x'.repeat(5000)}`, `${ALLOWED_HOST_PATH}/x/../../..`,
];

/** Deeply nested JSON text: `{"a":{"a":…}}` `depth` levels. */
export function nestedObjectText(depth: number): string {
  return '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
}

export function nestedArrayText(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

/** YAML whose aliases expand to 9^9 nodes. */
export function aliasBombYaml(kind = 'Container', apiVersion = 'drover.dev/v1alpha1'): string {
  const lines = [`apiVersion: ${apiVersion}`, `kind: ${kind}`, `metadata: {name: ${BAD_PREFIX}bomb, namespace: ${NS}}`, 'spec:', '  a0: &a0 [x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 10; i++) lines.push(`  a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
  return lines.join('\n') + '\n';
}

/** Positions in JSON text outside strings holding one of `chars`. */
function structuralPositions(text: string, chars: string): number[] {
  const out: number[] = [];
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    if (chars.includes(c)) out.push(i);
  }
  return out;
}

export interface Generated {
  http: HttpCase[];
  raw: RawCase[];
}

export function generateCases(registry: ResourceRegistry, seed: number): Generated {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const http: HttpCase[] = [];
  const raw: RawCase[] = [];
  let n = 0;
  const badName = () => `${BAD_PREFIX}${(n++).toString(36)}`;
  const json = (v: Json) => JSON.stringify(v);
  const kinds = registry.all();
  const rt = (k: string) => registry.resolve(k)!;
  const post = (what: string, r: ResourceType, body: Json | string | Buffer, headers: Record<string, string> = {}) =>
    http.push({ what, method: 'POST', path: collectionPath(r), body: typeof body === 'string' || Buffer.isBuffer(body) ? body : json(body), headers: { 'content-type': 'application/json', ...headers } });

  // 1. wrong types and out-of-bounds values for every spec (and Event) field, on create
  for (const r of kinds) {
    const roots = r.kind === 'Event'
      ? Object.keys((r.schema.properties ?? {}) as Obj).filter((k) => !['apiVersion', 'kind', 'metadata'].includes(k))
      : ['spec'];
    for (const root of roots) {
      const rootNode = ((r.schema.properties ?? {}) as Record<string, SchemaNode>)[root];
      for (const f of [{ segs: [] as Seg[], node: rootNode }, ...fieldsOf(rootNode)]) {
        for (const v of wrongValues(f.node)) {
          const obj = baseObject(r, badName());
          setAt(obj, [{ prop: root }, ...f.segs], v);
          post(`${r.kind} ${[root, pathText(f.segs)].filter(Boolean).join('.')} = ${describe(v)}`, r, obj);
        }
      }
    }
  }

  // 2. the same for every status field, through PUT …/status of the target object
  for (const r of kinds.filter((k) => k.hasStatus)) {
    const statusNode = ((r.schema.properties ?? {}) as Record<string, SchemaNode>).status;
    const name = r.kind === 'Cluster' ? NS : TARGET;
    for (const f of [{ segs: [] as Seg[], node: statusNode }, ...fieldsOf(statusNode)]) {
      for (const v of wrongValues(f.node)) {
        const obj = baseObject(r, name);
        obj.status = {};
        setAt(obj, [{ prop: 'status' }, ...f.segs], v);
        http.push({ what: `${r.kind} status.${pathText(f.segs)} = ${describe(v)}`, method: 'PUT', path: `${itemPath(r, name)}/status`, body: json(obj), headers: { 'content-type': 'application/json' } });
      }
    }
  }

  // 3. metadata and the object's identity
  const metaBad: Array<[string, (m: Obj) => void]> = [
    ['name number', (m) => { m.name = 5; }], ['name true', (m) => { m.name = true; }], ['name object', (m) => { m.name = {}; }],
    ['name array', (m) => { m.name = ['a']; }], ['name empty', (m) => { m.name = ''; }],
    ['labels string', (m) => { m.labels = 'x'; }], ['labels array', (m) => { m.labels = ['a']; }], ['label value number', (m) => { m.labels = { k: 5 }; }],
    ['label key invalid', (m) => { m.labels = { 'bad key!': 'v' }; }], ['label value invalid', (m) => { m.labels = { k: 'bad value!' }; }],
    ['label value too long', (m) => { m.labels = { k: 'x'.repeat(64) }; }], ['label key too long', (m) => { m.labels = { ['k'.repeat(64)]: 'v' }; }],
    ['label key traversal', (m) => { m.labels = { '../x': 'v' }; }], ['label unicode', (m) => { m.labels = { k: 'wéb' }; }],
    ['annotations string', (m) => { m.annotations = 'x'; }], ['annotation value number', (m) => { m.annotations = { k: 5 }; }],
    ['annotation key invalid', (m) => { m.annotations = { 'bad key!': 'v' }; }], ['annotations over 256 KiB', (m) => { m.annotations = { k: 'x'.repeat(256 * 1024 + 1) }; }],
    ['finalizers string', (m) => { m.finalizers = 'x'; }], ['finalizer number', (m) => { m.finalizers = [5]; }], ['finalizer invalid', (m) => { m.finalizers = ['Bad Finalizer!']; }],
    ['100k invalid finalizers', (m) => { m.finalizers = Array.from({ length: 100_000 }, () => '!'); }],
    ['ownerReferences string', (m) => { m.ownerReferences = 'x'; }], ['ownerReference number', (m) => { m.ownerReferences = [5]; }],
    ['ownerReference empty', (m) => { m.ownerReferences = [{}]; }],
    ['ownerReference controller string', (m) => { m.ownerReferences = [{ apiVersion: 'v1', kind: 'K', name: 'n', uid: 'u', controller: 'yes' }]; }],
    ['two controllers', (m) => { m.ownerReferences = [1, 2].map((i) => ({ apiVersion: 'v1', kind: 'K', name: `n${i}`, uid: `u${i}`, controller: true })); }],
    ['ownerReference unknown field', (m) => { m.ownerReferences = [{ apiVersion: 'v1', kind: 'K', name: 'n', uid: 'u', extra: 1 }]; }],
    ['generateName number', (m) => { m.generateName = 5; }], ['unknown metadata field', (m) => { m.surprise = 1; }],
  ];
  for (const r of kinds) {
    for (const [what, mutate] of metaBad) {
      const obj = baseObject(r, badName());
      mutate(obj.metadata as Obj);
      post(`${r.kind} metadata: ${what}`, r, obj);
    }
    if (r.namespaced) {
      for (const ns of ['other', 5, '../x', NS.toUpperCase()]) {
        const obj = baseObject(r, badName());
        (obj.metadata as Obj).namespace = ns;
        post(`${r.kind} metadata.namespace ${describe(ns)} differs from the URL`, r, obj);
      }
    }
    for (const name of BAD_NAMES) {
      const obj = baseObject(r, name);
      post(`${r.kind} metadata.name ${describe(name)}`, r, obj);
    }
    for (const [what, body] of [
      ['metadata string', { ...baseObject(r, badName()), metadata: 'x' }], ['metadata array', { ...baseObject(r, badName()), metadata: [1] }],
      ['metadata null', { ...baseObject(r, badName()), metadata: null }], ['kind mismatch', { ...baseObject(r, badName()), kind: 'Other' }],
      ['apiVersion mismatch', { ...baseObject(r, badName()), apiVersion: 'v1' }], ['kind number', { ...baseObject(r, badName()), kind: 5 }],
      ['unknown top-level field', { ...baseObject(r, badName()), surprise: { x: 1 } }],
      ['body array', [baseObject(r, badName())]], ['body string', 'just a string'], ['body number', 42], ['body null', null], ['body true', true],
    ] as Array<[string, Json]>) post(`${r.kind} ${what}`, r, body);
    if (r.kind !== 'Cluster' && r.kind !== 'Node' && r.kind !== 'Event') {
      const obj = baseObject(r, badName());
      delete obj.spec;
      post(`${r.kind} without its required spec`, r, obj);
    }
    if (r.kind !== 'Event') {
      const obj = baseObject(r, badName());
      (obj.spec as Obj).surprise = 1;
      post(`${r.kind} spec with an unknown field`, r, obj);
    }
  }

  // 4. huge values
  const container = rt('Container');
  const huge: Array<[string, (s: Obj) => void]> = [
    ['100k-element command', (s) => { s.command = Array.from({ length: 100_000 }, () => 'a'); }],
    ['100k-element args', (s) => { s.args = Array.from({ length: 100_000 }, () => 'a'); }],
    ['100k env entries', (s) => { s.env = Array.from({ length: 100_000 }, (_, i) => ({ name: `E${i}`, value: 'v' })); }],
    ['100k ports', (s) => { s.ports = Array.from({ length: 100_000 }, () => ({ containerPort: 80 })); }],
    ['100k capabilities', (s) => { s.agentHost = { capabilities: Array.from({ length: 100_000 }, () => 'gpu') }; }],
    ['100k tolerations', (s) => { s.tolerations = Array.from({ length: 100_000 }, () => ({ key: 'k' })); }],
    ['100k dependsOn', (s) => { s.dependsOn = Array.from({ length: 100_000 }, (_, i) => ({ name: `d${i}` })); }],
    ['1 MiB image', (s) => { s.image = 'x'.repeat(1024 * 1024); }],
    ['2 MiB command item', (s) => { s.command = ['x'.repeat(2 * 1024 * 1024)]; }],
    ['env value of 32 KiB + 1', (s) => { s.env = [{ name: 'E', value: 'v'.repeat(32 * 1024 + 1) }]; }],
    ['terminationGracePeriodSeconds 1e308', (s) => { s.terminationGracePeriodSeconds = 1e308; }],
    ['terminationGracePeriodSeconds 2^64', (s) => { s.terminationGracePeriodSeconds = 2 ** 64; }],
    ['port 1e20', (s) => { s.ports = [{ containerPort: 1e20 }]; }],
    ['agent capacity 1e300', (s) => { s.agentHost = { capacity: { agents: 1e300 } }; }],
    ['cpu request of a 10k-digit number', (s) => { s.resources = { requests: { cpu: '9'.repeat(10_000) + 'x' } }; }],
  ];
  for (const [what, mutate] of huge) {
    const obj = baseObject(container, badName());
    mutate(obj.spec as Obj);
    post(`Container ${what}`, container, obj);
  }
  const ad = rt('AgentDeployment');
  for (const replicas of [1e308, 2 ** 53, 2 ** 31, 10_001, -1, 1e-9]) {
    const obj = baseObject(ad, badName());
    (obj.spec as Obj).replicas = replicas;
    post(`AgentDeployment replicas ${replicas}`, ad, obj);
  }
  post('AgentDeployment replicas 1e999 (Infinity)', ad, json(baseObject(ad, badName())).replace('"replicas":0', '"replicas":1e999'));
  post('Container name of 100k characters', container, baseObject(container, 'a'.repeat(100_000)));

  // 5. deep nesting (the body limit of 64 levels), in bodies, patches and the seed API
  for (const depth of [65, 100, 1000, 100_000]) {
    const deep = depth <= 1000 ? nestedObjectText(depth) : nestedArrayText(depth);
    for (const r of [ad, container, rt('Cluster')]) {
      const text = json(baseObject(r, badName())).replace(/}$/, `,"deep":${deep}}`);
      post(`${r.kind} nested ${depth} levels`, r, text);
    }
    const config = json(baseObject(ad, badName())).replace('"template":{', `"template":{"config":${deep},`);
    post(`AgentDeployment template.config nested ${depth} levels`, ad, config);
    http.push({ what: `merge patch nested ${depth} levels`, method: 'PATCH', path: itemPath(ad, TARGET), body: `{"spec":{"template":{"config":${deep}}}}`, headers: { 'content-type': 'application/merge-patch+json' } });
    http.push({ what: `json patch value nested ${depth} levels`, method: 'PATCH', path: itemPath(ad, TARGET), body: `[{"op":"add","path":"/spec/template/config","value":${deep}}]`, headers: { 'content-type': 'application/json-patch+json' } });
    http.push({ what: `seed deploy/agent nested ${depth} levels`, method: 'POST', path: `/api/v1/cluster/deploy/agent?namespace=${NS}`, body: `{"agent_type":"x","agent_config":${deep}}`, headers: { 'content-type': 'application/json' } });
    http.push({ what: `join nested ${depth} levels`, method: 'POST', path: '/api/v1/join', body: `{"token":"x","nodeName":"n","labels":${deep}}`, headers: { 'content-type': 'application/json' }, auth: 'none' });
  }

  // 6. YAML (the API takes JSON only) and alias bombs
  const bomb = aliasBombYaml();
  for (const [ct, what] of [['application/yaml', 'YAML'], ['text/yaml', 'YAML'], ['application/x-yaml', 'YAML'], ['application/json', 'YAML sent as JSON'], ['', 'YAML without a content type']] as const) {
    post(`alias bomb as ${what} (${ct || 'none'})`, container, bomb, ct ? { 'content-type': ct } : { 'content-type': '' });
  }
  for (const ct of ['application/apply-patch+yaml', 'application/yaml', 'application/merge-patch+json', 'application/json-patch+json', 'application/strategic-merge-patch+json']) {
    http.push({ what: `alias bomb as a ${ct} patch`, method: 'PATCH', path: itemPath(container, TARGET), body: bomb.replace(`${BAD_PREFIX}bomb`, TARGET), headers: { 'content-type': ct } });
  }
  // server-side apply takes YAML: the same limits as drover apply -f
  const applyYaml = (what: string, text: string) => http.push({ what: `server-side apply: ${what}`, method: 'PATCH', path: `${itemPath(container, TARGET)}?fieldManager=bad-input`, body: text, headers: { 'content-type': 'application/apply-patch+yaml' } });
  const head = `apiVersion: drover.dev/v1alpha1\nkind: Container\nmetadata: {name: ${TARGET}, namespace: ${NS}}\n`;
  applyYaml('a recursive alias', `${head}spec: &s {image: x, loop: [*s]}\n`);
  applyYaml('flow nesting 500 deep', `${head}spec: {image: x, x: ${'['.repeat(500)}${']'.repeat(500)}}\n`);
  applyYaml('flow nesting 100000 deep', `${head}spec: {image: x, x: ${'['.repeat(100_000)}}}\n`);
  applyYaml('block nesting 70 deep', `${head}spec:\n${Array.from({ length: 70 }, (_, i) => `${' '.repeat(2 * i + 2)}k${i}:`).join('\n')} v\n`);
  applyYaml('two documents', `${head}spec: {image: x}\n---\n${head}spec: {image: y}\n`);
  applyYaml('a YAML syntax error', `${head}spec: {image: [x\n`);
  applyYaml('a sequence', '- a\n- b\n');
  applyYaml('a wrong type', `${head}spec: {image: 5}\n`);
  applyYaml('another name', `apiVersion: drover.dev/v1alpha1\nkind: Container\nmetadata: {name: ${BAD_PREFIX}other, namespace: ${NS}}\nspec: {image: x}\n`);
  applyYaml('a name with ..', `apiVersion: drover.dev/v1alpha1\nkind: Container\nmetadata: {name: ../${TARGET}, namespace: ${NS}}\nspec: {image: x}\n`);
  applyYaml('a forbidden hostPath', `${head}spec: {image: x, volumes: [{name: v, hostPath: /etc, mountPath: /m}]}\n`);

  // 7. names, namespaces and volume paths
  const enc = (s: string) => encodeURIComponent(s);
  const nameTargets = [container, rt('Cluster'), rt('Task'), rt('Event')];
  for (const name of [...BAD_NAMES, '%252e%252e', 'a%2Fb']) {
    const e = name.startsWith('%25') || name === 'a%2Fb' ? name : enc(name);
    for (const r of nameTargets) {
      http.push({ what: `GET ${r.kind} named ${describe(name)}`, method: 'GET', path: `${collectionPath(r)}/${e}` });
    }
    http.push({ what: `PUT Container named ${describe(name)}`, method: 'PUT', path: `${collectionPath(container)}/${e}`, body: json(baseObject(container, name)), headers: { 'content-type': 'application/json' } });
    http.push({ what: `PATCH Container named ${describe(name)}`, method: 'PATCH', path: `${collectionPath(container)}/${e}`, body: '{}', headers: { 'content-type': 'application/merge-patch+json' } });
    http.push({ what: `DELETE Container named ${describe(name)}`, method: 'DELETE', path: `${collectionPath(container)}/${e}` });
    http.push({ what: `GET status of Container ${describe(name)}`, method: 'GET', path: `${collectionPath(container)}/${e}/status` });
    http.push({ what: `list in namespace ${describe(name)}`, method: 'GET', path: `${API}/namespaces/${e}/containers` });
    http.push({ what: `POST into namespace ${describe(name)}`, method: 'POST', path: `${API}/namespaces/${e}/containers`, body: json({ ...baseObject(container, badName()), metadata: { name: badName() } }), headers: { 'content-type': 'application/json' } });
    http.push({ what: `log of Container ${describe(name)}`, method: 'GET', path: `${collectionPath(container)}/${e}/log` });
    http.push({ what: `log in namespace ${describe(name)}`, method: 'GET', path: `${API}/namespaces/${e}/containers/${TARGET}/log` });
    http.push({ what: `seed task ${describe(name)}`, method: 'GET', path: `/api/v1/tasks/${e}` });
    http.push({ what: `seed tasks in namespace ${describe(name)}`, method: 'GET', path: `/api/v1/tasks?namespace=${e}` });
    http.push({ what: `seed node tasks of ${describe(name)}`, method: 'GET', path: `/api/v1/agents/${e}/tasks` });
    http.push({ what: `seed containers in namespace ${describe(name)}`, method: 'GET', path: `/api/v1/cluster/containers?namespace=${e}` });
    http.push({ what: `seed heartbeat of ${describe(name)}`, method: 'POST', path: `/api/v1/cluster/containers/${e}/heartbeat?namespace=${NS}` });
    http.push({ what: `seed register ${describe(name)}`, method: 'POST', path: `/api/v1/cluster/containers/register?namespace=${NS}`, body: json({ name }), headers: { 'content-type': 'application/json' } });
    http.push({ what: `rebalance of cluster ${describe(name)}`, method: 'POST', path: `/api/v1/clusters/${e}/rebalance?dryRun=true` });
    http.push({ what: `core/v1 namespace ${describe(name)}`, method: 'GET', path: `/api/v1/namespaces/${e}` });
    http.push({ what: `core/v1 events in namespace ${describe(name)}`, method: 'GET', path: `/api/v1/namespaces/${e}/events` });
    http.push({ what: `core/v1 event ${describe(name)}`, method: 'GET', path: `/api/v1/namespaces/${NS}/events/${e}` });
    http.push({ what: `join as node ${describe(name)}`, method: 'POST', path: '/api/v1/join', body: json({ token: 'drvj_x', nodeName: name }), headers: { 'content-type': 'application/json' }, auth: 'none' });
  }
  for (const raw of ['..', '.', '../..', '%2e%2e', '%2E%2E', '.%2e', '%2e.']) {
    http.push({ what: `raw path segment ${raw} as a name`, method: 'GET', path: `${collectionPath(container)}/${raw}` });
    http.push({ what: `raw path segment ${raw} as a namespace`, method: 'GET', path: `${API}/namespaces/${raw}/containers` });
    http.push({ what: `raw path segment ${raw} before status`, method: 'PUT', path: `${collectionPath(container)}/${raw}/status`, body: '{}', headers: { 'content-type': 'application/json' } });
  }
  for (const hostPath of BAD_HOST_PATHS) {
    const obj = baseObject(container, badName());
    (obj.spec as Obj).volumes = [{ name: 'v', hostPath, mountPath: '/m' }];
    post(`Container hostPath ${describe(hostPath)}`, container, obj);
    http.push({ what: `merge patch of hostPath ${describe(hostPath)}`, method: 'PATCH', path: itemPath(container, TARGET), body: json({ spec: { volumes: [{ name: 'v', hostPath, mountPath: '/m' }] } }), headers: { 'content-type': 'application/merge-patch+json' } });
  }
  for (const volName of ['../x', 'A', 'a/b', '', 'x'.repeat(64)]) {
    const obj = baseObject(container, badName());
    (obj.spec as Obj).volumes = [{ name: volName, mountPath: '/m' }];
    post(`Container volume name ${describe(volName)}`, container, obj);
  }

  // 8. truncated bodies and structurally broken JSON (seeded positions)
  for (const r of kinds) {
    const text = json(baseObject(r, badName()));
    for (let i = 0; i < 25; i++) {
      const cut = Math.floor(rand() * text.length);
      post(`${r.kind} body truncated at ${cut}/${text.length}`, r, text.slice(0, cut));
    }
    const quotes = structuralPositions(text, '"{}[]:');
    for (let i = 0; i < 40; i++) {
      const at = pick(quotes);
      post(`${r.kind} body without its ${text[at]} at ${at}`, r, text.slice(0, at) + text.slice(at + 1));
    }
    const gaps = structuralPositions(text, ',:{}[]');
    for (let i = 0; i < 40; i++) {
      const at = pick(gaps);
      const junk = pick([',', '}', ']', '\u0001', '#', 'undefined', 'NaN', "'", '//', '\\']);
      post(`${r.kind} body with ${describe(junk)} inserted at ${at}`, r, text.slice(0, at) + junk + text.slice(at));
    }
    post(`${r.kind} empty body`, r, '');
    post(`${r.kind} whitespace body`, r, '   \n ');
    post(`${r.kind} invalid UTF-8`, r, Buffer.concat([Buffer.from('{"metadata":{"name":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}}')]));
  }

  // 9. wrong content types, methods and encodings
  for (const r of kinds) {
    const body = json(baseObject(r, badName()));
    for (const ct of ['text/plain', 'application/xml', 'application/yaml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/jsonx', 'json', 'application/json-seq', 'image/png']) {
      post(`${r.kind} as ${ct}`, r, body, { 'content-type': ct });
    }
    const name = r.kind === 'Cluster' ? NS : TARGET;
    for (const ct of ['text/plain', 'application/xml']) {
      http.push({ what: `PUT ${r.kind} as ${ct}`, method: 'PUT', path: itemPath(r, name), body: json(baseObject(r, name)), headers: { 'content-type': ct } });
    }
    for (const ct of ['application/json', 'text/plain', 'application/xml', '']) {
      http.push({ what: `PATCH ${r.kind} as ${ct || 'no content type'}`, method: 'PATCH', path: itemPath(r, name), body: '{}', headers: { 'content-type': ct } });
    }
    for (const ct of ['application/strategic-merge-patch+json', 'application/apply-patch+yaml']) {
      http.push({ what: `PATCH ${r.kind} as ${ct} with a list`, method: 'PATCH', path: itemPath(r, name), body: '[1]', headers: { 'content-type': ct } });
    }
    for (const [what, m, p] of [
      ['POST on an object', 'POST', itemPath(r, name)], ['PUT on the collection', 'PUT', collectionPath(r)], ['PATCH on the collection', 'PATCH', collectionPath(r)],
      ['POST on a watch path', 'POST', `${API}/watch/${r.namespaced ? `namespaces/${NS}/` : ''}${r.plural}`], ['DELETE on a watch path', 'DELETE', `${API}/watch/${r.namespaced ? `namespaces/${NS}/` : ''}${r.plural}`],
      ['DELETE on status', 'DELETE', `${itemPath(r, name)}/status`], ['POST on status', 'POST', `${itemPath(r, name)}/status`],
      ['TRACE', 'TRACE', itemPath(r, name)], ['OPTIONS', 'OPTIONS', collectionPath(r)], ['PROPFIND', 'PROPFIND', collectionPath(r)],
      ['GET of an unknown subresource', 'GET', `${itemPath(r, name)}/exec`], ['GET a path too deep', 'GET', `${itemPath(r, name)}/status/more`],
    ] as const) http.push({ what: `${r.kind}: ${what}`, method: m, path: p, body: m === 'GET' || m === 'TRACE' ? undefined : '{}', headers: { 'content-type': 'application/json' } });
    if (!r.namespaced) continue;
    http.push({ what: `${r.kind}: POST without a namespace`, method: 'POST', path: `${API}/${r.plural}`, body, headers: { 'content-type': 'application/json' } });
  }
  for (const [what, m] of [['POST', 'POST'], ['PUT', 'PUT'], ['DELETE', 'DELETE'], ['PATCH', 'PATCH']] as const) {
    http.push({ what: `${what} on the group version`, method: m, path: `${API}/`, body: '{}', headers: { 'content-type': 'application/json' } });
  }
  for (const [what, path] of [['unknown kind', `${API}/pods`], ['unknown group', '/apis/nope.dev/v1/things'], ['unknown version', '/apis/drover.dev/v9/containers'], ['namespaces of a cluster-scoped kind', `${API}/namespaces/${NS}/clusters`]] as const) {
    http.push({ what, method: 'GET', path });
    http.push({ what: `POST to ${what}`, method: 'POST', path, body: '{}', headers: { 'content-type': 'application/json' } });
  }
  for (const [enc2, bodyBytes] of [['gzip', Buffer.from('not gzip at all')], ['deflate', Buffer.from('not deflate')], ['br', Buffer.from('nope')], ['x-unknown', Buffer.from('{}')], ['gzip, gzip', Buffer.from('{}')]] as const) {
    http.push({ what: `Content-Encoding ${enc2}`, method: 'POST', path: collectionPath(container), body: bodyBytes, headers: { 'content-type': 'application/json', 'content-encoding': enc2 } });
  }
  http.push({ what: 'PUT on a kind without status: Event status', method: 'PUT', path: `${itemPath(rt('Event'), TARGET)}/status`, body: '{}', headers: { 'content-type': 'application/json' } });
  http.push({ what: 'scale of a kind without scale', method: 'GET', path: `${itemPath(container, TARGET)}/scale` });
  for (const [what, m, path] of [['GET join', 'GET', '/api/v1/join'], ['PUT join', 'PUT', '/api/v1/join'], ['DELETE a seed task list', 'DELETE', '/api/v1/tasks'], ['GET register', 'GET', '/api/v1/cluster/containers/register']] as const) {
    http.push({ what, method: m, path, body: m === 'GET' ? undefined : '{}', headers: { 'content-type': 'application/json' }, auth: what.includes('join') ? 'none' : 'admin' });
  }

  // 10. bad patches against each target
  for (const r of kinds) {
    const name = r.kind === 'Cluster' ? NS : TARGET;
    const merge = (what: string, body: string) => http.push({ what: `${r.kind} merge patch: ${what}`, method: 'PATCH', path: itemPath(r, name), body, headers: { 'content-type': 'application/merge-patch+json' } });
    const jp = (what: string, ops: Json) => http.push({ what: `${r.kind} json patch: ${what}`, method: 'PATCH', path: itemPath(r, name), body: typeof ops === 'string' ? ops : json(ops), headers: { 'content-type': 'application/json-patch+json' } });
    merge('an array', '[]');
    merge('a string', '"x"');
    merge('a number', '5');
    merge('null', 'null');
    merge('rename', json({ metadata: { name: 'other' } }));
    if (r.namespaced) merge('move namespace', json({ metadata: { namespace: 'other' } }));
    merge('change kind', json({ kind: 'Other' }));
    merge('change apiVersion', json({ apiVersion: 'drover.dev/v2' }));
    merge('metadata null', json({ metadata: null }));
    merge('metadata a string', json({ metadata: 'x' }));
    merge('labels a string', json({ metadata: { labels: 'x' } }));
    merge('label value a number', json({ metadata: { labels: { k: 5 } } }));
    merge('label key traversal', json({ metadata: { labels: { '../../x': 'v' } } }));
    merge('unknown top-level field', json({ surprise: 1 }));
    if (r.kind !== 'Event') {
      merge('spec a string', json({ spec: 'x' }));
      merge('unknown spec field', json({ spec: { surprise: 1 } }));
    }
    if (['Container', 'AgentDeployment', 'Agent', 'Task'].includes(r.kind)) merge('remove the required spec', json({ spec: null }));
    jp('an object instead of a list', '{}');
    jp('a list of strings', ['add']);
    jp('an empty operation', [{}]);
    jp('an unknown op', [{ op: 'bogus', path: '/metadata/labels' }]);
    jp('op without path', [{ op: 'add', value: 1 }]);
    jp('path a number', [{ op: 'add', path: 5, value: 1 }]);
    jp('path without a leading slash', [{ op: 'add', path: 'metadata/labels', value: {} }]);
    jp('path with .. segments', [{ op: 'add', path: '/metadata/../metadata/labels/x', value: 'y' }]);
    jp('add without value', [{ op: 'add', path: '/metadata/labels' }]);
    jp('add under a missing parent', [{ op: 'add', path: '/metadata/nope/deeper', value: 1 }]);
    jp('remove a missing field', [{ op: 'remove', path: '/metadata/nope' }]);
    jp('replace a missing field', [{ op: 'replace', path: '/nope', value: 1 }]);
    jp('remove the whole document', [{ op: 'remove', path: '' }]);
    jp('replace the document with a number', [{ op: 'replace', path: '', value: 5 }]);
    jp('failing test', [{ op: 'test', path: '/metadata/name', value: 'other' }]);
    jp('move from a missing field', [{ op: 'move', from: '/nope', path: '/metadata/x' }]);
    jp('move into its own child', [{ op: 'move', from: '/metadata', path: '/metadata/x' }]);
    jp('copy without from', [{ op: 'copy', path: '/metadata/x' }]);
    jp('rename through replace', [{ op: 'replace', path: '/metadata/name', value: 'other' }]);
    jp('array index out of bounds', [{ op: 'add', path: '/metadata/finalizers', value: [] }, { op: 'add', path: '/metadata/finalizers/5', value: 'x' }]);
    jp('negative array index', [{ op: 'add', path: '/metadata/finalizers', value: ['a'] }, { op: 'replace', path: '/metadata/finalizers/-1', value: 'x' }]);
    jp('leading-zero array index', [{ op: 'add', path: '/metadata/finalizers', value: ['a'] }, { op: 'replace', path: '/metadata/finalizers/01', value: 'x' }]);
    jp('a label key with an unescaped ~', [{ op: 'add', path: '/metadata/labels', value: {} }, { op: 'add', path: '/metadata/labels/a~2b', value: 'x' }]);
    jp('__proto__', [{ op: 'add', path: '/metadata/__proto__', value: { polluted: true } }]);
    jp('60k failing tests', Array.from({ length: 60_000 }, () => ({ op: 'test', path: '/kind', value: 'Nope' })));
    // each copy doubles the annotations: refused before it can exhaust memory
    jp('a doubling copy bomb', [
      { op: 'add', path: '/metadata/annotations', value: { a: 'x'.repeat(1000) } },
      ...Array.from({ length: 40 }, (_, i) => ({ op: 'copy', from: '/metadata/annotations', path: `/metadata/annotations/${'b'.repeat(i + 1)}` })),
    ]);
    jp('a nesting copy bomb', [
      { op: 'add', path: '/metadata/annotations', value: {} },
      ...Array.from({ length: 200 }, () => ({ op: 'copy', from: '/metadata/annotations', path: '/metadata/annotations/a' })),
    ]);
  }
  // wrong values for spec fields as merge patches of the Container target
  const containerSpec = ((container.schema.properties ?? {}) as Record<string, SchemaNode>).spec;
  for (const f of fieldsOf(containerSpec)) {
    const v = pick(wrongValues(f.node));
    if (v === undefined) continue;
    const patch: Obj = {};
    setAt(patch, [{ prop: 'spec' }, ...f.segs], v);
    http.push({ what: `Container merge patch spec.${pathText(f.segs)} = ${describe(v)}`, method: 'PATCH', path: itemPath(container, TARGET), body: json(patch), headers: { 'content-type': 'application/merge-patch+json' } });
  }
  // the scale subresource
  for (const [what, body] of [
    ['without replicas', json({ spec: {} })], ['an array', '[]'], ['replicas -1', json({ spec: { replicas: -1 } })], ['replicas a string', json({ spec: { replicas: '3' } })],
    ['replicas 1.5', json({ spec: { replicas: 1.5 } })], ['replicas 1e9', json({ spec: { replicas: 1e9 } })], ['replicas 1e308', json({ spec: { replicas: 1e308 } })],
    ['kind Other', json({ kind: 'Other', spec: { replicas: 1 } })], ['spec a string', json({ spec: 'x' })],
  ] as const) {
    http.push({ what: `scale PUT ${what}`, method: 'PUT', path: `${itemPath(ad, TARGET)}/scale`, body, headers: { 'content-type': 'application/json' } });
    if (what !== 'without replicas') http.push({ what: `scale merge patch ${what}`, method: 'PATCH', path: `${itemPath(ad, TARGET)}/scale`, body, headers: { 'content-type': 'application/merge-patch+json' } });
  }

  // 11. bad query parameters
  const listPaths = kinds.map((r) => collectionPath(r));
  const q = (what: string, query: string, method = 'GET', path?: string) => {
    for (const p of path ? [path] : listPaths) http.push({ what: `${what} (${method} ${p.slice(API.length + 1)})`, method, path: `${p}?${query}` });
  };
  for (const sel of ['a in (', 'a=(b', '=', 'a==b==c', 'a,', ',a', 'a in ()', 'a notin (b', 'a b', '%00', 'key!=!', '-a=b', 'a=b=c', `${'k'.repeat(400)}=b`,
    `a=${'x'.repeat(100)}`, 'a in (b c)', '(a)', 'a=b)', 'A/B/C=d', 'a=b,,c=d', 'a>=', 'a<', '!!a', 'a in (b,', encodeURIComponent('a in (é)'), encodeURIComponent('../x=y')]) {
    q(`labelSelector ${describe(sel)}`, `labelSelector=${sel.includes('%') ? sel : encodeURIComponent(sel)}`);
  }
  for (const sel of ['metadata.name===', '=x', 'metadata.name', 'metadata.name~x', 'a..b=c', '.a=b', 'metadata.name=a\\', 'metadata.name=a\\x', 'x=y,', ',x=y', 'metadata.name!==a', 'metadata.name in (a)', '!metadata.name']) {
    q(`fieldSelector ${describe(sel)}`, `fieldSelector=${encodeURIComponent(sel)}`);
  }
  for (const limit of ['-1', 'abc', '1.5', '0x10', '1e3', '1e20', '99999999999999999999', '+5', '1,2', 'NaN', 'Infinity', '%20', '-0']) q(`limit ${limit}`, `limit=${encodeURIComponent(limit)}`);
  const b64 = (v: Json) => Buffer.from(json(v)).toString('base64url');
  for (const cont of ['abc', '!!!', b64({ v: 2, rev: 1, ns: '', name: 'a' }), b64({ v: 1, rev: 'x', ns: '', name: 'a' }), b64({ v: 1, rev: 1, ns: 5, name: 'a' }), b64([1]), 'x'.repeat(1000), '%00', b64('string')]) {
    q(`continue ${describe(cont)}`, `continue=${cont.startsWith('%') ? cont : encodeURIComponent(cont)}`);
  }
  for (const rv of ['abc', '-1', '1.5', '0x1', ' 1', '1e5', 'NaN', '1-2']) {
    q(`resourceVersion ${describe(rv)}`, `resourceVersion=${encodeURIComponent(rv)}`);
    q(`watch from resourceVersion ${describe(rv)}`, `watch=true&resourceVersion=${encodeURIComponent(rv)}`, 'GET', collectionPath(container));
  }
  for (const t of ['-1', 'abc', 'NaN', 'Infinity', '1e5', '5s', '-0.5', '0x10']) q(`watch timeoutSeconds ${t}`, `watch=true&timeoutSeconds=${encodeURIComponent(t)}`, 'GET', collectionPath(container));
  for (const d of ['x', 'all', 'true', 'None', '']) {
    if (d === '') continue;
    http.push({ what: `create with dryRun=${d}`, method: 'POST', path: `${collectionPath(container)}?dryRun=${d}`, body: json(baseObject(container, badName())), headers: { 'content-type': 'application/json' } });
    http.push({ what: `delete with dryRun=${d}`, method: 'DELETE', path: `${itemPath(container, badName())}?dryRun=${d}` });
  }
  for (const pp of ['x', 'background', '', 'Orphan,Background']) {
    http.push({ what: `delete with propagationPolicy ${describe(pp)}`, method: 'DELETE', path: `${itemPath(container, badName())}?propagationPolicy=${encodeURIComponent(pp)}` });
  }
  for (const [what, body] of [['a string', '"x"'], ['an array', '[]'], ['bad policy', json({ propagationPolicy: 'Sideways' })], ['not JSON', '{']] as const) {
    http.push({ what: `delete with DeleteOptions ${what}`, method: 'DELETE', path: itemPath(container, badName()), body, headers: { 'content-type': 'application/json' } });
  }
  http.push({ what: 'deletecollection with a bad labelSelector', method: 'DELETE', path: `${collectionPath(container)}?labelSelector=${encodeURIComponent('a in (')}` });
  http.push({ what: 'deletecollection with a bad fieldSelector', method: 'DELETE', path: `${collectionPath(container)}?fieldSelector=${encodeURIComponent('=x')}` });
  for (const [what, path] of [
    ['log tailLines -1', `${itemPath(container, TARGET)}/log?tailLines=-1`], ['log tailLines abc', `${itemPath(container, TARGET)}/log?tailLines=abc`],
    ['log limitBytes 0', `${itemPath(container, TARGET)}/log?limitBytes=0`], ['log limitBytes 1.5', `${itemPath(container, TARGET)}/log?limitBytes=1.5`],
  ] as const) http.push({ what, method: 'GET', path });

  // 12. authentication, and the seed and join APIs with bad bodies
  for (const auth of ['none', 'wrong', 'basic'] as const) {
    for (const r of kinds) {
      http.push({ what: `${r.kind} create with auth ${auth}`, method: 'POST', path: collectionPath(r), body: json(baseObject(r, badName())), headers: { 'content-type': 'application/json' }, auth });
      http.push({ what: `${r.kind} list with auth ${auth}`, method: 'GET', path: collectionPath(r), auth });
    }
    http.push({ what: `seed tasks with auth ${auth}`, method: 'GET', path: '/api/v1/tasks', auth });
  }
  for (const [what, body, ct] of [
    ['an array', '[]', 'application/json'], ['a string', '"x"', 'application/json'], ['token a number', json({ token: 5, nodeName: 'n' }), 'application/json'],
    ['no nodeName', json({ token: 'drvj_x' }), 'application/json'], ['labels a string', json({ token: 'drvj_x', nodeName: 'n', labels: 'x' }), 'application/json'],
    ['label value invalid', json({ token: 'drvj_x', nodeName: 'n', labels: { k: 'bad value!' } }), 'application/json'], ['unknown token', json({ token: 'drvj_nope', nodeName: 'n' }), 'application/json'],
    ['truncated', '{"token":"drvj_x","nodeN', 'application/json'], ['text/plain', json({ token: 'drvj_x', nodeName: 'n' }), 'text/plain'], ['YAML', 'token: x\nnodeName: n\n', 'application/yaml'],
    ['empty', '', 'application/json'],
  ] as const) http.push({ what: `join with ${what}`, method: 'POST', path: '/api/v1/join', body, headers: { 'content-type': ct }, auth: 'none' });
  for (const [what, path, body] of [
    ['register an array', `/api/v1/cluster/containers/register?namespace=${NS}`, '[]'],
    ['register name a number', `/api/v1/cluster/containers/register?namespace=${NS}`, json({ name: 5 })],
    ['register capabilities a string', `/api/v1/cluster/containers/register?namespace=${NS}`, json({ name: `${BAD_PREFIX}reg`, capabilities: 'gpu' })],
    ['register capacity an array', `/api/v1/cluster/containers/register?namespace=${NS}`, json({ name: `${BAD_PREFIX}reg`, capacity: [1] })],
    ['register capacity invalid', `/api/v1/cluster/containers/register?namespace=${NS}`, json({ name: `${BAD_PREFIX}reg`, capacity: { agents: -1 } })],
    ['register invalid JSON', `/api/v1/cluster/containers/register?namespace=${NS}`, '{"name":'],
    ['deploy without agent_type', `/api/v1/cluster/deploy/agent?namespace=${NS}`, '{}'],
    ['deploy replicas -1', `/api/v1/cluster/deploy/agent?namespace=${NS}`, json({ agent_type: 'x', replicas: -1 })],
    ['deploy replicas 1e308', `/api/v1/cluster/deploy/agent?namespace=${NS}`, json({ agent_type: 'x', replicas: 1e308 })],
    ['deploy replicas a string', `/api/v1/cluster/deploy/agent?namespace=${NS}`, json({ agent_type: 'x', replicas: '2' })],
    ['deploy strategy unknown', `/api/v1/cluster/deploy/agent?namespace=${NS}`, json({ agent_type: 'x', placement_strategy: 'random' })],
    ['deploy command a string', `/api/v1/cluster/deploy/agent?namespace=${NS}`, json({ agent_type: 'x', command: 'ls' })],
    ['deploy config an array', `/api/v1/cluster/deploy/agent?namespace=${NS}`, json({ agent_type: 'x', agent_config: [1] })],
    ['deploy agent_type too long', `/api/v1/cluster/deploy/agent?namespace=${NS}`, json({ agent_type: 'x'.repeat(64) })],
    ['migrate to a number', `/api/v1/cluster/agents/${TARGET}/migrate?namespace=${NS}`, json({ to: 5 })],
    ['migrate to a missing container', `/api/v1/cluster/agents/${TARGET}/migrate?namespace=${NS}`, json({ to: `${BAD_PREFIX}none` })],
    ['migrate an array', `/api/v1/cluster/agents/${TARGET}/migrate?namespace=${NS}`, '[]'],
    ['retry a missing task', `/api/v1/tasks/${BAD_PREFIX}none/retry?namespace=${NS}`, '{}'],
    ['cancel a missing task', `/api/v1/tasks/${BAD_PREFIX}none/cancel?namespace=${NS}`, '{}'],
    ['rebalance of a missing cluster', `/api/v1/clusters/${BAD_PREFIX}none/rebalance?dryRun=true`, '{}'],
  ] as const) http.push({ what: `seed: ${what}`, method: 'POST', path, body, headers: { 'content-type': 'application/json' } });
  for (const [what, body] of [
    ['state missing', '{}'], ['state unknown', json({ state: 'Exploded' })], ['state Pending', json({ state: 'Pending' })], ['message a number', json({ state: 'Running', message: 5 })],
    ['result an array', json({ state: 'Completed', result: [1] })], ['an array', '[]'], ['invalid JSON', '{"state":'],
  ] as const) http.push({ what: `seed task status: ${what}`, method: 'PUT', path: `/api/v1/tasks/${TARGET}/status?namespace=${NS}`, body, headers: { 'content-type': 'application/json' } });

  // API tokens and join tokens
  const deep100 = nestedObjectText(100);
  for (const [what, body, ct] of [
    ['an array', '[]', 'application/json'], ['a string', '"x"', 'application/json'], ['an unknown role', json({ role: 'god' }), 'application/json'],
    ['role a number', json({ role: 5 }), 'application/json'], ['ttl not a duration', json({ role: 'viewer', ttl: 'forever' }), 'application/json'],
    ['a name with ..', json({ role: 'viewer', name: '../x' }), 'application/json'], ['a missing cluster', json({ role: 'viewer', cluster: `${BAD_PREFIX}none` }), 'application/json'],
    ['a 2000-character description', json({ role: 'viewer', description: 'd'.repeat(2000) }), 'application/json'],
    ['nested 100 levels', `{"role":"viewer","x":${deep100}}`, 'application/json'], ['truncated', '{"role":"vie', 'application/json'],
    ['text/plain', json({ role: 'viewer' }), 'text/plain'], ['a body of 100 KiB', json({ role: 'viewer', description: 'd'.repeat(100 * 1024) }), 'application/json'],
  ] as const) http.push({ what: `API token with ${what}`, method: 'POST', path: '/api/v1/tokens', body, headers: { 'content-type': ct } });
  http.push({ what: 'revoke an API token named ../x', method: 'DELETE', path: '/api/v1/tokens/..%2Fx' });
  for (const [what, body] of [
    ['an array', '[]'], ['ttl not a duration', json({ ttl: 'soon' })], ['maxUses 0', json({ maxUses: 0 })], ['maxUses a string', json({ maxUses: '1' })],
    ['maxUses 1.5', json({ maxUses: 1.5 })], ['description a number', json({ description: 5 })], ['nested 100 levels', `{"x":${deep100}}`], ['truncated', '{"ttl":'],
  ] as const) http.push({ what: `join token with ${what}`, method: 'POST', path: `/api/v1/clusters/${NS}/join-tokens`, body, headers: { 'content-type': 'application/json' } });
  http.push({ what: 'join tokens of cluster ../x', method: 'GET', path: '/api/v1/clusters/..%2Fx/join-tokens' });
  http.push({ what: 'revoke join token ../x', method: 'DELETE', path: `/api/v1/clusters/${NS}/join-tokens/..%2Fx` });

  // 13. bodies over the limits: 3 MiB for objects, 64 KiB for join, 1 MiB for the seed API and log pushes
  const over = (bytes: number) => `{"x":"${'x'.repeat(bytes)}"}`;
  post('Container body of 4 MiB', container, over(4 * 1024 * 1024));
  http.push({ what: 'PUT body of 4 MiB', method: 'PUT', path: itemPath(container, TARGET), body: over(4 * 1024 * 1024), headers: { 'content-type': 'application/json' } });
  http.push({ what: 'PATCH body of 4 MiB', method: 'PATCH', path: itemPath(container, TARGET), body: over(4 * 1024 * 1024), headers: { 'content-type': 'application/merge-patch+json' } });
  http.push({ what: 'status body of 4 MiB', method: 'PUT', path: `${itemPath(container, TARGET)}/status`, body: over(4 * 1024 * 1024), headers: { 'content-type': 'application/json' } });
  http.push({ what: 'join body of 100 KiB', method: 'POST', path: '/api/v1/join', body: over(100 * 1024), headers: { 'content-type': 'application/json' }, auth: 'none' });
  http.push({ what: 'seed register body of 2 MiB', method: 'POST', path: `/api/v1/cluster/containers/register?namespace=${NS}`, body: over(2 * 1024 * 1024), headers: { 'content-type': 'application/json' } });
  http.push({ what: 'seed task status body of 2 MiB', method: 'PUT', path: `/api/v1/tasks/${TARGET}/status?namespace=${NS}`, body: over(2 * 1024 * 1024), headers: { 'content-type': 'application/json' } });
  http.push({ what: 'log push of 2 MiB', method: 'POST', path: `${itemPath(container, TARGET)}/log`, body: 'x'.repeat(2 * 1024 * 1024), headers: { 'content-type': 'text/plain' } });
  http.push({ what: 'gzip body inflating past the limit', method: 'POST', path: collectionPath(container), body: gzipSync(Buffer.from(over(8 * 1024 * 1024))), headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } });

  // 14. malformed HTTP itself (raw sockets)
  const req = (line: string, headers: string[] = [], body = '') => `${line}\r\n${['Host: localhost', 'Authorization: Bearer {{TOKEN}}', ...headers].join('\r\n')}\r\n\r\n${body}`;
  raw.push({ what: 'garbage request line', data: 'HELLO WORLD\r\n\r\n' });
  raw.push({ what: 'HTTP/9.9', data: req(`GET ${API}/clusters HTTP/9.9`) });
  raw.push({ what: 'a header line without a colon', data: req(`GET ${API}/clusters HTTP/1.1`, ['NoColonHere']) });
  raw.push({ what: 'a NUL in a header', data: req(`GET ${API}/clusters HTTP/1.1`, ['X-Bad: a\u0000b']) });
  raw.push({ what: 'headers of 100 KiB', data: req(`GET ${API}/clusters HTTP/1.1`, [`X-Big: ${'x'.repeat(100 * 1024)}`]) });
  raw.push({ what: 'a 20 KiB URL of a header block', data: req(`GET ${API}/clusters?${'a'.repeat(20 * 1024)} HTTP/1.1`, Array.from({ length: 50 }, (_, i) => `X-H${i}: ${'y'.repeat(400)}`)) });
  raw.push({ what: 'bad chunked encoding', data: req(`POST ${collectionPath(container)} HTTP/1.1`, ['Transfer-Encoding: chunked', 'Content-Type: application/json'], 'zz\r\n{}\r\n0\r\n\r\n') });
  raw.push({ what: 'Content-Length and chunked both', data: req(`POST ${collectionPath(container)} HTTP/1.1`, ['Transfer-Encoding: chunked', 'Content-Length: 5', 'Content-Type: application/json'], '2\r\n{}\r\n0\r\n\r\n') });
  raw.push({ what: 'two Content-Lengths', data: req(`POST ${collectionPath(container)} HTTP/1.1`, ['Content-Length: 2', 'Content-Length: 3', 'Content-Type: application/json'], '{}') });
  raw.push({ what: 'negative Content-Length', data: req(`POST ${collectionPath(container)} HTTP/1.1`, ['Content-Length: -5', 'Content-Type: application/json'], '{}') });
  raw.push({ what: 'space in the request target', data: req(`GET ${API}/clus ters HTTP/1.1`) });
  raw.push({ what: 'a body shorter than its Content-Length', data: req(`POST ${collectionPath(container)} HTTP/1.1`, ['Content-Length: 1000', 'Content-Type: application/json'], '{"kind":"Con'), end: true });
  raw.push({ what: 'a chunked body without its last chunk', data: req(`POST ${collectionPath(container)} HTTP/1.1`, ['Transfer-Encoding: chunked', 'Content-Type: application/json'], '5\r\n{"kin\r\n'), end: true });
  raw.push({ what: 'headers cut short', data: `POST ${collectionPath(container)} HTTP/1.1\r\nHost: x\r\nContent-Le`, end: true });
  raw.push({ what: 'an obsolete line folding header', data: req(`GET ${API}/clusters HTTP/1.1`, ['X-A: a', ' folded']) });
  return { http, raw };
}

export function describe(v: Json): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v);
  if (Array.isArray(v) && v.length > 3) return `[${v.length} items]`;
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
