// `drover delete`: by file, by name, by label selector or --all; --wait until the objects are gone.
import type { Command } from 'commander';
import { isApiError } from '../../core/errors.ts';
import type { ResourceType } from '../../core/resources.ts';
import { CLIError, usageError } from '../cli-error.ts';
import type { CommandEnv } from '../command-env.ts';
import { quotedName, refName, resolveKind } from '../kinds.ts';
import { writeln } from '../output.ts';
import { parseDuration, waitForObject } from '../wait-for.ts';
import { loadPrepared } from './apply.ts';

interface DeleteOpts {
  filename?: string[];
  recursive: boolean;
  selector?: string;
  all: boolean;
  wait: boolean;
  timeout: string;
  ignoreNotFound: boolean;
}

interface Victim {
  rt: ResourceType;
  namespace: string | undefined;
  name: string;
}

export function registerDelete(program: Command, env: CommandEnv): void {
  program
    .command('delete')
    .description('delete objects by file, by name, by label selector or all of a kind')
    .argument('[args...]', 'KIND NAME..., or KIND/NAME...')
    .option('-f, --filename <path...>', 'delete the objects these manifests describe')
    .option('-R, --recursive', 'walk directories recursively', false)
    .option('-l, --selector <selector>', 'delete the objects matching this label selector')
    .option('--all', 'delete every object of the kind in the namespace', false)
    .option('--wait', 'wait until the objects are gone', false)
    .option('--timeout <duration>', 'how long --wait waits', '60s')
    .option('--ignore-not-found', 'a missing object is not an error', false)
    .action(async (args: string[], o: DeleteOpts, cmd: Command) => {
      const session = env.session(cmd);
      const victims: Victim[] = [];
      if (o.filename?.length) {
        if (args.length) throw usageError('give either -f or KIND NAME, not both');
        for (const p of await loadPrepared(env, cmd, o.filename, o.recursive, false)) victims.push({ rt: p.rt, namespace: p.namespace, name: p.name });
        victims.reverse(); // dependants first, the reverse of apply order
      } else {
        const registry = env.registry();
        if (args.length === 0) throw usageError('you must specify what to delete', "e.g. 'drover delete agentdeployment trading' or 'drover delete -f dir/'");
        if (args[0].includes('/')) {
          for (const a of args) {
            const [k, n] = a.split('/', 2);
            const rt = resolveKind(registry, k);
            victims.push({ rt, namespace: rt.namespaced ? session.namespace : undefined, name: n });
          }
        } else {
          const rt = resolveKind(registry, args[0]);
          const ns = rt.namespaced ? session.namespace : undefined;
          const names = args.slice(1);
          if (names.length && (o.selector || o.all)) throw usageError('names cannot be combined with -l or --all');
          if (names.length === 0) {
            if (!o.selector && !o.all) throw usageError(`which ${rt.plural}?`, 'give names, -l SELECTOR or --all');
            const list = await session.client.list(rt, { namespace: ns, labelSelector: o.selector });
            for (const obj of list.items) victims.push({ rt, namespace: ns, name: obj.metadata.name });
            if (list.items.length === 0) writeln(env.io.stderr, 'No resources found');
          }
          for (const n of names) victims.push({ rt, namespace: ns, name: n });
        }
      }

      let missing = 0;
      const deleted: Victim[] = [];
      for (const v of victims) {
        try {
          await session.client.delete(v.rt, v.namespace, v.name);
          writeln(env.io.stdout, `${quotedName(v.rt, v.name)} deleted`);
          deleted.push(v);
        } catch (e) {
          if (!isApiError(e, 404)) throw e;
          if (o.ignoreNotFound) continue;
          missing++;
          writeln(env.io.stderr, `error: ${quotedName(v.rt, v.name)} not found`);
        }
      }

      if (o.wait && deleted.length) {
        const deadline = env.now() + parseDuration(o.timeout);
        for (const v of deleted) {
          // Finalizers may keep an object around after the DELETE answered; watch until it is really gone.
          const result = await waitForObject(session.client, v.rt, v.namespace, v.name, { type: 'delete' }, {
            timeoutMs: Math.max(0, deadline - env.now()),
            signal: env.io.signal,
            onProgress: (ms) => writeln(env.io.stderr, `waiting for ${refName(v.rt, v.name)} to be deleted (${Math.round(ms / 1000)}s)…`),
          });
          if (result === 'interrupted') return;
          if (result === 'timeout') throw new CLIError(`timed out waiting for the deletion of ${v.rt.plural}/${v.name}`, { hint: 'its finalizers may still be running' });
        }
      }
      if (missing) env.exitCode = 1;
    });
}
