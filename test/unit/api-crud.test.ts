import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { BASE, agentDeployment, cluster, startApi } from './api-harness.ts';
import type { Harness } from './api-harness.ts';

const NS = `${BASE}/namespaces/demo`;
const AD = `${NS}/agentdeployments`;

let h: Harness;

beforeAll(async () => {
  h = await startApi({ maxBodyBytes: 64 * 1024 });
  expect((await h.call('POST', `${BASE}/clusters`, cluster('demo'))).status).toBe(201);
});

afterAll(async () => {
  await h.close();
});

describe('objects', () => {
  it('creates, reads, lists, replaces and deletes an AgentDeployment', async () => {
    const created = await h.call('POST', AD, agentDeployment('crud'));
    expect(created.status).toBe(201);
    expect(created.body.metadata).toMatchObject({ name: 'crud', namespace: 'demo', generation: 1 });
    expect(created.body.metadata.uid).toEqual(expect.any(String));
    expect(created.body.spec.placement.strategy).toBe('LeastLoaded'); // defaulted by the CRD schema

    const got = await h.call('GET', `${AD}/crud`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(created.body);

    const list = await h.call('GET', AD);
    expect(list.body.kind).toBe('AgentDeploymentList');
    expect(list.body.metadata.resourceVersion).toEqual(expect.any(String));
    expect(list.body.items.map((o: { metadata: { name: string } }) => o.metadata.name)).toContain('crud');

    const next = { ...got.body, spec: { ...got.body.spec, replicas: 5 } };
    const replaced = await h.call('PUT', `${AD}/crud`, next);
    expect(replaced.status).toBe(200);
    expect(replaced.body.spec.replicas).toBe(5);
    expect(replaced.body.metadata.generation).toBe(2);

    const deleted = await h.call('DELETE', `${AD}/crud`);
    expect(deleted.status).toBe(200);
    expect(deleted.body.metadata.name).toBe('crud');
    const gone = await h.call('GET', `${AD}/crud`);
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'agentdeployments.drover.dev "crud" not found' });
  });

  it('answers 409 to a PUT with a stale resourceVersion', async () => {
    const first = (await h.call('POST', AD, agentDeployment('stale'))).body;
    const bumped = await h.call('PUT', `${AD}/stale`, { ...first, spec: { ...first.spec, replicas: 3 } });
    expect(bumped.status).toBe(200);
    const stale = await h.call('PUT', `${AD}/stale`, { ...first, spec: { ...first.spec, replicas: 4 } });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ reason: 'Conflict' });
    expect(stale.body.message).toMatch(/the object has been modified/);
  });

  it('answers 409 AlreadyExists to a second create', async () => {
    await h.call('POST', AD, agentDeployment('twice'));
    const again = await h.call('POST', AD, agentDeployment('twice'));
    expect(again.status).toBe(409);
    expect(again.body.reason).toBe('AlreadyExists');
  });

  it('lists every bad field of one object in a single 422', async () => {
    const bad = agentDeployment('Bad_Name');
    (bad.spec as Record<string, unknown>).replicas = -1;
    delete (bad.spec as Record<string, unknown>).agentType;
    (bad.spec as Record<string, unknown>).bogus = true;
    const res = await h.call('POST', AD, bad);
    expect(res.status).toBe(422);
    expect(res.body.reason).toBe('Invalid');
    const fields = res.body.details.causes.map((c: { field: string }) => c.field).sort();
    expect(fields).toEqual(expect.arrayContaining(['metadata.name', 'spec.agentType', 'spec.bogus', 'spec.replicas']));
    expect(res.body.message).toMatch(/^AgentDeployment\.drover\.dev "Bad_Name" is invalid: /);
  });

  it('takes the namespace from the path and refuses a different one in the body', async () => {
    const noNs = await h.call('POST', AD, agentDeployment('pathns'));
    expect(noNs.body.metadata.namespace).toBe('demo');
    const other = agentDeployment('otherns');
    other.metadata.namespace = 'elsewhere';
    const res = await h.call('POST', AD, other);
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/does not match the namespace sent on the request/);
  });

  it('refuses a namespaced object in a namespace without a Cluster', async () => {
    const res = await h.call('POST', `${BASE}/namespaces/nowhere/agentdeployments`, agentDeployment('x'));
    expect(res.status).toBe(404);
    expect(res.body.message).toBe('cluster "nowhere" not found: create the Cluster first (namespaces are Clusters)');
  });

  it('refuses a kind that does not match the URL', async () => {
    const res = await h.call('POST', AD, { ...agentDeployment('kind'), kind: 'Agent' });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/kind of the provided object \("Agent"\)/);
  });

  it('resets status on create', async () => {
    const res = await h.call('POST', AD, { ...agentDeployment('withstatus'), status: { replicas: 9 } });
    expect(res.status).toBe(201);
    expect(res.body.status).toBeUndefined();
  });

  it('keeps an object with finalizers until they are removed', async () => {
    const obj = agentDeployment('final');
    obj.metadata.finalizers = ['drover.dev/test'];
    await h.call('POST', AD, obj);
    const del = await h.call('DELETE', `${AD}/final`);
    expect(del.status).toBe(200);
    expect(del.body.metadata.deletionTimestamp).toEqual(expect.any(String));
    expect((await h.call('GET', `${AD}/final`)).status).toBe(200);
    const released = await h.call('PATCH', `${AD}/final`, { metadata: { finalizers: null } });
    expect(released.status).toBe(200);
    expect((await h.call('GET', `${AD}/final`)).status).toBe(404);
  });

  it('honours delete preconditions', async () => {
    const created = (await h.call('POST', AD, agentDeployment('precond'))).body;
    const wrong = await h.call('DELETE', `${AD}/precond`, { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion: '1' } });
    expect(wrong.status).toBe(409);
    expect(wrong.body.message).toMatch(/Precondition failed/);
    const right = await h.call('DELETE', `${AD}/precond`, { preconditions: { uid: created.metadata.uid, resourceVersion: created.metadata.resourceVersion } });
    expect(right.status).toBe(200);
  });

  it('orphans dependents when asked', async () => {
    const owner = (await h.call('POST', AD, agentDeployment('owner'))).body;
    const dep = agentDeployment('dependent');
    dep.metadata.ownerReferences = [{ apiVersion: 'drover.dev/v1alpha1', kind: 'AgentDeployment', name: 'owner', uid: owner.metadata.uid, controller: true }];
    await h.call('POST', AD, dep);
    expect((await h.call('DELETE', `${AD}/owner?propagationPolicy=Orphan`)).status).toBe(200);
    const after = await h.call('GET', `${AD}/dependent`);
    expect(after.body.metadata.ownerReferences).toBeUndefined();
  });

  it('serves cluster-scoped Clusters and 404s them under a namespace', async () => {
    expect((await h.call('GET', `${BASE}/clusters/demo`)).body.metadata.name).toBe('demo');
    const res = await h.call('GET', `${NS}/clusters/demo`);
    expect(res.status).toBe(404);
  });
});

