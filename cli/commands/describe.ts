// `drover describe KIND NAME`: metadata, spec and status as indented YAML, conditions and events tables.
import type { Command } from 'commander';
import type { ApiClient } from '../../core/client.ts';
import { formatAge } from '../../core/printer.ts';
import type { ResourceRegistry, ResourceType } from '../../core/resources.ts';
import { redactSecretEnv, scrubSecrets, secretEnvValues } from '../../core/secret-env.ts';
import type { Condition, KubeObject } from '../../core/types.ts';
import { usageError } from '../cli-error.ts';
import type { CommandEnv } from '../command-env.ts';
import { resolveKind } from '../kinds.ts';
import { StreamingTable, toYamlText } from '../output.ts';
import { LAST_APPLIED } from '../prepare.ts';

const LABEL_WIDTH = 14;

function field(label: string, value: string): string {
  return `${(label + ':').padEnd(LABEL_WIDTH)}${value}`;
}

/** `Labels:  a=b` with further entries aligned under the first; `<none>` when empty. */
function mapField(label: string, m: Record<string, string> | undefined): string[] {
  const entries = Object.entries(m ?? {});
  if (entries.length === 0) return [field(label, '<none>')];
  return entries.map(([k, v], i) => (i === 0 ? field(label, `${k}=${v}`) : ' '.repeat(LABEL_WIDTH) + `${k}=${v}`));
}

function indent(text: string, by = 2): string[] {
  return text.trimEnd().split('\n').map((l) => ' '.repeat(by) + l);
}

function ageOf(ts: string | undefined, now: number): string {
  if (!ts) return '<unknown>';
  const t = Date.parse(ts);
  return Number.isNaN(t) ? '<unknown>' : formatAge(Math.max(0, now - t));
}

function eventTime(ev: KubeObject): string | undefined {
  const e = ev as Record<string, unknown>;
  const s = (ev.spec ?? {}) as Record<string, unknown>;
  const pick = (o: Record<string, unknown>) => (o.lastTimestamp ?? o.eventTime ?? o.firstTimestamp) as string | undefined;
  return pick(e) ?? pick(s) ?? ev.metadata.creationTimestamp;
}

/** Events may keep their fields at the top level (core/v1 style) or under spec (CRD style): read either. */
function eventField(ev: KubeObject, name: string): unknown {
  const top = (ev as Record<string, unknown>)[name];
  return top !== undefined ? top : (ev.spec as Record<string, unknown> | undefined)?.[name];
}

function eventSource(ev: KubeObject): string {
  const src = eventField(ev, 'source') as { component?: string; host?: string } | undefined;
  const reporter = eventField(ev, 'reportingController') ?? eventField(ev, 'reportingComponent');
  return src?.component ?? (typeof reporter === 'string' ? reporter : '') ?? '';
}

export async function relatedEvents(client: ApiClient, registry: ResourceRegistry, obj: KubeObject): Promise<KubeObject[]> {
  const eventRt = registry.resolve('Event');
  if (!eventRt) return [];
  const namespace = obj.metadata.namespace;
  const list = await client.list(eventRt, { namespace, fieldSelector: `involvedObject.name=${obj.metadata.name}` });
  const filtered = list.items.filter((ev) => {
    const involved = eventField(ev, 'involvedObject') as { uid?: string; kind?: string } | undefined;
    if (involved?.uid && obj.metadata.uid) return involved.uid === obj.metadata.uid;
    return !involved?.kind || involved.kind === obj.kind;
  });
  return filtered.sort((a, b) => Date.parse(eventTime(a) ?? '') - Date.parse(eventTime(b) ?? ''));
}

