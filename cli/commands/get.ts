// `drover get`: tables from the CRD printer columns, -o yaml|json|name, -w streaming rows.
import type { Command } from 'commander';
import type { ApiClient } from '../../core/client.ts';
import { isApiError } from '../../core/errors.ts';
import type { ResourceRegistry, ResourceType } from '../../core/resources.ts';
import type { KubeObject } from '../../core/types.ts';
import { CLIError, usageError } from '../cli-error.ts';
import { tableShape } from '../columns.ts';
import type { CommandEnv } from '../command-env.ts';
import type { Session } from '../context.ts';
import { refName, resolveKind, resolveKinds } from '../kinds.ts';
import { StreamingTable, asList, toJsonText, toYamlText, writeln } from '../output.ts';
import { watchLoop } from '../watch-loop.ts';

export const OutputFormats = ['table', 'wide', 'yaml', 'json', 'name'] as const;
export type OutputFormat = (typeof OutputFormats)[number];

export interface GetTarget {
  rt: ResourceType;
  names: string[];
}

export interface GetOptions {
  selector?: string;
  fieldSelector?: string;
  allNamespaces: boolean;
  output?: string;
  watch: boolean;
  watchOnly: boolean;
  headers: boolean;
}

export function parseOutput(value: string | undefined): OutputFormat {
  const v = value ?? 'table';
  if ((OutputFormats as readonly string[]).includes(v)) return v as OutputFormat;
  throw usageError(`unknown output format "${v}"`, 'use -o wide, yaml, json or name');
}

/** `KIND[,KIND] [NAME...]` or `KIND/NAME [KIND/NAME...]` → what to fetch. */
export function parseTargets(registry: ResourceRegistry, args: string[]): GetTarget[] {
  if (args.length === 0) throw usageError('you must specify the type of resource to get', "e.g. 'drover get agentdeployments'");
  if (args[0].includes('/')) {
    const targets: GetTarget[] = [];
    for (const a of args) {
      const [kind, name, ...rest] = a.split('/');
      if (!kind || !name || rest.length) throw usageError(`"${a}" is not KIND/NAME`, 'mix of KIND/NAME and KIND NAME is not allowed');
      const rt = resolveKind(registry, kind);
      const t = targets.find((x) => x.rt === rt);
      if (t) t.names.push(name);
      else targets.push({ rt, names: [name] });
    }
    return targets;
  }
  const types = resolveKinds(registry, args[0]);
  const names = args.slice(1);
  if (names.length && types.length > 1) throw usageError('names can only be given with a single kind', "use KIND/NAME, e.g. 'drover get ad/trading agent/trading-0'");
  return types.map((rt) => ({ rt, names }));
}

function nsOf(rt: ResourceType, session: Session, allNamespaces: boolean): string | undefined {
  return rt.namespaced && !allNamespaces ? session.namespace : undefined;
}

interface Fetched {
  target: GetTarget;
  items: KubeObject[];
  resourceVersion: string;
}

async function fetchTarget(env: CommandEnv, client: ApiClient, session: Session, t: GetTarget, o: GetOptions): Promise<Fetched> {
  const namespace = nsOf(t.rt, session, o.allNamespaces);
  if (t.names.length === 0) {
    const list = await client.list(t.rt, { namespace, labelSelector: o.selector, fieldSelector: o.fieldSelector });
    return { target: t, items: list.items, resourceVersion: list.metadata.resourceVersion };
  }
  const items: KubeObject[] = [];
  for (const name of t.names) {
    try {
      items.push(await client.get(t.rt, namespace, name));
    } catch (e) {
      if (!isApiError(e, 404)) throw e;
      writeln(env.io.stderr, `error: ${e.message}`);
      env.exitCode = 1;
    }
  }
  const rvs = items.map((i) => Number(i.metadata.resourceVersion ?? 0));
  return { target: t, items, resourceVersion: String(rvs.length ? Math.max(...rvs) : 0) };
}

export function noResourcesMessage(targets: GetTarget[], session: Session, allNamespaces: boolean): string {
  const namespaced = targets.some((t) => t.rt.namespaced);
  return namespaced && !allNamespaces ? `No resources found in ${session.namespace} namespace.` : 'No resources found';
}