describe('status subresource', () => {
  it('main-resource writes keep the stored status; status writes keep spec and metadata', async () => {
    await h.call('POST', AD, agentDeployment('iso', { labels: { a: 'b' } }));
    const st = await h.call('PUT', `${AD}/iso/status`, {
      ...agentDeployment('iso'), metadata: { name: 'iso', labels: { changed: 'yes' } },
      spec: { agentType: 'hacked', template: {} }, status: { replicas: 2, readyReplicas: 1 },
    });
    expect(st.status).toBe(200);
    expect(st.body.status).toMatchObject({ replicas: 2, readyReplicas: 1 });
    expect(st.body.spec.agentType).toBe('trading');
    expect(st.body.metadata.labels).toEqual({ a: 'b' });

    const spec = await h.call('PATCH', `${AD}/iso`, { spec: { replicas: 7 }, status: { replicas: 99 } });
    expect(spec.status).toBe(200);
    expect(spec.body.spec.replicas).toBe(7);
    expect(spec.body.status).toEqual({ replicas: 2, readyReplicas: 1 });

    const patched = await h.call('PATCH', `${AD}/iso/status`, { status: { readyReplicas: 2 }, spec: { replicas: 1 } });
    expect(patched.body.status).toMatchObject({ replicas: 2, readyReplicas: 2 });
    expect(patched.body.spec.replicas).toBe(7);

    const got = await h.call('GET', `${AD}/iso/status`);
    expect(got.body.status.readyReplicas).toBe(2);
  });

  it('validates status writes', async () => {
    await h.call('POST', AD, agentDeployment('badstatus'));
    const res = await h.call('PATCH', `${AD}/badstatus/status`, { status: { readyReplicas: -3 } });
    expect(res.status).toBe(422);
    expect(res.body.details.causes[0].field).toBe('status.readyReplicas');
  });
});

