// `drover status [-n CLUSTER]`: the overview of one Cluster (counts, capacity vs allocated, load
// imbalance, conditions) and its topology nodes → containers → agents, from the seed cluster API.
import type { Command } from 'commander';
import type { ClusterOverview, Topology, TopologyContainer } from '../../api/cluster-views.ts';
import type { LeaderStatus } from '../../core/leader-election.ts';
import type { CommandEnv } from '../command-env.ts';
import { usageError } from '../cli-error.ts';
import { toJsonText } from '../output.ts';

const ZONE_LABELS = ['zone', 'topology.kubernetes.io/zone', 'drover.dev/zone'];

function frac(used: unknown, total: unknown): string {
  return `${String(used ?? 0)}/${String(total ?? 0)}`;
}

function overviewLines(o: ClusterOverview): string[] {
  const cond = o.conditions.find((c) => c.type === 'Ready');
  const a = o.agents;
  const lines = [
    `Cluster ${o.cluster}: ${o.ready ? 'Ready' : 'NotReady'}${o.registered ? '' : ' (no Cluster object with this name)'}`,
    `  nodes         ${frac(o.nodes.ready, o.nodes.total)} ready`,
    `  containers    ${frac(o.containers.running, o.containers.total)} running`,
    `  agents        ${frac(a.running, a.total)} running, ${a.pending} pending${a.unplaced ? ` (${a.unplaced} unschedulable)` : ''}`,
  ];
  if (o.capacity && o.allocated) {
    lines.push(`  node capacity cpu ${frac(o.allocated.cpu, o.capacity.cpu)}, memory ${frac(o.allocated.memory, o.capacity.memory)} allocated`);
  }
  const h = o.agentHosts;
  lines.push(
    `  agent slots   ${frac(h.allocated.agents, h.capacity.agents)} on ${h.containers} agent host${h.containers === 1 ? '' : 's'} (cpu ${frac(h.allocated.cpu, h.capacity.cpu)}, memory ${frac(h.allocated.memory, h.capacity.memory)})`,
    `  imbalance     ${o.imbalance}${o.load.length ? ` (most loaded: ${o.load[0].container} ${Math.round(o.load[0].ratio * 100)}%)` : ''}`,
  );
  if (o.conditions.length) {
    lines.push('conditions:');
    for (const c of o.conditions) lines.push(`  ${c.type}=${c.status}${c.reason ? ` ${c.reason}` : ''}${c.message ? `: ${c.message}` : ''}`);
  } else if (!cond) {
    lines.push('conditions: none reported yet');
  }
  return lines;
}

function containerLines(c: TopologyContainer, indent: string): string[] {
  const slots = c.agentHost ? `, ${c.agents}/${c.capacity || '?'} agents` : '';
  const out = [`${indent}container ${c.name} (${c.phase}${slots})`];
  for (const a of c.agentList) out.push(`${indent}  agent ${a.name} (${a.phase})`);
  return out;
}

function topologyLines(t: Topology): string[] {
  const lines = ['topology:'];
  if (t.nodes.length === 0) lines.push('  (no nodes)');
  for (const n of t.nodes) {
    const zoneKey = ZONE_LABELS.find((k) => n.labels[k]);
    const notes = [n.ready ? 'Ready' : 'NotReady', ...(n.unschedulable ? ['cordoned'] : []), ...(zoneKey ? [`zone=${n.labels[zoneKey]}`] : [])];
    lines.push(`${n.name} (${notes.join(', ')})${n.ready ? '' : '  <- not ready'}`);
    for (const c of n.containers) lines.push(...containerLines(c, '  '));
  }
  if (t.unplacedContainers.length) {
    lines.push('unplaced containers:');
    for (const c of t.unplacedContainers) lines.push(...containerLines(c, '  '));
  }
  if (t.unscheduled.length) {
    lines.push('unscheduled:');
    for (const a of t.unscheduled) lines.push(`  agent ${a.name} (${a.phase})${a.message ? `: ${a.message}` : ''}`);
  }
  return lines;
}

/** With several managers (etcd store): which one runs the controllers. One manager on SQLite always does. */
export function leaderLine(l: LeaderStatus | undefined): string[] {
  if (!l || l.store === 'sqlite') return [];
  if (!l.leader) return [`  leader        none elected yet${l.error ? ` (${l.error})` : ''}`];
  const where = l.leader.url ? ` at ${l.leader.url}` : '';
  const since = l.leader.since ? ` since ${l.leader.since}` : '';
  const ttl = l.leaseTtlSeconds ? `, lease ${l.leaseTtlSeconds}s` : '';
  return [`  leader        ${l.leader.id}${where}${since} (${l.store}${ttl}; answered by ${l.isLeader ? 'the leader' : l.self.id})`];
}

/** The whole `drover status` text. */
export function formatClusterStatus(o: ClusterOverview, t: Topology, leader?: LeaderStatus): string {
  const overview = overviewLines(o);
  // after the counts and imbalance, before the conditions
  const at = overview.findIndex((l) => l === 'conditions:' || l.startsWith('conditions: '));
  overview.splice(at < 0 ? overview.length : at, 0, ...leaderLine(leader));
  return [...overview, '', ...topologyLines(t)].join('\n') + '\n';
}

export function registerStatus(program: Command, env: CommandEnv): void {
  program
    .command('status')
    .description('overview of a Cluster (-n CLUSTER): nodes, containers, agents, capacity, load, and the topology tree')
    .option('-o, --output <format>', 'json for the raw overview and topology')
    .action(async (o: { output?: string }, cmd: Command) => {
      if (o.output !== undefined && o.output !== 'json') throw usageError(`unknown output format "${o.output}"`, 'use -o json or leave it out');
      const session = env.session(cmd);
      const qs = `?namespace=${encodeURIComponent(session.namespace)}`;
      const [overview, topology, leader] = await Promise.all([
        session.client.raw('GET', `/api/v1/cluster/status${qs}`) as Promise<ClusterOverview>,
        session.client.raw('GET', `/api/v1/cluster/topology${qs}`) as Promise<Topology>,
        // a manager before leader election has no /leader: leave the line out
        (session.client.raw('GET', '/leader') as Promise<LeaderStatus>).catch(() => undefined),
      ]);
      env.io.stdout.write(o.output === 'json' ? toJsonText({ overview, topology, ...(leader ? { leader } : {}) }) : formatClusterStatus(overview, topology, leader));
    });
}
