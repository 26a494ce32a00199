// Output helpers: error lines, YAML/JSON of objects, table rows that stay aligned while streaming.
import { ApiError } from '../core/errors.ts';
import { ConnectionError } from '../core/client.ts';
import { CliConfigError } from '../core/cli-config.ts';
import type { KubeObject } from '../core/types.ts';
import { toYaml } from '../core/yaml-io.ts';
import { CLIError, ExitCodes } from './cli-error.ts';
import type { OutStream } from './io.ts';

export function writeln(out: OutStream, text = ''): void {
  out.write(text + '\n');
}

/** One line `error: <what happened> (<what to do>)`, plus the stack when DROVER_DEBUG=1. */
export function formatError(e: unknown, debug = false): { text: string; exitCode: number } {
  let message: string;
  let exitCode: number = ExitCodes.failure;
  if (e instanceof CLIError) {
    message = e.hint ? `${e.message} (${e.hint})` : e.message;
    exitCode = e.exitCode;
  } else if (e instanceof ApiError) {
    message = `${e.message}${apiHint(e)}`;
  } else if (e instanceof ConnectionError || e instanceof CliConfigError) {
    message = e.message;
  } else if (e instanceof Error) {
    message = e.message;
  } else {
    message = String(e);
  }
  let text = `error: ${message}\n`;
  if (debug && e instanceof Error && e.stack) text += e.stack + '\n';
  return { text, exitCode };
}

function apiHint(e: ApiError): string {
  if (e.code === 401) return ' (check the token of your context: drover config view)';
  if (e.code === 403) return ' (your token is not allowed to do this)';
  return '';
}

export function toYamlText(value: unknown): string {
  return toYaml(value);
}

export function toJsonText(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/** `-o yaml|json` of several objects is a `List`, as kubectl prints it. */
export function asList(items: KubeObject[]): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items };
}

/**
 * Pads rows to column widths that only grow, so `get -w` rows line up with the first table.
 * Same layout as core/printer.ts formatTable (kubectl's tabwriter: min width 6, padding 3).
 */
export class StreamingTable {
  #widths: number[] = [];
  #grow(cells: string[]): void {
    cells.forEach((c, i) => { this.#widths[i] = Math.max(this.#widths[i] ?? 6, c.length + 3); });
  }
  format(cells: string[]): string {
    this.#grow(cells);
    return cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(this.#widths[i]))).join('').trimEnd();
  }
  /** Set the widths from a whole table first (headers + rows); returns its lines. */
  formatAll(rows: string[][]): string[] {
    for (const r of rows) this.#grow(r);
    return rows.map((r) => this.format(r));
  }
}