describe('patch', () => {
  it('applies a merge patch and a JSON patch', async () => {
    await h.call('POST', AD, agentDeployment('patchme', { labels: { keep: 'x', drop: 'y' } }));
    const merged = await h.call('PATCH', `${AD}/patchme`, { metadata: { labels: { drop: null, added: 'z' } }, spec: { replicas: 4 } });
    expect(merged.status).toBe(200);
    expect(merged.body.metadata.labels).toEqual({ keep: 'x', added: 'z' });
    expect(merged.body.spec.replicas).toBe(4);
    expect(merged.body.spec.agentType).toBe('trading');

    const json = await h.call('PATCH', `${AD}/patchme`, [
      { op: 'test', path: '/spec/replicas', value: 4 },
      { op: 'replace', path: '/spec/replicas', value: 6 },
      { op: 'add', path: '/metadata/labels/tier', value: 'agents' },
    ], { contentType: 'application/json-patch+json' });
    expect(json.status).toBe(200);
    expect(json.body.spec.replicas).toBe(6);
    expect(json.body.metadata.labels.tier).toBe('agents');
  });

  it.each([
    ['failed JSON patch test', [{ op: 'test', path: '/spec/replicas', value: 100 }], 'application/json-patch+json', 422, /operation 0 \(test \/spec\/replicas\): test failed/],
    ['JSON patch on a missing path', [{ op: 'remove', path: '/spec/nope' }], 'application/json-patch+json', 422, /path does not exist/],
    ['patch that breaks the schema', { spec: { replicas: 'many' } }, 'application/merge-patch+json', 422, /spec\.replicas/],
    ['patch that renames the object', { metadata: { name: 'other' } }, 'application/merge-patch+json', 422, /metadata\.name.*immutable/],
    ['stale pinned resourceVersion', { metadata: { resourceVersion: '1' }, spec: { replicas: 1 } }, 'application/merge-patch+json', 409, /modified/],
  ])('rejects a %s', async (_name, patch, contentType, code, message) => {
    await h.call('POST', AD, agentDeployment('patchfail'));
    const res = await h.call('PATCH', `${AD}/patchfail`, patch, { contentType });
    expect(res.status).toBe(code);
    expect(res.body.message).toMatch(message);
  });
});

describe('scale subresource', () => {
  it('reads and writes replicas through an autoscaling/v1 Scale', async () => {
    await h.call('POST', AD, agentDeployment('scaled', { replicas: 2 }));
    await h.call('PATCH', `${AD}/scaled/status`, { status: { replicas: 1, selector: 'app=scaled' } });
    const scale = await h.call('GET', `${AD}/scaled/scale`);
    expect(scale.body).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: 'scaled', namespace: 'demo' }, spec: { replicas: 2 }, status: { replicas: 1, selector: 'app=scaled' } });

    const put = await h.call('PUT', `${AD}/scaled/scale`, { ...scale.body, spec: { replicas: 5 } });
    expect(put.status).toBe(200);
    expect(put.body.spec.replicas).toBe(5);
    const patched = await h.call('PATCH', `${AD}/scaled/scale`, { spec: { replicas: 3 } });
    expect(patched.body.spec.replicas).toBe(3);
    expect((await h.call('GET', `${AD}/scaled`)).body.spec.replicas).toBe(3);

    const bad = await h.call('PATCH', `${AD}/scaled/scale`, { spec: { replicas: -1 } });
    expect(bad.status).toBe(422);
    expect(bad.body.details.causes[0].field).toBe('spec.replicas');
  });

  it('is not served for kinds without it', async () => {
    expect((await h.call('GET', `${BASE}/clusters/demo/scale`)).status).toBe(404);
  });
});

