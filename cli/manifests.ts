// `-f FILE|DIR|-` → parsed manifest documents (directories sorted, .yaml/.yml/.json, -R recursive).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import { MAX_MANIFEST_BYTES, formatCause, parseManifests } from '../core/yaml-io.ts';
import type { ManifestDoc } from '../core/yaml-io.ts';
import type { KubeObject, StatusCause } from '../core/types.ts';
import { CLIError } from './cli-error.ts';
import type { Io } from './io.ts';

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export interface Source {
  /** As shown in messages: relative to the working directory when inside it. */
  file: string;
  text: string;
}

export interface LoadedDoc {
  doc: ManifestDoc;
  file: string;
  object: KubeObject;
}

/** Every file named by the -f arguments, in order; directories expand sorted by name. */
export async function readSources(paths: string[], opts: { recursive?: boolean }, io: Io): Promise<Source[]> {
  if (paths.length === 0) throw new CLIError('no manifests given', { hint: 'pass -f FILE, -f DIR or -f -', exitCode: 2 });
  const cwd = io.cwd ?? process.cwd();
  const out: Source[] = [];
  for (const p of paths) {
    if (p === '-') {
      if (!io.readStdin) throw new CLIError('cannot read manifests from standard input here');
      out.push({ file: '<stdin>', text: await io.readStdin() });
      continue;
    }
    const abs = isAbsolute(p) ? p : resolve(cwd, p);
    for (const f of expand(abs, p, opts.recursive ?? false)) {
      const shown = f.startsWith(cwd + '/') ? relative(cwd, f) : f;
      // refuse a huge file before reading it into memory (parseManifests checks the text again)
      const size = statSync(f).size;
      if (size > MAX_MANIFEST_BYTES) throw new CLIError(`${shown}:1:1: file is ${size} bytes; manifests are limited to ${MAX_MANIFEST_BYTES} bytes (5 MiB)`, { exitCode: 1 });
      out.push({ file: shown, text: readFileSync(f, 'utf8') });
    }
  }
  return out;
}

function expand(abs: string, given: string, recursive: boolean): string[] {
  let st;
  try {
    st = statSync(abs);
  } catch (e) {
    throw new CLIError(`the path "${given}" does not exist`, { cause: e });
  }
  if (!st.isDirectory()) return [abs];
  const files: string[] = [];
  for (const entry of readdirSync(abs, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const full = join(abs, entry.name);
    if (entry.isDirectory()) {
      if (recursive) files.push(...expand(full, full, true));
    } else if (MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase())) {
      files.push(full);
    }
  }
  return files;
}

/** Parse every source; YAML errors of all files are collected (each `file:line:col: message`) before failing. */
export function parseSources(sources: Source[]): { docs: LoadedDoc[]; errors: string[] } {
  const docs: LoadedDoc[] = [];
  const errors: string[] = [];
  for (const src of sources) {
    let parsed: ManifestDoc[];
    try {
      parsed = parseManifests(src.text, src.file);
    } catch (e) {
      errors.push((e as Error).message.startsWith(src.file) ? (e as Error).message : `${src.file}: ${(e as Error).message}`);
      continue;
    }
    for (const doc of parsed) {
      const object = doc.object as KubeObject | null | undefined;
      if (object === null || object === undefined) continue; // an empty document (e.g. a trailing ---)
      if (typeof object !== 'object' || Array.isArray(object)) {
        errors.push(causeLine(doc, { field: '', reason: 'FieldValueInvalid', message: 'expected a mapping (an object with apiVersion and kind)' }));
        continue;
      }
      docs.push({ doc, file: src.file, object });
    }
  }
  return { docs, errors };
}

/** `file:line:col: field.path: message` */
export function causeLine(doc: ManifestDoc, cause: StatusCause): string {
  return formatCause(doc, cause);
}
