// `drover cordon|uncordon NODE` and `drover drain NODE`: stop placing on a node, and move what can
// move off it (clearing the binding lets the container controller place it elsewhere).
import type { Command } from 'commander';
import type { KubeObject } from '../../core/types.ts';
import type { ResourceType } from '../../core/resources.ts';
import type { ApiClient } from '../../core/client.ts';
import { EVICT_ANNOTATION } from '../../reconcilers/container-reconciler.ts';
import { CLIError } from '../cli-error.ts';
import type { CommandEnv } from '../command-env.ts';
import { refName, resolveKind } from '../kinds.ts';
import { writeln } from '../output.ts';
import { parseDuration } from '../wait-for.ts';

interface DrainOpts {
  timeout: string;
  pollInterval: string;
}

export function registerNodeOps(program: Command, env: CommandEnv): void {
  for (const [verb, unschedulable, doc] of [['cordon', true, 'mark a node unschedulable: no new containers are placed on it'], ['uncordon', false, 'mark a node schedulable again']] as const) {
    program
      .command(verb)
      .description(doc)
      .argument('<node>', 'node name')
      .action(async (name: string, _o: unknown, cmd: Command) => {
        const session = env.session(cmd);
        const nodes = resolveKind(env.registry(), 'Node');
        writeln(env.io.stdout, await setUnschedulable(session.client, nodes, session.namespace, name, unschedulable));
      });
  }

  program
    .command('drain')
    .description('cordon a node, move its unpinned containers elsewhere and wait until none is bound to it')
    .argument('<node>', 'node name')
    .option('--timeout <duration>', 'how long to wait for the containers to leave', '5m')
    .option('--poll-interval <duration>', 'how often to check progress', '1s')
    .action(async (name: string, o: DrainOpts, cmd: Command) => {
      const session = env.session(cmd);
      const { client, namespace } = session;
      const registry = env.registry();
      const nodes = resolveKind(registry, 'Node');
      const containers = resolveKind(registry, 'Container');
      const timeoutMs = parseDuration(o.timeout);
      const pollMs = Math.max(50, parseDuration(o.pollInterval));
      const out = env.io.stdout;

      writeln(out, await setUnschedulable(client, nodes, namespace, name, true));
      const onNode = async () => (await client.list(containers, { namespace, fieldSelector: `status.nodeName=${name}` })).items;
      const pinned = (c: KubeObject) => typeof c.spec?.nodeName === 'string' && c.spec.nodeName !== '';

      const skipped = new Set<string>();
      for (const c of await onNode()) {
        if (pinned(c)) {
          skipped.add(c.metadata.name);
          writeln(out, `skipping container/${c.metadata.name} (pinned to ${name} by spec.nodeName)`);
          continue;
        }
        writeln(out, `evicting container/${c.metadata.name}`);
        await evict(client, containers, namespace, c, name, env.now());
      }

      const deadline = env.now() + timeoutMs;
      let lastCount = -1;
      for (;;) {
        const left = (await onNode()).filter((c) => !skipped.has(c.metadata.name));
        if (left.length === 0) break;
        if (left.length !== lastCount) {
          writeln(out, `waiting for ${left.length} container${left.length === 1 ? '' : 's'} to leave ${name}…`);
          lastCount = left.length;
        }
        // A container pinned meanwhile, or one the drain has not seen yet, is handled on the next pass.
        for (const c of left) {
          if (pinned(c)) {
            skipped.add(c.metadata.name);
            writeln(out, `skipping container/${c.metadata.name} (pinned to ${name} by spec.nodeName)`);
          } else if (!c.metadata.annotations?.[EVICT_ANNOTATION]?.startsWith(`${name}@`)) {
            writeln(out, `evicting container/${c.metadata.name}`);
            await evict(client, containers, namespace, c, name, env.now());
          }
        }
        if (env.now() >= deadline) {
          throw new CLIError(`timed out after ${o.timeout} waiting for ${left.length} container(s) to leave node ${name}: ${left.map((c) => c.metadata.name).join(', ')}`, {
            hint: `the node stays cordoned; check 'drover get containers' and run 'drover drain ${name}' again`,
          });
        }
        if (await sleep(pollMs, env.io.signal)) return; // Ctrl-C: the node stays cordoned
      }
      writeln(out, `${refName(nodes, name)} drained${skipped.size ? ` (${skipped.size} pinned container${skipped.size === 1 ? '' : 's'} left in place)` : ''}`);
    });
}

/** Patch spec.unschedulable; returns the line to print (kubectl wording). */
async function setUnschedulable(client: ApiClient, nodes: ResourceType, namespace: string, name: string, value: boolean): Promise<string> {
  const node = await client.get(nodes, namespace, name);
  const verb = value ? 'cordoned' : 'uncordoned';
  if (Boolean(node.spec?.unschedulable) === value) return `${refName(nodes, name)} already ${verb}`;
  await client.patch(nodes, namespace, name, { spec: { unschedulable: value } }, 'merge');
  return `${refName(nodes, name)} ${verb}`;
}

/**
 * Ask the manager to move it: the container reconciler removes the copy on `node` first and then places
 * it again (reconcilers/container-reconciler.ts, EVICT_ANNOTATION), so it never runs on two nodes at once.
 */
async function evict(client: ApiClient, containers: ResourceType, namespace: string, c: KubeObject, node: string, now: number): Promise<void> {
  await client.patch(containers, namespace, c.metadata.name, { metadata: { annotations: { [EVICT_ANNOTATION]: `${node}@${new Date(now).toISOString()}` } } }, 'merge');
}

/** Resolves true when interrupted. */
function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); resolve(true); }, { once: true });
  });
}
