// `drover migrate agent NAME [--to CONTAINER] [--timeout 60s]`: a planned, make-before-break move.
// A replacement Agent (same deployment, annotation drover.dev/replaces) starts first; the old one is
// deleted only once the replacement runs. On timeout the replacement goes and the old one stays.
import type { Command } from 'commander';
import type { KubeObject } from '../../core/types.ts';
import type { AgentDeploymentSpec, AgentSpec, AgentStatus } from '../../core/kinds.generated.ts';
import { parseDuration } from '../../core/duration.ts';
import { isApiError } from '../../core/errors.ts';
import { AgentAnnotations, AgentLabels } from '../../reconcilers/agent-deployment-reconciler.ts';
import { CLIError, usageError } from '../cli-error.ts';
import type { CommandEnv } from '../command-env.ts';
import { resolveKind } from '../kinds.ts';
import { writeln } from '../output.ts';

const POLL_MS = 250;
const DEFAULT_TIMEOUT = '60s';

/** The replacement: same labels, owner, template hash and spec; optionally preset to a container. */
export function replacementFor(old: KubeObject, to: string | undefined): KubeObject {
  const spec = { ...(structuredClone(old.spec ?? {}) as AgentSpec) };
  delete spec.containerName;
  if (to) spec.containerName = to;
  const deployment = old.metadata.labels?.[AgentLabels.deployment];
  const annotations: Record<string, string> = { ...(old.metadata.annotations ?? {}), [AgentAnnotations.replaces]: old.metadata.name };
  delete annotations['drover.dev/migrating-from'];
  delete annotations['drover.dev/last-moved'];
  return {
    apiVersion: old.apiVersion,
    kind: old.kind,
    metadata: {
      name: '',
      generateName: `${deployment ?? old.metadata.name}-`,
      namespace: old.metadata.namespace,
      labels: { ...(old.metadata.labels ?? {}) },
      annotations,
      ...(old.metadata.ownerReferences ? { ownerReferences: structuredClone(old.metadata.ownerReferences) } : {}),
    },
    spec: spec as Record<string, unknown>,
  };
}

const where = (a: KubeObject) => {
  const st = (a.status ?? {}) as AgentStatus;
  const c = st.containerName ?? (a.spec as AgentSpec | undefined)?.containerName;
  return c ? `container ${c}${st.nodeName ? ` on ${st.nodeName}` : ''}` : 'no container yet';
};

export function registerMigrate(program: Command, env: CommandEnv): void {
  program
    .command('migrate')
    .description('move an agent make-before-break: start a replacement, wait until it runs, then delete the old one')
    .argument('<args...>', 'agent NAME, or agent/NAME')
    .option('--to <container>', 'the container to move to (default: the scheduler chooses, never the current one)')
    .option('--timeout <duration>', 'how long the replacement may take to run (default: the deployment\'s spec.migration.timeout, else 60s)')
    .action(async (args: string[], o: { to?: string; timeout?: string }, cmd: Command) => {
      const [kind, name] = args.length === 1 && args[0].includes('/') ? args[0].split('/', 2) : args;
      if (!kind || !name || args.length > 2) throw usageError('which agent?', "e.g. 'drover migrate agent trading-x7k2p --to orchestrator-2'");
      const registry = env.registry();
      const rt = resolveKind(registry, kind);
      if (rt.kind !== 'Agent') throw usageError(`cannot migrate ${rt.plural}: only agents can be migrated`);
      const session = env.session(cmd);
      const { client, namespace } = session;
      const out = env.io.stdout;

      const old = await client.get(rt, namespace, name);
      if (old.metadata.deletionTimestamp) throw new CLIError(`agent ${name} is being deleted`);
      if (o.to && o.to === (old.spec as AgentSpec | undefined)?.containerName) throw usageError(`agent ${name} already runs in container ${o.to}`);
      let timeoutText = o.timeout;
      const deployment = old.metadata.labels?.[AgentLabels.deployment];
      if (!timeoutText && deployment) {
        try {
          const d = await client.get(resolveKind(registry, 'AgentDeployment'), namespace, deployment);
          timeoutText = (d.spec as AgentDeploymentSpec | undefined)?.migration?.timeout;
        } catch (err) {
          if (!isApiError(err, 404)) throw err;
        }
      }
      let timeoutMs: number;
      try {
        timeoutMs = parseDuration(timeoutText ?? DEFAULT_TIMEOUT);
      } catch (err) {
        throw usageError(`--timeout: ${(err as Error).message}`);
      }

      writeln(out, `agent/${name}: running in ${where(old)}`);
      const created = await client.create(rt, replacementFor(old, o.to));
      const repl = created.metadata.name;
      writeln(out, `agent/${repl}: replacement created${o.to ? ` for container ${o.to}` : ''}`);

      const deadline = env.now() + timeoutMs;
      let last = '';
      for (;;) {
        let cur: KubeObject;
        try {
          cur = await client.get(rt, namespace, repl);
        } catch (err) {
          if (isApiError(err, 404)) throw new CLIError(`replacement agent ${repl} was deleted by someone else; agent/${name} stays in ${where(old)}`, { cause: err });
          throw err;
        }
        const st = (cur.status ?? {}) as AgentStatus;
        const line = `agent/${repl}: ${st.phase ?? 'Pending'}${st.nodeName || (cur.spec as AgentSpec | undefined)?.containerName ? ` in ${where(cur)}` : ''}${st.message ? ` (${st.message})` : ''}`;
        if (line !== last) writeln(out, line);
        last = line;
        if (st.phase === 'Running') {
          await client.delete(rt, namespace, name);
          writeln(out, `agent/${name}: deleted`);
          writeln(out, `agent/${name} migrated to ${where(cur)} as agent/${repl}`);
          return;
        }
        if (env.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      try {
        await client.delete(rt, namespace, repl);
      } catch (err) {
        if (!isApiError(err, 404)) throw err;
      }
      writeln(out, `agent/${repl}: deleted (not running after ${timeoutText ?? DEFAULT_TIMEOUT})`);
      await recordFailure(env, cmd, old, `replacement ${repl} did not run within ${timeoutText ?? DEFAULT_TIMEOUT}; agent stays in ${where(old)}`);
      throw new CLIError(`migration of agent/${name} timed out; it stays in ${where(old)}`, { hint: `see 'drover describe agent ${repl}' events, or retry with --to` });
    });
}

/** Event MigrationFailed on the old agent, so `drover describe` shows why it did not move. */
async function recordFailure(env: CommandEnv, cmd: Command, agent: KubeObject, message: string): Promise<void> {
  const session = env.session(cmd);
  const rt = resolveKind(env.registry(), 'Event');
  const now = new Date(env.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const { name, namespace, uid } = agent.metadata;
  try {
    await session.client.create(rt, {
      apiVersion: rt.apiVersion, kind: 'Event',
      metadata: { name: '', generateName: `${name}.`, namespace },
      involvedObject: { apiVersion: agent.apiVersion, kind: agent.kind, name, namespace, ...(uid ? { uid } : {}) },
      reason: 'MigrationFailed', message, type: 'Warning', count: 1, firstTimestamp: now, lastTimestamp: now,
      source: { component: 'drover-migrate' },
    });
  } catch (err) {
    // The move's outcome is already printed; a missing Event must not change the exit code's meaning.
    writeln(env.io.stderr, `warning: could not record the MigrationFailed event: ${(err as Error).message}`);
  }
}
