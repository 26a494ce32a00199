// Turning a Container/Agent spec into an argv + environment for spawn(): PATH lookup as execvp
// does it, a minimal inherited environment, and the Linux parent-death wrapper.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';

export const SETPRIV = '/usr/bin/setpriv';

/**
 * What a workload inherits from the agent's own environment. Everything else (tokens, DROVER_CONFIG…)
 * stays private to the agent; the workload gets its spec.env on top.
 */
export const INHERITED_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'] as const;

export type EnvVar = { name: string; value?: string };

export function buildEnv(base: NodeJS.ProcessEnv, ...layers: Array<EnvVar[] | Record<string, string> | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of INHERITED_ENV) if (base[k] !== undefined) env[k] = base[k]!;
  // The Node.js running the agent is always on the workload's PATH (last), so `node …` commands work
  // even where the machine's own node is missing.
  const nodeDir = dirname(process.execPath);
  if (!(env.PATH ?? '').split(delimiter).includes(nodeDir)) env.PATH = env.PATH ? `${env.PATH}${delimiter}${nodeDir}` : nodeDir;
  for (const layer of layers) {
    if (!layer) continue;
    if (Array.isArray(layer)) for (const v of layer) env[v.name] = v.value ?? '';
    else Object.assign(env, layer);
  }
  return env;
}

export class CommandNotFound extends Error {
  constructor(command: string) {
    super(`executable file not found in $PATH: ${command}`);
    this.name = 'CommandNotFound';
  }
}

/** Resolve argv[0]: a name without `/` is looked up in PATH, a path is taken relative to cwd. */
export function resolveCommand(command: string, pathVar: string | undefined, cwd: string): string {
  if (command.includes('/')) {
    const p = isAbsolute(command) ? command : resolve(cwd, command);
    if (!isExecutableFile(p)) throw new CommandNotFound(command);
    return p;
  }
  for (const dir of (pathVar ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(isAbsolute(dir) ? dir : resolve(cwd, dir), command);
    if (isExecutableFile(p)) return p;
  }
  throw new CommandNotFound(command);
}

function isExecutableFile(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    // Not there or not executable: both mean "keep looking" (execvp does the same).
    return false;
  }
}

export function setprivAvailable(): boolean {
  return process.platform === 'linux' && existsSync(SETPRIV);
}

/**
 * argv for spawn. With pdeathsig the kernel SIGKILLs the group leader when the agent dies, even by
 * SIGKILL; it does not reach the leader's own children, which recover() reaps on the next start.
 */
export function wrapArgv(argv: string[], pdeathsig: boolean): { file: string; args: string[] } {
  if (pdeathsig) return { file: SETPRIV, args: ['--pdeathsig', 'KILL', '--', ...argv] };
  return { file: argv[0], args: argv.slice(1) };
}
