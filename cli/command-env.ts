// What every command's action gets: the injected io, the parsed global flags and lazy session/registry.
import type { Command } from 'commander';
import type { ResourceRegistry } from '../core/resources.ts';
import { openSession, registryOf } from './context.ts';
import type { GlobalOptions, Session } from './context.ts';
import type { Io } from './io.ts';

export interface CommandEnv {
  io: Io;
  globals(cmd: Command): GlobalOptions;
  session(cmd: Command): Session;
  registry(): ResourceRegistry;
  now(): number;
  /** The exit code the run returns (commands set it; errors thrown are turned into codes by main). */
  exitCode: number;
  /** Exit code for a thrown error when a command needs a special one (diff: 2, since 1 means "differences"). */
  errorExitCode?: number;
}

export function createCommandEnv(io: Io): CommandEnv {
  const globals = (cmd: Command): GlobalOptions => {
    const o = cmd.optsWithGlobals() as GlobalOptions;
    return { context: o.context, server: o.server, token: o.token, namespace: o.namespace, config: o.config };
  };
  return {
    io,
    globals,
    session: (cmd) => openSession(globals(cmd), io),
    registry: () => registryOf(io),
    now: () => (io.now ? io.now() : Date.now()),
    exitCode: 0,
  };
}