describe('lists', () => {
  beforeAll(async () => {
    expect((await h.call('POST', `${BASE}/clusters`, cluster('pages'))).status).toBe(201);
    for (let i = 0; i < 5; i++) {
      const res = await h.call('POST', `${BASE}/namespaces/pages/agentdeployments`, agentDeployment(`p${i}`, { labels: { tier: i % 2 ? 'odd' : 'even' } }));
      expect(res.status).toBe(201);
    }
  });
  const names = (body: { items: { metadata: { name: string } }[] }) => body.items.map((o) => o.metadata.name);

  it('pages with limit and continue', async () => {
    const first = await h.call('GET', `${BASE}/namespaces/pages/agentdeployments?limit=2`);
    expect(names(first.body)).toEqual(['p0', 'p1']);
    expect(first.body.metadata.remainingItemCount).toBe(3);
    const second = await h.call('GET', `${BASE}/namespaces/pages/agentdeployments?limit=2&continue=${encodeURIComponent(first.body.metadata.continue)}`);
    expect(names(second.body)).toEqual(['p2', 'p3']);
    const third = await h.call('GET', `${BASE}/namespaces/pages/agentdeployments?limit=2&continue=${encodeURIComponent(second.body.metadata.continue)}`);
    expect(names(third.body)).toEqual(['p4']);
    expect(third.body.metadata.continue).toBeUndefined();
  });

  it.each([
    ['labelSelector=tier%3Dodd', ['p1', 'p3']],
    ['labelSelector=tier%20in%20(even)', ['p0', 'p2', 'p4']],
    ['fieldSelector=metadata.name%3Dp2', ['p2']],
    ['fieldSelector=metadata.name!%3Dp2&labelSelector=tier%3Deven', ['p0', 'p4']],
  ])('filters with %s', async (query, want) => {
    const res = await h.call('GET', `${BASE}/namespaces/pages/agentdeployments?${query}`);
    expect(res.status).toBe(200);
    expect(names(res.body)).toEqual(want);
  });

  it('answers 400 to a malformed selector', async () => {
    const res = await h.call('GET', `${BASE}/namespaces/pages/agentdeployments?labelSelector=${encodeURIComponent('a in (b')}`);
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/invalid label selector/);
  });

  it('lists across namespaces', async () => {
    const res = await h.call('GET', `${BASE}/agentdeployments?labelSelector=tier`);
    expect(names(res.body)).toEqual(expect.arrayContaining(['p0', 'p1', 'p2', 'p3', 'p4']));
  });

  it('deletes a collection by selector', async () => {
    const res = await h.call('DELETE', `${BASE}/namespaces/pages/agentdeployments?labelSelector=tier%3Dodd`);
    expect(res.status).toBe(200);
    expect(names(res.body)).toEqual(['p1', 'p3']);
    expect(names((await h.call('GET', `${BASE}/namespaces/pages/agentdeployments`)).body)).toEqual(['p0', 'p2', 'p4']);
  });
});

