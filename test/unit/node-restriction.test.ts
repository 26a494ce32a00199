// NodeRestriction as a table: what a node credential may do, and the 403 message when it may not.
import { describe, it, expect } from '@jest/globals';
import { authorize } from '../../api/authorize.ts';
import type { Attributes } from '../../api/authorize.ts';
import type { Principal } from '../../api/auth.ts';
import type { KubeObject } from '../../core/types.ts';

const nodeA: Principal = { name: 'node-a', role: 'node', cluster: 'demo', node: 'node-a' };
const G = 'drover.dev';

const container = (nodeName?: string): KubeObject => ({
  apiVersion: 'drover.dev/v1alpha1', kind: 'Container', metadata: { name: 'web', namespace: 'demo' },
  spec: { nodeName: 'node-a' }, ...(nodeName ? { status: { nodeName, phase: 'Running' } } : {}),
});
const task = (nodeName: string): KubeObject => ({
  apiVersion: 'drover.dev/v1alpha1', kind: 'Task', metadata: { name: 'web-restart-abcde', namespace: 'demo' }, spec: { type: 'restart', nodeName },
});
const node = (labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'drover.dev/v1alpha1', kind: 'Node', metadata: { name: 'node-a', namespace: 'demo', labels }, spec: { labels, unschedulable: false },
});

const ns = (a: Partial<Attributes> & Pick<Attributes, 'verb' | 'plural'>): Attributes => ({ group: G, namespace: 'demo', clusterScoped: false, ...a });

type Row = [string, Attributes];

const allowed: Row[] = [
  ['get its own Cluster', { verb: 'get', plural: 'clusters', group: G, name: 'demo', clusterScoped: true }],
  ['get its own Node', ns({ verb: 'get', plural: 'nodes', name: 'node-a' })],
  ['watch its own Node by name', ns({ verb: 'watch', plural: 'nodes', name: 'node-a' })],
  ['list Nodes selecting itself', ns({ verb: 'list', plural: 'nodes', fieldSelector: 'metadata.name=node-a' })],
  ['create its own Node', ns({ verb: 'create', plural: 'nodes', body: node() })],
  ['merge-patch its own Node status', ns({ verb: 'patch', plural: 'nodes', name: 'node-a', subresource: 'status', patchType: 'merge', body: { status: { lastHeartbeatTime: 'x' } } })],
  ['put its own Node status', ns({ verb: 'update', plural: 'nodes', name: 'node-a', subresource: 'status', body: node() })],
  ['merge-patch the labels of its own Node', ns({ verb: 'patch', plural: 'nodes', name: 'node-a', patchType: 'merge', body: { metadata: { labels: { zone: 'z' } }, spec: { labels: { zone: 'z' } } } })],
  ['json-patch the labels of its own Node', ns({ verb: 'patch', plural: 'nodes', name: 'node-a', patchType: 'json', body: [{ op: 'add', path: '/spec/labels/zone', value: 'z' }] })],
  ['put its own Node changing only labels', ns({ verb: 'update', plural: 'nodes', name: 'node-a', body: node({ zone: 'z' }), object: node() })],
  ['list Containers bound to it', ns({ verb: 'list', plural: 'containers', fieldSelector: 'status.nodeName=node-a' })],
  ['watch Containers bound to it (with another requirement)', ns({ verb: 'watch', plural: 'containers', fieldSelector: 'metadata.name=web,status.nodeName==node-a' })],
  ['get a Container bound to it', ns({ verb: 'get', plural: 'containers', name: 'web', object: container('node-a') })],
  ['merge-patch the status of a Container bound to it', ns({ verb: 'patch', plural: 'containers', name: 'web', subresource: 'status', patchType: 'merge', object: container('node-a'), body: { status: { phase: 'Running' } } })],
  ['put the status of a Container bound to it, keeping the binding', ns({ verb: 'update', plural: 'containers', name: 'web', subresource: 'status', object: container('node-a'), body: container('node-a') })],
  ['post the log of a Container bound to it', ns({ verb: 'create', plural: 'containers', name: 'web', subresource: 'log', object: container('node-a') })],
  ['list Agents bound to it', ns({ verb: 'list', plural: 'agents', fieldSelector: 'status.nodeName=node-a' })],
  ['list its Tasks', ns({ verb: 'list', plural: 'tasks', fieldSelector: 'spec.nodeName=node-a' })],
  ['watch its Tasks', ns({ verb: 'watch', plural: 'tasks', fieldSelector: 'spec.nodeName=node-a' })],
  ['get its Task', ns({ verb: 'get', plural: 'tasks', name: 'web-restart-abcde', object: task('node-a') })],
  ['claim its Task (status update)', ns({ verb: 'update', plural: 'tasks', name: 'web-restart-abcde', subresource: 'status', object: task('node-a'), body: task('node-a') })],
  ['create an Event', ns({ verb: 'create', plural: 'events' })],
  ['register a Container it discovered (unmanaged, pinned to itself)', ns({ verb: 'create', plural: 'containers', body: { ...container(), spec: { managed: false, nodeName: 'node-a' } } })],
];

