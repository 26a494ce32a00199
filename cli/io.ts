// What a CLI run may touch, injected so tests drive commands in-process (no process.* inside commands).
import type { ResourceRegistry } from '../core/resources.ts';

export interface OutStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface Io {
  stdout: OutStream;
  stderr: OutStream;
  env: Record<string, string | undefined>;
  /** Whole standard input, for `-f -`. */
  readStdin?: () => Promise<string>;
  /** Base for relative paths; defaults to process.cwd(). */
  cwd?: string;
  /** HTTP transport for the API client (tests pass a fake). */
  fetch?: typeof fetch;
  /** Resource registry (tests may pass one; default loadRegistry() from crds/). */
  registry?: ResourceRegistry;
  /** Milliseconds since the epoch, for AGE columns and timeouts. */
  now?: () => number;
  /** Aborted on Ctrl-C: long-running commands (`get -w`, `wait`) stop and exit 0. */
  signal?: AbortSignal;
}
