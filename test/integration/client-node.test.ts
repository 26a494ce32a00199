// @kubernetes/client-node 2.x, unchanged, against a real `drover manager --tls`, with a KubeConfig loaded from
// what `drover config kubeconfig` prints: KubernetesObjectApi CRUD (it maps kind → plural through discovery) and
// an informer on Agents that sees them added, modified and deleted.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { startManager, drover, cleanup, eventually, type ManagerProcess } from '../helpers/processes.ts';

const NS = 'default';
const API_VERSION = 'drover.dev/v1alpha1';

let m: ManagerProcess;
let kc: k8s.KubeConfig;
let objects: k8s.KubernetesObjectApi;
const informers: k8s.Informer<k8s.KubernetesObject>[] = [];

const agent = (name: string, labels?: Record<string, string>): k8s.KubernetesObject & { spec: unknown } => ({
  apiVersion: API_VERSION, kind: 'Agent', metadata: { name, namespace: NS, ...(labels ? { labels } : {}) },
  spec: { agentType: 'probe', command: ['/bin/sh', '-c', 'exec sleep 1000'] },
});
const ref = (name: string) => ({ apiVersion: API_VERSION, kind: 'Agent', metadata: { name, namespace: NS } });

beforeAll(async () => {
  m = await startManager({ tls: true });
  const printed = await drover(['config', 'kubeconfig'], { config: m.configPath });
  expect(printed.code).toBe(0);
  kc = new k8s.KubeConfig();
  kc.loadFromString(printed.stdout);
  objects = k8s.KubernetesObjectApi.makeApiClient(kc);
}, 60_000);

afterAll(async () => {
  for (const inf of informers) await inf.stop();
  await m?.stop().catch(() => undefined);
  await cleanup();
});

describe('@kubernetes/client-node against drover', () => {
  it('loads the kubeconfig drover prints: an https server trusted through certificate-authority-data, a bearer token, a namespace', () => {
    expect(kc.getCurrentCluster()).toMatchObject({ server: m.url, caData: Buffer.from(m.ca!).toString('base64') });
    expect(kc.getCurrentUser()).toMatchObject({ token: m.token });
    expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe(NS);
  });

  it('creates, reads, lists, patches (strategic merge, merge), replaces and deletes with KubernetesObjectApi', async () => {
    const created = await objects.create(agent('crud-1', { team: 'quant' }));
    expect(created).toMatchObject({ kind: 'Agent', metadata: { name: 'crud-1', namespace: NS, labels: { team: 'quant' } } });
    expect(created.metadata?.uid).toEqual(expect.any(String));

    const read = await objects.read(ref('crud-1'));
    expect(read.metadata?.uid).toBe(created.metadata?.uid);

    const list = await objects.list(API_VERSION, 'Agent', NS, undefined, undefined, undefined, undefined, 'team=quant');
    expect(list.items.map((o) => o.metadata?.name)).toEqual(['crud-1']);

    // the default patch type is strategic merge; drover takes it as a merge patch for custom resources
    const smp = await objects.patch({ ...ref('crud-1'), metadata: { ...ref('crud-1').metadata, labels: { team: 'risk' } } });
    expect(smp.metadata?.labels).toEqual({ team: 'risk' });
    const merged = await objects.patch({ ...ref('crud-1'), metadata: { ...ref('crud-1').metadata, annotations: { note: 'x' } } },
      undefined, undefined, 'client-node-test', undefined, k8s.PatchStrategy.MergePatch);
    expect(merged.metadata?.annotations).toEqual({ note: 'x' });

    const current = await objects.read(ref('crud-1'));
    const replaced = await objects.replace({ ...current, metadata: { ...current.metadata, labels: { team: 'ops' } } });
    expect(replaced.metadata?.labels).toEqual({ team: 'ops' });

    await objects.delete(ref('crud-1'));
    await eventually('crud-1 to be gone', async () => {
      try {
        await objects.read(ref('crud-1'));
        return false;
      } catch (e) {
        return (e as { code?: number }).code === 404;
      }
    });
  });

  it('reports API errors as the Status drover answers (409 AlreadyExists, 422 Invalid)', async () => {
    await objects.create(agent('dup'));
    await expect(objects.create(agent('dup'))).rejects.toMatchObject({ code: 409 });
    const invalid = { ...agent('bad'), spec: { agentType: '' } };
    const err = await objects.create(invalid).then(() => undefined, (e: { code: number; body: string }) => e);
    expect(err?.code).toBe(422);
    expect(JSON.parse(err!.body)).toMatchObject({ kind: 'Status', reason: 'Invalid', details: { causes: [expect.objectContaining({ field: 'spec.agentType' })] } });
    await objects.delete(ref('dup'));
  });

  it('an informer on Agents sees ADDED, MODIFIED and DELETED and keeps its cache in step', async () => {
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const listFn = () => custom.listNamespacedCustomObject({ group: 'drover.dev', version: 'v1alpha1', namespace: NS, plural: 'agents' }) as Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>;
    const informer = k8s.makeInformer(kc, `/apis/drover.dev/v1alpha1/namespaces/${NS}/agents`, listFn);
    informers.push(informer);
    const seen: string[] = [];
    const errors: unknown[] = [];
    informer.on(k8s.ADD, (o) => seen.push(`ADDED ${o.metadata?.name}`));
    informer.on(k8s.UPDATE, (o) => seen.push(`MODIFIED ${o.metadata?.name} ${o.metadata?.labels?.stage ?? ''}`.trim()));
    informer.on(k8s.DELETE, (o) => seen.push(`DELETED ${o.metadata?.name}`));
    informer.on(k8s.ERROR, (e) => errors.push(e));
    await objects.create(agent('before-start'));
    await informer.start();
    await eventually('the initial list', async () => seen.includes('ADDED before-start'));

    await objects.create(agent('watched'));
    await eventually('ADDED watched', async () => seen.includes('ADDED watched'));
    await objects.patch({ ...ref('watched'), metadata: { ...ref('watched').metadata, labels: { stage: 'two' } } },
      undefined, undefined, undefined, undefined, k8s.PatchStrategy.MergePatch);
    await eventually('MODIFIED watched with the label', async () => seen.includes('MODIFIED watched two'));
    expect(informer.get('watched', NS)?.metadata?.labels).toEqual({ stage: 'two' });

    await objects.delete(ref('watched'));
    await eventually(`DELETED watched (seen: ${seen.join(', ')})`, async () => seen.includes('DELETED watched'));
    expect(informer.get('watched', NS)).toBeUndefined();
    expect(informer.list(NS).map((o) => o.metadata?.name)).toContain('before-start');
    expect(errors).toEqual([]);
  });
});
