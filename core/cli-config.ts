// The CLI config file (~/.drover/config or $DROVER_CONFIG): contexts naming a server, a token and a namespace.
// YAML; written atomically (temp file + rename) with mode 0600 because it holds bearer tokens.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync, unlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';

export interface CliContext {
  server: string;
  token?: string;
  namespace?: string;
  /** Base64 of the PEM of the CA to trust for an https server (kubeconfig style). */
  'certificate-authority-data'?: string;
  /** A PEM file holding that CA; relative paths are relative to the config file's folder. Used when there is no -data. */
  'certificate-authority'?: string;
}

export interface NamedContext {
  name: string;
  context: CliContext;
}

export interface CliConfig {
  apiVersion: string;
  kind: 'Config';
  'current-context'?: string;
  contexts: NamedContext[];
}

export class CliConfigError extends Error {
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.name = 'CliConfigError';
    this.file = file;
  }
}

export function emptyCliConfig(): CliConfig {
  return { apiVersion: 'drover.dev/v1alpha1', kind: 'Config', contexts: [] };
}

/** `$DROVER_CONFIG` when set, else `~/.drover/config`. */
export function defaultConfigPath(env: Record<string, string | undefined> = process.env): string {
  return env.DROVER_CONFIG || join(env.HOME || homedir(), '.drover', 'config');
}

/** A missing file reads as an empty config; a malformed one throws CliConfigError naming the file. */
export function readCliConfig(path: string): CliConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyCliConfig();
    throw new CliConfigError(path, `cannot read the config file: ${(e as Error).message}`, { cause: e });
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (e) {
    throw new CliConfigError(path, `invalid YAML: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  if (raw === null || raw === undefined) return emptyCliConfig();
  return checkShape(path, raw);
}

function checkShape(path: string, raw: unknown): CliConfig {
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new CliConfigError(path, 'expected a mapping with kind: Config');
  const r = raw as Record<string, unknown>;
  if (r.kind !== undefined && r.kind !== 'Config') throw new CliConfigError(path, `expected kind: Config, found kind: ${String(r.kind)}`);
  const contexts = r.contexts ?? [];
  if (!Array.isArray(contexts)) throw new CliConfigError(path, 'contexts: expected a list');
  const out: NamedContext[] = contexts.map((c, i) => {
    const entry = c as Partial<NamedContext> | null;
    if (!entry || typeof entry.name !== 'string' || !entry.context || typeof entry.context !== 'object') {
      throw new CliConfigError(path, `contexts[${i}]: expected {name, context: {server, token, namespace}}`);
    }
    if (typeof entry.context.server !== 'string') throw new CliConfigError(path, `contexts[${i}].context.server: expected a URL string`);
    for (const k of ['certificate-authority-data', 'certificate-authority'] as const) {
      if (entry.context[k] !== undefined && typeof entry.context[k] !== 'string') throw new CliConfigError(path, `contexts[${i}].context.${k}: expected a string`);
    }
    return { name: entry.name, context: { ...entry.context } };
  });
  const cfg: CliConfig = { apiVersion: typeof r.apiVersion === 'string' ? r.apiVersion : 'drover.dev/v1alpha1', kind: 'Config', contexts: out };
  if (typeof r['current-context'] === 'string') cfg['current-context'] = r['current-context'];
  return cfg;
}

/** Atomic: write a temp file with mode 0600 next to the target, then rename over it. */
export function writeCliConfig(path: string, cfg: CliConfig): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    writeFileSync(tmp, stringify(cfg), { mode: 0o600 });
    chmodSync(tmp, 0o600); // the umask may have narrowed it; make it exact
    renameSync(tmp, path);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* the temp file may never have been created */ }
    throw new CliConfigError(path, `cannot write the config file: ${(e as Error).message}`, { cause: e });
  }
}

/** Add or replace (field by field) the context `name`; returns a new config. */
export function mergeContext(cfg: CliConfig, name: string, ctx: Partial<CliContext>, opts: { makeCurrent?: boolean } = {}): CliConfig {
  const contexts = cfg.contexts.map((c) => ({ name: c.name, context: { ...c.context } }));
  const existing = contexts.find((c) => c.name === name);
  const defined = Object.fromEntries(Object.entries(ctx).filter(([, v]) => v !== undefined)) as Partial<CliContext>;
  if (existing) Object.assign(existing.context, defined);
  else contexts.push({ name, context: { server: '', ...defined } });
  const out: CliConfig = { ...cfg, contexts };
  if (opts.makeCurrent || !cfg['current-context']) out['current-context'] = name;
  return out;
}

/**
 * The PEM of the CA a context trusts: `certificate-authority-data` (base64 PEM), else the `certificate-authority`
 * file; undefined when the context names none (then the system CAs apply). Throws CliConfigError when unusable.
 */
export function contextCa(ctx: CliContext, configPath: string): string | undefined {
  const data = ctx['certificate-authority-data'];
  if (data) {
    const pem = Buffer.from(data, 'base64').toString('utf8');
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new CliConfigError(configPath, 'certificate-authority-data is not the base64 of a PEM certificate');
    return pem;
  }
  const file = ctx['certificate-authority'];
  if (!file) return undefined;
  const abs = isAbsolute(file) ? file : resolve(dirname(configPath), file);
  let pem: string;
  try {
    pem = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new CliConfigError(configPath, `certificate-authority ${abs}: ${(e as Error).message}`, { cause: e });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new CliConfigError(configPath, `certificate-authority ${abs} holds no PEM certificate`);
  return pem;
}

export function findContext(cfg: CliConfig, name: string): CliContext | undefined {
  return cfg.contexts.find((c) => c.name === name)?.context;
}

/** Copy with every token replaced, for `drover config view`. */
export function redactTokens(cfg: CliConfig): CliConfig {
  return {
    ...cfg,
    contexts: cfg.contexts.map((c) => ({ name: c.name, context: c.context.token ? { ...c.context, token: 'REDACTED' } : { ...c.context } })),
  };
}