const denied: [string, Attributes, string][] = [
  ['list all Tasks', ns({ verb: 'list', plural: 'tasks' }),
    'node "node-a" cannot list tasks.drover.dev in namespace "demo" without fieldSelector spec.nodeName=node-a'],
  ['list another node\'s Tasks', ns({ verb: 'list', plural: 'tasks', fieldSelector: 'spec.nodeName=node-b' }),
    'node "node-a" cannot list tasks.drover.dev in namespace "demo" without fieldSelector spec.nodeName=node-a'],
  ['select itself with != ', ns({ verb: 'watch', plural: 'tasks', fieldSelector: 'spec.nodeName!=node-a' }), 'without fieldSelector spec.nodeName=node-a'],
  ['get another node\'s Task', ns({ verb: 'get', plural: 'tasks', name: 'web-restart-abcde', object: task('node-b') }), 'that is not bound to it (bound to "node-b")'],
  ['update another node\'s Task status', ns({ verb: 'update', plural: 'tasks', name: 'x', subresource: 'status', object: task('node-b') }), 'that is not bound to it'],
  ['list Tasks in all namespaces', { verb: 'list', plural: 'tasks', group: G, clusterScoped: false, fieldSelector: 'spec.nodeName=node-a' }, 'token is limited to cluster "demo"'],
  ['list Tasks in another Cluster', { ...ns({ verb: 'list', plural: 'tasks', fieldSelector: 'spec.nodeName=node-a' }), namespace: 'other' }, 'token is limited to cluster "demo"'],
  ['create a Task', ns({ verb: 'create', plural: 'tasks', body: task('node-a') }), 'writes only the status'],
  ['delete its Task', ns({ verb: 'delete', plural: 'tasks', name: 'x', object: task('node-a') }), 'writes only the status'],
  ['create a Container', ns({ verb: 'create', plural: 'containers', body: container() }), 'node "node-a" cannot create containers.drover.dev in namespace "demo"'],
  ['register an unmanaged Container on another node', ns({ verb: 'create', plural: 'containers', body: { ...container(), spec: { managed: false, nodeName: 'node-b' } } }), 'only create Containers it discovered: spec.managed=false and spec.nodeName=node-a'],
  ['list all Containers', ns({ verb: 'list', plural: 'containers' }), 'without fieldSelector status.nodeName=node-a'],
  ['watch one Container by name without the selector', ns({ verb: 'watch', plural: 'containers', name: 'web' }), 'without fieldSelector status.nodeName=node-a'],
  ['get an unbound Container', ns({ verb: 'get', plural: 'containers', name: 'web', object: container() }), 'bound to "no node"'],
  ['get a Container on another node', ns({ verb: 'get', plural: 'containers', name: 'web', object: container('node-b') }), 'bound to "node-b"'],
  ['patch a Container spec', ns({ verb: 'patch', plural: 'containers', name: 'web', object: container('node-a'), patchType: 'merge', body: { spec: { image: 'x' } } }), 'writes only the status'],
  ['move a Container to another node via status', ns({ verb: 'patch', plural: 'containers', name: 'web', subresource: 'status', object: container('node-a'), patchType: 'merge', body: { status: { nodeName: 'node-b' } } }), 'may not change status.nodeName'],
  ['drop the binding in a status PUT', ns({ verb: 'update', plural: 'containers', name: 'web', subresource: 'status', object: container('node-a'), body: container() }), 'may not change status.nodeName'],
  ['json-patch the binding away', ns({ verb: 'patch', plural: 'agents', name: 'a', subresource: 'status', object: container('node-a'), patchType: 'json', body: [{ op: 'remove', path: '/status/nodeName' }] }), 'may not change status.nodeName'],
  ['post the log of a Container on another node', ns({ verb: 'create', plural: 'containers', name: 'web', subresource: 'log', object: container('node-b') }), 'not bound to it'],
  ['get another Node', ns({ verb: 'get', plural: 'nodes', name: 'node-b' }), 'its own Node "node-a"'],
  ['create another Node', ns({ verb: 'create', plural: 'nodes', body: { ...node(), metadata: { name: 'node-b', namespace: 'demo' } } }), 'other than its own Node "node-a"'],
  ['list all Nodes', ns({ verb: 'list', plural: 'nodes' }), 'without fieldSelector metadata.name=node-a'],
  ['patch another Node\'s status', ns({ verb: 'patch', plural: 'nodes', name: 'node-b', subresource: 'status', patchType: 'merge', body: {} }), 'its own Node'],
  ['uncordon itself', ns({ verb: 'patch', plural: 'nodes', name: 'node-a', patchType: 'merge', body: { spec: { unschedulable: false } } }), 'only the status and the labels'],
  ['change its taints in a PUT', ns({ verb: 'update', plural: 'nodes', name: 'node-a', body: { ...node(), spec: { labels: {}, taints: [{ key: 'k', effect: 'NoSchedule' }] } }, object: node() }), 'only the status and the labels'],
  ['delete its own Node', ns({ verb: 'delete', plural: 'nodes', name: 'node-a' }), 'may not delete Nodes'],
  ['get another Cluster', { verb: 'get', plural: 'clusters', group: G, name: 'other', clusterScoped: true }, 'token is limited to cluster "demo"'],
  ['read its Cluster\'s join tokens', { verb: 'get', plural: 'clusters', group: G, name: 'demo', subresource: 'join-tokens', clusterScoped: true }, 'only read its own Cluster'],
  ['update its own Cluster', { verb: 'update', plural: 'clusters', group: G, name: 'demo', clusterScoped: true }, 'token is limited to cluster "demo"'],
  ['read AgentDeployments', ns({ verb: 'list', plural: 'agentdeployments' }), 'may not use agentdeployments'],
  ['list Events', ns({ verb: 'list', plural: 'events' }), 'may only create Events'],
];

describe('NodeRestriction (role node)', () => {
  it.each(allowed)('a node may %s', (_what, attrs) => {
    expect(() => authorize(nodeA, attrs)).not.toThrow();
  });

  it.each(denied)('a node may not %s', (_what, attrs, message) => {
    let err: unknown;
    try {
      authorize(nodeA, attrs);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 403, reason: 'Forbidden' });
    expect((err as Error).message).toContain(message);
    expect((err as Error).message).toMatch(/^node "node-a" cannot /);
  });

  it('a node credential without a node name may do nothing', () => {
    expect(() => authorize({ name: 'n', role: 'node', cluster: 'demo' }, ns({ verb: 'create', plural: 'events' }))).toThrow(/not bound to a node/);
  });

  it('the restriction applies to role node only: an admin lists every Task', () => {
    expect(() => authorize({ name: 'alice', role: 'admin' }, ns({ verb: 'list', plural: 'tasks' }))).not.toThrow();
  });
});