/** Secret env values (`secret: true`) show as <redacted> in the spec and in event and condition messages. */
export function describeText(rt: ResourceType, stored: KubeObject, events: KubeObject[], now: number): string {
  const secrets = secretEnvValues(stored);
  const scrub = (s: string) => scrubSecrets(s, secrets);
  const obj = redactSecretEnv(stored);
  const lines: string[] = [];
  const m = obj.metadata;
  lines.push(field('Name', m.name));
  if (rt.namespaced) lines.push(field('Namespace', m.namespace ?? ''));
  lines.push(...mapField('Labels', m.labels));
  const annotations = { ...(m.annotations ?? {}) };
  delete annotations[LAST_APPLIED];
  lines.push(...mapField('Annotations', annotations));
  lines.push(field('API Version', obj.apiVersion));
  lines.push(field('Kind', obj.kind));
  lines.push(field('Created', m.creationTimestamp ? `${m.creationTimestamp} (${ageOf(m.creationTimestamp, now)} ago)` : '<unknown>'));
  if (m.deletionTimestamp) lines.push(field('Deleting', `since ${m.deletionTimestamp}`));
  if (m.ownerReferences?.length) lines.push(field('Controlled By', m.ownerReferences.map((o) => `${o.kind}/${o.name}`).join(', ')));
  if (m.finalizers?.length) lines.push(field('Finalizers', m.finalizers.join(', ')));

  const spec = obj.spec ?? Object.fromEntries(Object.entries(obj).filter(([k]) => !['apiVersion', 'kind', 'metadata', 'status'].includes(k)));
  lines.push('Spec:');
  lines.push(...(Object.keys(spec).length ? indent(toYamlText(spec)) : ['  <none>']));

  const { conditions, ...statusRest } = (obj.status ?? {}) as { conditions?: Condition[] } & Record<string, unknown>;
  lines.push('Status:');
  lines.push(...(Object.keys(statusRest).length ? indent(scrub(toYamlText(statusRest))) : ['  <none>']));

  lines.push('Conditions:');
  if (conditions?.length) {
    const t = new StreamingTable();
    const rows = [['Type', 'Status', 'Reason', 'Message', 'Last Transition'],
      ...conditions.map((c) => [c.type, c.status, c.reason ?? '', scrub(c.message ?? ''), c.lastTransitionTime ?? ''])];
    lines.push(...t.formatAll(rows).map((l) => '  ' + l));
  } else {
    lines.push('  <none>');
  }

  if (events.length) {
    lines.push('Events:');
    const t = new StreamingTable();
    const rows = [['Type', 'Reason', 'Age', 'From', 'Message'],
      ...events.map((ev) => [String(eventField(ev, 'type') ?? ''), String(eventField(ev, 'reason') ?? ''), ageOf(eventTime(ev), now),
        eventSource(ev), scrub(String(eventField(ev, 'message') ?? ''))])];
    lines.push(...t.formatAll(rows).map((l) => '  ' + l));
  } else {
    lines.push(field('Events', '<none>'));
  }
  return lines.join('\n') + '\n';
}

export function registerDescribe(program: Command, env: CommandEnv): void {
  program
    .command('describe')
    .description('show one object in detail, with its conditions and events')
    .argument('<kind>', 'kind, or KIND/NAME')
    .argument('[names...]', 'object names')
    .action(async (kind: string, names: string[], _o: unknown, cmd: Command) => {
      const registry = env.registry();
      const pairs = kind.includes('/') ? [kind, ...names].map((a) => a.split('/', 2) as [string, string]) : names.map((n) => [kind, n] as [string, string]);
      if (pairs.length === 0) throw usageError('describe needs a name', "e.g. 'drover describe agentdeployment trading'");
      const session = env.session(cmd);
      for (const [i, [k, name]] of pairs.entries()) {
        const rt = resolveKind(registry, k);
        const obj = await session.client.get(rt, rt.namespaced ? session.namespace : undefined, name);
        const events = rt.kind === 'Event' ? [] : await relatedEvents(session.client, registry, obj);
        if (i > 0) env.io.stdout.write('\n\n');
        env.io.stdout.write(describeText(rt, obj, events, env.now()));
      }
    });
}
