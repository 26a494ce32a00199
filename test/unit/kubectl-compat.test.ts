// What kubectl and client-go ask of the API beyond plain CRUD, against the in-process server: Table and
// partial-metadata renderings (also on watch), aggregated discovery, OpenAPI v3, the core v1 Namespace and
// Event views, fieldValidation, strategic merge patch, server-side apply with managedFields and conflicts.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { printerColumns } from '../../core/printer.ts';
import { loadRegistry } from '../../core/crds.ts';
import { applyConflict, fieldPaths, fromFieldsV1, recordUpdate, toFieldsV1 } from '../../api/managed-fields.ts';
import type { ManagedFieldsEntry } from '../../api/managed-fields.ts';
import type { KubeObject } from '../../core/types.ts';
import { BASE, TOKENS, agentDeployment, cluster, startApi } from './api-harness.ts';
import type { Harness } from './api-harness.ts';

const NS = `${BASE}/namespaces/demo`;
const AD = `${NS}/agentdeployments`;
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const APPLY = 'application/apply-patch+yaml';

let h: Harness;

async function req(method: string, path: string, opts: { body?: string; contentType?: string; accept?: string; token?: string } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${opts.token ?? TOKENS.admin}` };
  if (opts.accept) headers.accept = opts.accept;
  if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  const res = await fetch(h.url + path, { method, headers, body: opts.body });
  const text = await res.text();
  let body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body };
}

const apply = (name: string, obj: unknown, query = 'fieldManager=kubectl') =>
  req('PATCH', `${AD}/${name}?${query}`, { body: JSON.stringify(obj), contentType: APPLY });

function applied(name: string, spec: Record<string, unknown>, labels?: Record<string, string>) {
  return { apiVersion: 'drover.dev/v1alpha1', kind: 'AgentDeployment', metadata: { name, ...(labels ? { labels } : {}) }, spec };
}

beforeAll(async () => {
  h = await startApi();
  expect((await h.call('POST', `${BASE}/clusters`, cluster('demo'))).status).toBe(201);
});

afterAll(async () => {
  await h.close();
});

describe('Table responses (kubectl get)', () => {
  it('lists as a meta.k8s.io/v1 Table with the columns drover get prints, every priority, and metadata per row', async () => {
    await h.call('POST', AD, agentDeployment('tabled', { replicas: 3, labels: { team: 'quant' } }));
    const r = await req('GET', AD, { accept: TABLE });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: expect.any(String) } });
    const rt = loadRegistry().resolve('AgentDeployment')!;
    expect(r.body.columnDefinitions.map((c: { name: string }) => c.name)).toEqual(printerColumns(rt, { wide: true }).map((c) => c.name));
    expect(r.body.columnDefinitions[0]).toMatchObject({ name: 'Name', format: 'name', priority: 0 });
    expect(r.body.columnDefinitions.some((c: { priority: number }) => c.priority > 0)).toBe(true);
    const row = r.body.rows.find((x: { cells: string[] }) => x.cells[0] === 'tabled');
    expect(row.cells[1]).toBe('3'); // DESIRED
    expect(row.object).toMatchObject({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'tabled', namespace: 'demo', labels: { team: 'quant' } } });
  });

  it('renders one object as a one-row Table, honours includeObject, and answers plain JSON without the Accept', async () => {
    const one = await req('GET', `${AD}/tabled?includeObject=Object`, { accept: TABLE });
    expect(one.body.rows).toHaveLength(1);
    expect(one.body.rows[0].object.spec.replicas).toBe(3);
    const none = await req('GET', `${AD}/tabled?includeObject=None`, { accept: TABLE });
    expect(none.body.rows[0].object).toBeUndefined();
    const plain = await req('GET', `${AD}/tabled`, { accept: 'application/vnd.kubernetes.protobuf,application/json' });
    expect(plain.body.kind).toBe('AgentDeployment');
  });

  it('answers PartialObjectMetadataList when asked (garbage collectors, kubectl get -o name)', async () => {
    const r = await req('GET', AD, { accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io' });
    expect(r.body.kind).toBe('PartialObjectMetadataList');
    expect(r.body.items[0]).toEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: expect.objectContaining({ namespace: 'demo' }) });
  });

  it('streams watch events as one-row Tables (kubectl get -w)', async () => {
    const ac = new AbortController();
    const res = await fetch(`${h.url}${AD}?watch=true&fieldSelector=metadata.name=tabled`, { headers: { authorization: `Bearer ${TOKENS.admin}`, accept: TABLE }, signal: ac.signal });
    const reader = res.body!.getReader();
    let buf = '';
    const next = async () => {
      while (!buf.includes('\n')) buf += new TextDecoder().decode((await reader.read()).value);
      const line = buf.slice(0, buf.indexOf('\n'));
      buf = buf.slice(buf.indexOf('\n') + 1);
      return JSON.parse(line);
    };
    const added = await next();
    expect(added.type).toBe('ADDED');
    expect(added.object).toMatchObject({ kind: 'Table', rows: [{ cells: expect.arrayContaining(['tabled']) }] });
    await h.call('PATCH', `${AD}/tabled`, { spec: { replicas: 7 } });
    const modified = await next();
    expect(modified.type).toBe('MODIFIED');
    expect(modified.object.rows[0].cells.slice(0, 2)).toEqual(['tabled', '7']);
    ac.abort();
  });
});

describe('discovery and OpenAPI', () => {
  it('serves aggregated discovery (apidiscovery.k8s.io/v2) on /apis and /api when asked, plain documents otherwise', async () => {
    const accept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
    const apis = await req('GET', '/apis', { accept });
    expect(apis.headers.get('content-type')).toBe('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    expect(apis.body.kind).toBe('APIGroupDiscoveryList');
    const resources = apis.body.items[0].versions[0].resources;
    const ads = resources.find((r: { resource: string }) => r.resource === 'agentdeployments');
    expect(ads).toMatchObject({
      responseKind: { group: 'drover.dev', version: 'v1alpha1', kind: 'AgentDeployment' }, scope: 'Namespaced', singularResource: 'agentdeployment',
      categories: expect.arrayContaining(['all', 'drover']),
    });
    expect(ads.subresources.map((s: { subresource: string }) => s.subresource)).toEqual(['status', 'scale']);
    const core = await req('GET', '/api', { accept });
    expect(core.body.items[0].versions[0].resources.map((r: { resource: string }) => r.resource)).toEqual(['events', 'namespaces']);
    expect((await req('GET', '/apis')).body.kind).toBe('APIGroupList');
    expect((await req('GET', '/api/v1')).body.resources.map((r: { name: string }) => r.name)).toEqual(['events', 'namespaces']);
  });

  it('publishes OpenAPI v3 from the CRDs: PATCH takes fieldValidation and merge/JSON/apply patches (no strategic merge)', async () => {
    const index = await req('GET', '/openapi/v3');
    const url = index.body.paths['apis/drover.dev/v1alpha1'].serverRelativeURL;
    expect(url).toMatch(/^\/openapi\/v3\/apis\/drover\.dev\/v1alpha1\?hash=[0-9A-F]+$/);
    const doc = (await req('GET', url)).body;
    const item = doc.paths['/apis/drover.dev/v1alpha1/namespaces/{namespace}/containers/{name}'];
    expect(item.patch['x-kubernetes-group-version-kind']).toEqual({ group: 'drover.dev', version: 'v1alpha1', kind: 'Container' });
    expect(item.patch.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['fieldValidation', 'fieldManager', 'force', 'dryRun']));
    expect(Object.keys(item.patch.requestBody.content)).toEqual(['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml']);
    const schema = doc.components.schemas['dev.drover.v1alpha1.Container'];
    expect(schema['x-kubernetes-group-version-kind']).toEqual([{ group: 'drover.dev', kind: 'Container', version: 'v1alpha1' }]);
    expect(schema.properties.spec.properties.image.description).toMatch(/docker runtime/);
    expect(schema.properties.metadata.allOf[0].$ref).toBe('#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
    expect(doc.paths['/apis/drover.dev/v1alpha1/namespaces/{namespace}/agentdeployments/{name}/scale'].patch['x-kubernetes-group-version-kind'].kind).toBe('Scale');
  });
});

describe('core v1 views', () => {
  it('lists Clusters as Namespaces (kubectl get ns), read-only', async () => {
    const list = await req('GET', '/api/v1/namespaces');
    expect(list.body.kind).toBe('NamespaceList');
    expect(list.body.items.find((n: KubeObject) => n.metadata.name === 'demo')).toMatchObject({
      apiVersion: 'v1', kind: 'Namespace', status: { phase: 'Active' }, metadata: { labels: { 'kubernetes.io/metadata.name': 'demo' } },
    });
    const table = await req('GET', '/api/v1/namespaces/demo', { accept: TABLE });
    expect(table.body.columnDefinitions.map((c: { name: string }) => c.name)).toEqual(['Name', 'Status', 'Age']);
    expect(table.body.rows[0].cells.slice(0, 2)).toEqual(['demo', 'Active']);
    expect((await req('GET', '/api/v1/namespaces/nope')).status).toBe(404);
    const post = await req('POST', '/api/v1/namespaces', { body: '{}' });
    expect(post.status).toBe(405);
    expect(post.body.message).toMatch(/read-only.*Cluster/);
  });

  it('shows drover Events as core v1 Events, selected by involvedObject fields (kubectl describe)', async () => {
    const ev = {
      apiVersion: 'drover.dev/v1alpha1', kind: 'Event', metadata: { name: 'tabled.1' },
      involvedObject: { apiVersion: 'drover.dev/v1alpha1', kind: 'AgentDeployment', name: 'tabled', namespace: 'demo', uid: 'u-1' },
      reason: 'ScalingUp', message: 'created 3 agents', type: 'Normal', source: { component: 'agentdeployment-controller' },
      firstTimestamp: new Date().toISOString(), lastTimestamp: new Date().toISOString(), reportingController: 'drover',
    };
    expect((await h.call('POST', `${NS}/events`, ev)).status).toBe(201);
    const sel = encodeURIComponent('involvedObject.name=tabled,involvedObject.namespace=demo,involvedObject.uid=u-1');
    const list = await req('GET', `/api/v1/namespaces/demo/events?fieldSelector=${sel}`);
    expect(list.body.kind).toBe('EventList');
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({ apiVersion: 'v1', kind: 'Event', reason: 'ScalingUp', reportingComponent: 'drover', involvedObject: { kind: 'AgentDeployment' } });
    expect((await req('GET', `/api/v1/namespaces/demo/events?fieldSelector=${encodeURIComponent('involvedObject.name=other')}`)).body.items).toEqual([]);
    const table = await req('GET', '/api/v1/events', { accept: TABLE });
    const row = table.body.rows.find((x: { cells: unknown[] }) => x.cells[2] === 'ScalingUp');
    expect(row.cells.slice(1, 4)).toEqual(['Normal', 'ScalingUp', 'agentdeployment/tabled']);
    expect(row.object.metadata.namespace).toBe('demo');
  });

  it('keeps a Cluster-bound token inside its Cluster', async () => {
    const other = await req('GET', '/api/v1/namespaces/default/events', { token: TOKENS.demoOperator });
    expect(other.status).toBe(403);
    const own = await req('GET', '/api/v1/namespaces', { token: TOKENS.demoOperator });
    expect(own.body.items.map((n: KubeObject) => n.metadata.name)).toEqual(['demo']);
  });
});

describe('field validation and patch types', () => {
  it('refuses unknown fields by default and with Strict, drops them with a Warning header with Warn, silently with Ignore', async () => {
    const body = JSON.stringify({ ...agentDeployment('fv1'), spec: { ...agentDeployment('fv1').spec, foo: 'bar' } });
    const strict = await req('POST', `${AD}?fieldValidation=Strict`, { body });
    expect(strict.status).toBe(422);
    expect(strict.body.details.causes).toEqual([expect.objectContaining({ field: 'spec.foo' })]);
    expect((await req('POST', AD, { body })).status).toBe(422);
    const warn = await req('POST', `${AD}?fieldValidation=Warn`, { body });
    expect(warn.status).toBe(201);
    expect(warn.headers.get('warning')).toBe('299 - "unknown field \\"spec.foo\\""');
    expect(warn.body.spec.foo).toBeUndefined();
    const ignore = await req('PATCH', `${AD}/fv1?fieldValidation=Ignore`, { body: '{"spec":{"bar":1,"replicas":4}}', contentType: 'application/merge-patch+json' });
    expect(ignore.status).toBe(200);
    expect(ignore.headers.get('warning')).toBeNull();
    expect(ignore.body.spec).toMatchObject({ replicas: 4 });
    expect(ignore.body.spec.bar).toBeUndefined();
    const bad = await req('POST', `${AD}?fieldValidation=Loose`, { body });
    expect(bad.status).toBe(400);
  });

  it('takes a strategic merge patch as a merge patch, without its $ directives', async () => {
    await h.call('POST', AD, agentDeployment('smp'));
    const r = await req('PATCH', `${AD}/smp`, {
      body: JSON.stringify({ $retainKeys: ['spec'], metadata: { labels: { a: 'b' } }, spec: { replicas: 5, '$setElementOrder/x': [] } }),
      contentType: 'application/strategic-merge-patch+json',
    });
    expect(r.status).toBe(200);
    expect(r.body.spec.replicas).toBe(5);
    expect(r.body.metadata.labels).toEqual({ a: 'b' });
  });
});

describe('dry run of a delete', () => {
  it('keeps the object when DeleteOptions says dryRun: [All] (kubectl delete --dry-run=server)', async () => {
    await h.call('POST', AD, agentDeployment('keepme'));
    const dry = await req('DELETE', `${AD}/keepme`, { body: JSON.stringify({ kind: 'DeleteOptions', apiVersion: 'v1', dryRun: ['All'] }) });
    expect(dry.status).toBe(200);
    expect((await h.call('GET', `${AD}/keepme`)).status).toBe(200);
    const dryAll = await req('DELETE', AD, { body: JSON.stringify({ dryRun: ['All'] }) });
    expect(dryAll.status).toBe(200);
    expect((await h.call('GET', `${AD}/keepme`)).status).toBe(200);
    expect((await req('DELETE', `${AD}/keepme`, { body: JSON.stringify({ dryRun: ['Some'] }) })).status).toBe(400);
  });
});

describe('server-side apply', () => {
  const spec = { agentType: 'trading', replicas: 2, template: { command: ['node', 'a.js'] } };

  it('creates with an Apply entry for the manager, then updates only what it applies', async () => {
    const created = await apply('ssa', applied('ssa', spec, { app: 'ssa' }));
    expect(created.status).toBe(201);
    expect(created.body.metadata.managedFields).toEqual([expect.objectContaining({ manager: 'kubectl', operation: 'Apply', fieldsType: 'FieldsV1' })]);
    expect(created.body.metadata.managedFields[0].fieldsV1).toMatchObject({ 'f:spec': { 'f:replicas': {} }, 'f:metadata': { 'f:labels': { 'f:app': {} } } });
    const again = await apply('ssa', applied('ssa', { ...spec, replicas: 3 }, { app: 'ssa' }));
    expect(again.status).toBe(200);
    expect(again.body.spec.replicas).toBe(3);
    expect(again.body.metadata.generation).toBe(2);
  });

  it('removes a field the manager applied before and no longer applies', async () => {
    const r = await apply('ssa', applied('ssa', { ...spec, replicas: 3 }));
    expect(r.status).toBe(200);
    expect(r.body.metadata.labels).toBeUndefined();
  });

  it('reports a conflict with another manager as Kubernetes does (409, FieldManagerConflict causes), and force takes the field over', async () => {
    const edit = await req('PATCH', `${AD}/ssa?fieldManager=kubectl-edit`, { body: '{"spec":{"replicas":9}}', contentType: 'application/merge-patch+json' });
    expect(edit.status).toBe(200);
    expect(edit.body.metadata.managedFields.map((e: ManagedFieldsEntry) => `${e.manager}/${e.operation}`)).toEqual(['kubectl/Apply', 'kubectl-edit/Update']);
    const conflict = await apply('ssa', applied('ssa', { ...spec, replicas: 3 }));
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({
      reason: 'Conflict', message: 'Apply failed with 1 conflict: conflict with "kubectl-edit": .spec.replicas',
      details: { causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl-edit"', field: '.spec.replicas' }] },
    });
    // the same value is shared ownership, not a conflict
    expect((await apply('ssa', applied('ssa', { ...spec, replicas: 9 }))).status).toBe(200);
    const forced = await apply('ssa', applied('ssa', { ...spec, replicas: 4 }), 'fieldManager=kubectl&force=true');
    expect(forced.status).toBe(200);
    expect(forced.body.spec.replicas).toBe(4);
    const editEntry = forced.body.metadata.managedFields.find((e: ManagedFieldsEntry) => e.manager === 'kubectl-edit');
    expect(editEntry).toBeUndefined(); // it owned only spec.replicas
  });

  it('does not persist with dryRun=All, and needs a fieldManager', async () => {
    const dry = await apply('ssa', applied('ssa', { ...spec, replicas: 8 }), 'fieldManager=kubectl&dryRun=All');
    expect(dry.status).toBe(200);
    expect(dry.body.spec.replicas).toBe(8);
    expect((await h.call('GET', `${AD}/ssa`)).body.spec.replicas).toBe(4);
    const dryCreate = await apply('ssa-dry', applied('ssa-dry', spec), 'fieldManager=kubectl&dryRun=All');
    expect(dryCreate.status).toBe(201);
    expect((await h.call('GET', `${AD}/ssa-dry`)).status).toBe(404);
    const anonymous = await apply('ssa', applied('ssa', spec), '');
    expect(anonymous.status).toBe(400);
    expect(anonymous.body.message).toMatch(/fieldManager/);
  });

  it('accepts a YAML apply body and validates it like any write', async () => {
    const yaml = 'apiVersion: drover.dev/v1alpha1\nkind: AgentDeployment\nmetadata: {name: ssa-yaml}\nspec:\n  agentType: t\n  replicas: 1\n  template: {command: [x]}\n  nope: 1\n';
    const strict = await req('PATCH', `${AD}/ssa-yaml?fieldManager=m&fieldValidation=Strict`, { body: yaml, contentType: APPLY });
    expect(strict.status).toBe(422);
    const warn = await req('PATCH', `${AD}/ssa-yaml?fieldManager=m&fieldValidation=Warn`, { body: yaml, contentType: APPLY });
    expect(warn.status).toBe(201);
    expect(warn.headers.get('warning')).toMatch(/unknown field \\"spec\.nope\\"/);
  });

  it('leaves objects that only drover clients write without managedFields', async () => {
    const created = await h.call('POST', AD, agentDeployment('plain'));
    expect(created.body.metadata.managedFields).toBeUndefined();
    const patched = await h.call('PATCH', `${AD}/plain`, { spec: { replicas: 3 } });
    expect(patched.body.metadata.managedFields).toBeUndefined();
  });
});

describe('managedFields sets', () => {
  const obj = (spec: Record<string, unknown>, managedFields?: ManagedFieldsEntry[]): KubeObject =>
    ({ apiVersion: 'drover.dev/v1alpha1', kind: 'AgentDeployment', metadata: { name: 'x', namespace: 'demo', uid: 'u', ...(managedFields ? { managedFields } : {}) }, spec, status: { replicas: 1 } });

  it('round-trips field paths through FieldsV1; lists are atomic, status and identity are not owned', () => {
    const paths = fieldPaths(obj({ replicas: 2, template: { command: ['a', 'b'], config: {} } }));
    expect(paths).toEqual([['spec', 'replicas'], ['spec', 'template', 'command'], ['spec', 'template', 'config']]);
    expect(toFieldsV1(paths)).toEqual({ 'f:spec': { 'f:replicas': {}, 'f:template': { 'f:command': {}, 'f:config': {} } } });
    expect(fromFieldsV1(toFieldsV1(paths))).toEqual(paths);
  });

  it('moves ownership of changed fields to the updater and leaves unchanged ones', () => {
    const who = { manager: 'a', apiVersion: 'drover.dev/v1alpha1', time: 't1' };
    const first = recordUpdate(undefined, obj({ replicas: 2, agentType: 'x' }), who)!;
    const current = obj({ replicas: 2, agentType: 'x' }, first);
    const second = recordUpdate(current, obj({ replicas: 3, agentType: 'x' }), { ...who, manager: 'b', time: 't2' })!;
    expect(second.map((e) => [e.manager, fromFieldsV1(e.fieldsV1)])).toEqual([['a', [['spec', 'agentType']]], ['b', [['spec', 'replicas']]]]);
    expect(recordUpdate(obj({ replicas: 3, agentType: 'x' }, second), obj({ replicas: 3, agentType: 'x' }), { ...who, time: 't3' })).toBe(second);
  });

  it('words several conflicts per manager, sorted, as the apiserver does', () => {
    const e = (manager: string, operation: 'Apply' | 'Update'): ManagedFieldsEntry => ({ manager, operation, apiVersion: 'drover.dev/v1alpha1', time: '', fieldsType: 'FieldsV1', fieldsV1: {} });
    const err = applyConflict([
      { owner: e('zed', 'Update'), path: ['spec', 'image'] }, { owner: e('ci', 'Apply'), path: ['spec', 'replicas'] }, { owner: e('zed', 'Update'), path: ['metadata', 'labels', 'a'] },
    ], 'x', 'drover.dev', 'Container');
    expect(err.message).toBe('Apply failed with 3 conflicts: conflicts with "ci" using drover.dev/v1alpha1:\n- .spec.replicas\nconflicts with "zed":\n- .spec.image\n- .metadata.labels.a');
  });
});
