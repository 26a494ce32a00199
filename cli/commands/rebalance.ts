// `drover rebalance [-n NS] [--dry-run]`: asks the manager for a rebalance plan and prints the moves and
// the load per container before → after; without --dry-run the rebalancer executes it make-before-break
// and this command waits (with progress) until the moved agents are gone from their old containers.
import type { Command } from 'commander';
import { CLIError } from '../cli-error.ts';
import type { CommandEnv } from '../command-env.ts';
import { StreamingTable, writeln } from '../output.ts';

export const REBALANCE_WAIT_MS = 2 * 60_000;
const POLL_MS = 1000;

interface LoadRow { container: string; node: string; agents: number; capacity: number; ratio: number }
interface Move { agent: string; deployment: string; from: { container: string; node: string }; to: { container: string; node: string }; reason: string }
export interface PlanAnswer {
  cluster: string;
  moves: Move[];
  before: LoadRow[];
  after: LoadRow[];
  imbalanceBefore: number;
  imbalanceAfter: number;
  threshold: number;
  skipped: Array<{ agent: string; reason: string }>;
}

const BAR = 10;
function bar(ratio: number): string {
  const n = Math.max(0, Math.min(BAR, Math.round(ratio * BAR)));
  return '█'.repeat(n) + '·'.repeat(BAR - n);
}
const cell = (r: LoadRow | undefined) => (r ? `${bar(r.ratio)} ${r.agents}/${r.capacity} ${r.ratio.toFixed(2)}` : '-');

/** The plan as the user reads it: moves, then load per container before → after. */
export function formatPlan(plan: PlanAnswer): string[] {
  const lines: string[] = [];
  const f = (n: number) => n.toFixed(2);
  if (plan.moves.length === 0) {
    lines.push(plan.imbalanceBefore <= plan.threshold
      ? `nothing to do: imbalance ${f(plan.imbalanceBefore)} ≤ threshold ${f(plan.threshold)}`
      : `nothing to do: imbalance ${f(plan.imbalanceBefore)} > threshold ${f(plan.threshold)}, but no agent can move`);
  } else {
    lines.push(`${plan.moves.length} move(s): imbalance ${f(plan.imbalanceBefore)} → ${f(plan.imbalanceAfter)} (threshold ${f(plan.threshold)})`);
    lines.push(...new StreamingTable().formatAll([
      ['AGENT', 'DEPLOYMENT', 'FROM', 'TO', 'REASON'],
      ...plan.moves.map((m) => [m.agent, m.deployment, `${m.from.container} (${m.from.node})`, `${m.to.container} (${m.to.node})`, m.reason]),
    ]));
  }
  if (plan.before.length) {
    lines.push('');
    const after = new Map(plan.after.map((r) => [r.container, r]));
    lines.push(...new StreamingTable().formatAll([
      ['CONTAINER', 'NODE', 'BEFORE', 'AFTER'],
      ...plan.before.map((r) => [r.container, r.node, cell(r), cell(after.get(r.container))]),
    ]));
  }
  if (plan.moves.length === 0 && plan.skipped.length) {
    const counts = new Map<string, number>();
    for (const s of plan.skipped) counts.set(s.reason, (counts.get(s.reason) ?? 0) + 1);
    lines.push('', `not moved: ${[...counts].map(([r, n]) => `${n} ${r}`).join(', ')}`);
  }
  return lines;
}

export function registerRebalance(program: Command, env: CommandEnv): void {
  program
    .command('rebalance')
    .description('plan (and run) moves that even out the agent load of a Cluster; make-before-break')
    .option('--dry-run', 'only print the plan', false)
    .option('--timeout <seconds>', 'how long to wait for the moves', String(REBALANCE_WAIT_MS / 1000))
    .action(async (o: { dryRun: boolean; timeout: string }, cmd: Command) => {
      const session = env.session(cmd);
      const ns = session.namespace;
      const path = `/api/v1/clusters/${encodeURIComponent(ns)}/rebalance?dryRun=${o.dryRun ? 'true' : 'false'}`;
      const plan = (await session.client.raw('POST', path)) as PlanAnswer;
      for (const l of formatPlan(plan)) writeln(env.io.stdout, l);
      if (o.dryRun || plan.moves.length === 0) return;

      writeln(env.io.stdout, `rebalance of ${ns} started: ${plan.moves.length} moves`);
      const agentType = env.registry().resolve('Agent');
      if (!agentType) throw new CLIError('the Agent kind is missing from crds/');
      const start = env.now();
      const deadline = start + Number(o.timeout) * 1000;
      let lastDone = -1;
      for (;;) {
        const items = (await session.client.list(agentType, { namespace: ns })).items;
        const names = new Set(items.map((a) => a.metadata.name));
        const inFlight = items.filter((a) => names.has(a.metadata.annotations?.['drover.dev/replaces'] ?? '')).length;
        const done = plan.moves.filter((m) => !names.has(m.agent)).length;
        if (done !== lastDone) {
          writeln(env.io.stdout, `${done}/${plan.moves.length} moves done, ${inFlight} in flight`);
          lastDone = done;
        }
        if (done === plan.moves.length) return;
        if (inFlight === 0 && env.now() > start + 15_000) {
          // the rebalancer replans from fresh state; if it chose other agents (or rolled back), say so
          writeln(env.io.stderr, `the rebalancer finished with ${done}/${plan.moves.length} of the planned moves: see 'drover get events -n ${ns}'`);
          env.exitCode = 1;
          return;
        }
        if (env.now() >= deadline || env.io.signal?.aborted) {
          writeln(env.io.stderr, `timed out: ${done}/${plan.moves.length} moves done, ${inFlight} still in flight`);
          env.exitCode = 1;
          return;
        }
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    });
}
