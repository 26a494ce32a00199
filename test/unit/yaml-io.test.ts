import { describe, it, expect } from '@jest/globals';
import { parse } from 'yaml';
import { ManifestError, formatCause, parseManifests, toYaml, toYamlStream } from '../../core/yaml-io.ts';
import { loadRegistry } from '../../core/crds.ts';
import { createValidator } from '../../core/validation.ts';

const TWO_DOCS = `# a cluster and a container
apiVersion: drover.dev/v1alpha1
kind: Cluster
metadata: {name: demo}
---
apiVersion: drover.dev/v1alpha1
kind: Container
metadata:
  name: web
  namespace: demo
spec:
  image: nginx
  ports:
  - containerPort: 80
  - containerPort: 70000
    hostPort: 8080
  resources: {requests: {cpu: 1.2.3Gi}}
`;

const thrown = (fn: () => unknown): ManifestError => {
  try { fn(); } catch (e) { return e as ManifestError; }
  throw new Error('expected a ManifestError');
};

describe('parseManifests', () => {
  it('returns each document with its start line and index', () => {
    const docs = parseManifests(TWO_DOCS, 'app.yaml');
    expect(docs.map((d) => [d.object.kind, d.index, d.line, d.file])).toEqual([['Cluster', 0, 2, 'app.yaml'], ['Container', 1, 6, 'app.yaml']]);
  });

  it.each([
    ['spec.ports[1].containerPort', 15, 20],
    ['spec.ports[1].hostPort', 16, 15],
    ['spec.resources.requests.cpu', 17, 31],
    ['spec.ports', 13, 3],
    ['metadata.name', 9, 9],
    ['spec.ports[1].missing', 15, 5],
    ['spec.nodeSelector[zone]', 11, 1],
    ['', 6, 1],
  ])('locates %p in the 2nd document at %i:%i', (field, line, column) => {
    expect(parseManifests(TWO_DOCS, 'app.yaml')[1].locate(field)).toEqual({ line, column });
  });

  it('formats validation causes as file:line:col: field: message', () => {
    const registry = loadRegistry();
    const [, doc] = parseManifests(TWO_DOCS, 'app.yaml');
    const { causes } = createValidator(registry).check(registry.resolve('Container')!, doc.object);
    expect(causes.map((c) => formatCause(doc, c)).sort()).toEqual([
      'app.yaml:15:20: spec.ports[1].containerPort: Invalid value: 70000: must be less than or equal to 65535',
      'app.yaml:17:31: spec.resources.requests.cpu: Invalid value: "1.2.3Gi": must be a quantity such as 500m, 2, 256Mi or 1Gi',
    ]);
  });

  it('skips empty documents and comments-only documents', () => {
    const docs = parseManifests('---\n# nothing\n---\n\n---\napiVersion: v1\nkind: X\n---\n', 'f.yaml');
    expect(docs.map((d) => [d.object.kind, d.line])).toEqual([['X', 6]]);
  });

  it('expands kind: List into its items, each locating within itself', () => {
    const text = 'apiVersion: v1\nkind: List\nitems:\n- apiVersion: drover.dev/v1alpha1\n  kind: Cluster\n  metadata: {name: a}\n- apiVersion: drover.dev/v1alpha1\n  kind: Cluster\n  metadata: {name: b}\n  spec: {bogus: 1}\n';
    const docs = parseManifests(text, 'list.yaml');
    expect(docs.map((d) => [d.object.metadata.name, d.index, d.line])).toEqual([['a', 0, 4], ['b', 1, 7]]);
    expect(docs[1].locate('spec.bogus')).toEqual({ line: 10, column: 17 });
  });

  it.each([
    ['a YAML syntax error', 'apiVersion: v1\nkind: X\nmetadata: [unclosed\n', /^bad\.yaml:4:1: YAML syntax error: /, 4],
    ['bad indentation', 'apiVersion: v1\nkind: X\nspec:\n  a: 1\n   b: 2\n', /^bad\.yaml:4:6: YAML syntax error/, 4],
    ['a duplicate key', 'apiVersion: v1\nkind: X\nkind: Y\n', /^bad\.yaml:3:1: YAML syntax error: Map keys must be unique/, 3],
    ['a non-mapping document', 'apiVersion: v1\nkind: X\n---\n- a\n- b\n', /^bad\.yaml:4:1: a manifest must be a mapping/, 4],
    ['a scalar document', 'just text\n', /^bad\.yaml:1:1: a manifest must be a mapping/, 1],
    ['a missing kind', 'apiVersion: v1\nmetadata: {name: x}\n', /^bad\.yaml:1:1: kind: Required value/, 1],
    ['a missing apiVersion in a List item', 'apiVersion: v1\nkind: List\nitems:\n- kind: Cluster\n', /^bad\.yaml:4:3: items\[0\]\.apiVersion: Required value/, 4],
  ])('rejects %s naming file:line', (_what, text, message, line) => {
    const err = thrown(() => parseManifests(text, 'bad.yaml'));
    expect(err).toBeInstanceOf(ManifestError);
    expect(err.message).toMatch(message);
    expect([err.file, err.line]).toEqual(['bad.yaml', line]);
  });

  it('rejects an alias bomb instead of expanding it', () => {
    const lines = ['apiVersion: v1', 'kind: X', 'a0: &a0 [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
    const started = Date.now();
    const err = thrown(() => parseManifests(lines.join('\n'), 'bomb.yaml'));
    // pointed at the first alias: line 4 (`a1: &a1 [*a0, ...`), column 10
    expect(err.message).toMatch(/^bomb\.yaml:4:10: cannot load document: .*alias/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it.each([
    ['block mappings', () => `apiVersion: v1\nkind: X\n${Array.from({ length: 70 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')} v\n`, /^deep\.yaml:66:64: the document nests deeper than the limit of 64 levels \(at .*k62\.k63\)/],
    ['flow sequences', () => `apiVersion: v1\nkind: X\na: ${'['.repeat(100)}${']'.repeat(100)}\n`, /^deep\.yaml:3:\d+: the document nests deeper than the limit of 64 levels/],
    ['absurd flow nesting', () => `apiVersion: v1\nkind: X\na: ${'['.repeat(100_000)}\n`, /^deep\.yaml:3:\d+: the document nests deeper than the limit of 64 levels/],
    ['a recursive alias', () => 'apiVersion: v1\nkind: X\na: &a [*a]\n', /^deep\.yaml:3:\d+: the document nests deeper than the limit of 64 levels/],
  ])('rejects %s nested past 64 levels naming file:line', (_what, text, message) => {
    const err = thrown(() => parseManifests(text(), 'deep.yaml'));
    expect(err).toBeInstanceOf(ManifestError);
    expect(err.message).toMatch(message);
  });

  it('allows 60 levels of nesting', () => {
    const [doc] = parseManifests(`apiVersion: v1\nkind: X\na: ${'['.repeat(59)}${']'.repeat(59)}\n`, 'ok.yaml');
    expect(doc.object.kind).toBe('X');
  });

  it('allows a few ordinary aliases', () => {
    const [doc] = parseManifests('apiVersion: v1\nkind: X\na: &env [{name: A, value: b}]\nb: *env\n', 'ok.yaml');
    expect(doc.object.b).toEqual([{ name: 'A', value: 'b' }]);
  });

  it('rejects files over 5 MiB before parsing', () => {
    const big = `apiVersion: v1\nkind: X\ndata: "${'x'.repeat(5 * 1024 * 1024)}"\n`;
    expect(thrown(() => parseManifests(big, 'big.yaml')).message).toMatch(/^big\.yaml:1:1: file is \d+ bytes; manifests are limited to 5242880 bytes \(5 MiB\)/);
  });
});

describe('toYaml', () => {
  it('writes kubectl-style YAML that reads back the same', () => {
    const shared = { a: 1 };
    const obj = { apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name: 'x' }, spec: { command: ['sh', '-c', 'exec sleep infinity'], env: [shared, shared], long: 'y'.repeat(200) } };
    const text = toYaml(obj);
    expect(text).toContain('command:\n  - sh');
    expect(text).not.toMatch(/[&*]a/);
    expect(text.split('\n').some((l) => l.length > 200)).toBe(true); // not folded
    expect(parse(text)).toEqual(obj);
  });

  it('joins a stream with document markers', () => {
    expect(toYamlStream([{ a: 1 }, { b: 2 }])).toBe('a: 1\n---\nb: 2\n');
  });
});