describe('dry run', () => {
  it('validates and defaults a create and stores nothing', async () => {
    const res = await h.call('POST', `${AD}?dryRun=All`, agentDeployment('dry'));
    expect(res.status).toBe(201);
    expect(res.body.spec.placement.strategy).toBe('LeastLoaded');
    expect((await h.call('GET', `${AD}/dry`)).status).toBe(404);
  });

  it('patches, replaces and deletes without storing', async () => {
    const created = (await h.call('POST', AD, agentDeployment('drywrite'))).body;
    const patched = await h.call('PATCH', `${AD}/drywrite?dryRun=All`, { spec: { replicas: 9 } });
    expect(patched.body.spec.replicas).toBe(9);
    const put = await h.call('PUT', `${AD}/drywrite?dryRun=All`, { ...created, spec: { ...created.spec, replicas: 8 } });
    expect(put.body.spec.replicas).toBe(8);
    expect((await h.call('DELETE', `${AD}/drywrite?dryRun=All`)).status).toBe(200);
    const stored = await h.call('GET', `${AD}/drywrite`);
    expect(stored.body).toEqual(created);
  });

  it('still reports errors', async () => {
    const res = await h.call('POST', `${AD}?dryRun=All`, { ...agentDeployment('drybad'), spec: { replicas: -1 } });
    expect(res.status).toBe(422);
  });
});

describe('protocol errors', () => {
  it.each([
    ['unknown resource', 'GET', `${BASE}/widgets`, undefined, {}, 404, 'the server could not find the requested resource'],
    ['unknown group', 'GET', '/apis/apps/v1/deployments', undefined, {}, 404, 'the server could not find the requested resource'],
    ['wrong method', 'POST', `${AD}/x`, agentDeployment('x'), {}, 405, /does not allow method POST/],
    ['create across namespaces', 'POST', `${BASE}/agentdeployments`, agentDeployment('x'), {}, 405, /does not allow method POST/],
    ['malformed JSON', 'POST', AD, undefined, { rawBody: '{"kind": ', contentType: 'application/json' }, 400, /not valid JSON/],
    ['YAML body', 'POST', AD, undefined, { rawBody: 'kind: x', contentType: 'application/yaml' }, 415, /send application\/json/],
    ['body over the limit', 'POST', AD, undefined, { rawBody: JSON.stringify({ pad: 'x'.repeat(70 * 1024) }) }, 413, /larger than the limit/],
    ['bad dryRun', 'POST', `${AD}?dryRun=yes`, agentDeployment('x'), {}, 400, /dryRun must be "All"/],
  ])('%s', async (_name, method, path, body, opts, code, message) => {
    const res = await h.call(method, path, body, opts);
    expect(res.status).toBe(code);
    expect(res.body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code });
    expect(res.body.message).toMatch(message);
  });
});

describe('discovery and probes', () => {
  it('serves the APIResourceList with subresources', async () => {
    const res = await h.call('GET', BASE);
    expect(res.body.kind).toBe('APIResourceList');
    const byName = Object.fromEntries(res.body.resources.map((r: { name: string }) => [r.name, r]));
    expect(byName.agentdeployments).toMatchObject({ kind: 'AgentDeployment', namespaced: true, singularName: 'agentdeployment', shortNames: ['ad'] });
    expect(byName.clusters).toMatchObject({ kind: 'Cluster', namespaced: false });
    expect(byName['agentdeployments/status']).toBeDefined();
    expect(byName['agentdeployments/scale']).toMatchObject({ kind: 'Scale', group: 'autoscaling', version: 'v1' });
  });

  it('serves /apis and /api', async () => {
    expect((await h.call('GET', '/apis')).body.groups[0]).toMatchObject({ name: 'drover.dev', preferredVersion: { groupVersion: 'drover.dev/v1alpha1' } });
    expect((await h.call('GET', '/api')).body.versions).toEqual(['v1']);
  });

  it.each(['/healthz', '/livez', '/readyz'])('%s answers ok without a token', async (path) => {
    const res = await h.call('GET', path, undefined, { token: null });
    expect(res.status).toBe(200);
    expect(res.text).toBe('ok');
  });

  it('/version answers without a token', async () => {
    const res = await h.call('GET', '/version', undefined, { token: null });
    expect(res.body).toMatchObject({ gitVersion: 'v0.1.0-drover', major: '0', minor: '1' });
    expect(res.body.platform).toMatch(/\//);
  });
});