export function registerGet(program: Command, env: CommandEnv): void {
  program
    .command('get')
    .description('list objects as a table (or yaml, json, names); -w streams changes')
    .argument('<kind>', 'kind, plural, singular or short name; several with commas; "all"; or KIND/NAME')
    .argument('[names...]', 'object names')
    .option('-l, --selector <selector>', 'label selector, e.g. tier=agents,env!=dev')
    .option('--field-selector <selector>', 'field selector, e.g. status.phase=Running')
    .option('-A, --all-namespaces', 'list across all namespaces', false)
    .option('-o, --output <format>', 'wide, yaml, json or name')
    .option('-w, --watch', 'after listing, stream changes until Ctrl-C', false)
    .option('--watch-only', 'stream changes without listing first', false)
    .option('--no-headers', 'omit the header row')
    .action(async (kind: string, names: string[], o: GetOptions, cmd: Command) => {
      const format = parseOutput(o.output);
      const registry = env.registry();
      const targets = parseTargets(registry, [kind, ...names]);
      if (o.allNamespaces && targets.some((t) => t.names.length)) {
        throw new CLIError('a resource cannot be retrieved by name across all namespaces', { hint: 'drop -A and use -n NAMESPACE' });
      }
      const session = env.session(cmd);
      const { client } = session;
      const watching = o.watch || o.watchOnly;
      const tables = new Map<ResourceType, StreamingTable>();
      const shapeOf = (rt: ResourceType) => tableShape(rt, { wide: format === 'wide', allNamespaces: o.allNamespaces, kindPrefix: targets.length > 1, now: env.now });

      const fetched: Fetched[] = [];
      for (const t of targets) fetched.push(await fetchTarget(env, client, session, t, o));

      if (!o.watchOnly) {
        const all = fetched.flatMap((f) => f.items);
        if (format === 'yaml' || format === 'json') {
          const single = targets.length === 1 && targets[0].names.length === 1;
          if (all.length || !single) {
            const value = single && all.length === 1 ? all[0] : asList(all);
            env.io.stdout.write(format === 'yaml' ? toYamlText(value) : toJsonText(value));
          }
        } else if (format === 'name') {
          for (const f of fetched) for (const obj of f.items) writeln(env.io.stdout, refName(f.target.rt, obj.metadata.name));
        } else {
          let first = true;
          for (const f of fetched) {
            if (f.items.length === 0) continue;
            if (!first) writeln(env.io.stdout);
            first = false;
            const shape = shapeOf(f.target.rt);
            const table = new StreamingTable();
            tables.set(f.target.rt, table);
            const rows = f.items.map((obj) => shape.row(obj));
            const lines = table.formatAll(o.headers ? [shape.headers, ...rows] : rows);
            for (const line of lines) writeln(env.io.stdout, line);
          }
        }
        if (all.length === 0 && env.exitCode === 0 && !watching) writeln(env.io.stderr, noResourcesMessage(targets, session, o.allNamespaces));
      }
      if (!watching) return;

      const printEvent = (rt: ResourceType, obj: KubeObject) => {
        if (format === 'yaml') { env.io.stdout.write('---\n' + toYamlText(obj)); return; }
        if (format === 'json') { env.io.stdout.write(toJsonText(obj)); return; }
        if (format === 'name') { writeln(env.io.stdout, refName(rt, obj.metadata.name)); return; }
        const shape = shapeOf(rt);
        let table = tables.get(rt);
        if (!table) {
          table = new StreamingTable();
          tables.set(rt, table);
          if (o.headers) table.formatAll([shape.headers, shape.row(obj)]).slice(0, 1).forEach((l) => writeln(env.io.stdout, l));
        }
        writeln(env.io.stdout, table.format(shape.row(obj)));
      };

      await Promise.all(fetched.map(async (f) => {
        const { rt, names } = f.target;
        const seen = new Map(f.items.map((i) => [`${i.metadata.namespace}/${i.metadata.name}`, i.metadata.resourceVersion]));
        const wanted = (obj: KubeObject) => names.length === 0 || names.includes(obj.metadata.name);
        const show = (obj: KubeObject) => {
          if (!wanted(obj)) return;
          seen.set(`${obj.metadata.namespace}/${obj.metadata.name}`, obj.metadata.resourceVersion);
          printEvent(rt, obj);
        };
        await watchLoop(client, rt, {
          namespace: nsOf(rt, session, o.allNamespaces),
          labelSelector: o.selector,
          fieldSelector: names.length === 1 ? joinSelectors(o.fieldSelector, `metadata.name=${names[0]}`) : o.fieldSelector,
          // --watch-only starts from now: '0' asks the server for no replay
          resourceVersion: o.watchOnly ? '0' : f.resourceVersion,
          signal: env.io.signal,
          onRelist: (items) => {
            for (const obj of items) if (seen.get(`${obj.metadata.namespace}/${obj.metadata.name}`) !== obj.metadata.resourceVersion) show(obj);
          },
        }, (ev) => show(ev.object));
      }));
    });
}

function joinSelectors(a: string | undefined, b: string): string {
  return a ? `${a},${b}` : b;
}
