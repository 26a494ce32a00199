// A user-facing CLI failure: printed as `error: <what happened> (<what to do>)`, exits with `exitCode`.
export const ExitCodes = { ok: 0, failure: 1, usage: 2 } as const;

export class CLIError extends Error {
  readonly exitCode: number;
  readonly hint?: string;
  constructor(message: string, opts: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'CLIError';
    this.exitCode = opts.exitCode ?? ExitCodes.failure;
    this.hint = opts.hint;
  }
}

export function usageError(message: string, hint?: string): CLIError {
  return new CLIError(message, { hint, exitCode: ExitCodes.usage });
}
