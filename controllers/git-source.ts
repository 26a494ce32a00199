// The git adapter of the GitOps controller: one bare mirror per GitRepository under the manager's data dir,
// fetched with the git CLI. Every command runs with an argument vector (never a shell), a timeout, no system or
// global git config, no terminal prompt, and only the file and http(s) transports allowed (GIT_ALLOW_PROTOCOL).
// A token travels in the environment (GIT_CONFIG_*), never on the command line where `ps` would show it.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describeRef, fetchPlan, gitPathProblem, gitUrlProblem, normalizeGitPath, type GitRef } from '../core/git-source.ts';
import { MAX_MANIFEST_BYTES } from '../core/yaml-io.ts';
import type { RevisionFile } from '../reconcilers/gitops-revision.ts';

export interface GitFetchRequest {
  url: string;
  ref?: GitRef;
  /** A whole header line, e.g. `Authorization: Bearer …`, sent with http(s) requests. */
  authHeader?: string;
}

export interface RevisionFiles {
  files: RevisionFile[];
  /** Files that cannot be used (too large), as `file:1:1: message`. */
  problems: string[];
}

export interface GitSource {
  /** Fetch `req.ref` into the mirror of `key`; resolves to the full commit id it points at. */
  fetch(key: string, req: GitFetchRequest): Promise<string>;
  /** Every *.yaml / *.yml file below `path` at `commit` (hidden files and directories, symlinks and submodules skipped). */
  readFiles(key: string, url: string, commit: string, path: string): Promise<RevisionFiles>;
  /** Drop the mirrors of a GitRepository that is gone. */
  remove(key: string): void;
}

export interface GitSourceOptions {
  /** Mirrors live here (DATA_DIR/gitops/cache). */
  cacheDir: string;
  /** Limit for one git command (default 2 minutes). */
  timeoutMs?: number;
  /** The git binary (default `git` on PATH). */
  gitBinary?: string;
}

export const DEFAULT_GIT_TIMEOUT_MS = 120_000;
/** A revision with more files, or more bytes of YAML, is refused as a whole. */
export const MAX_REVISION_FILES = 10_000;
export const MAX_REVISION_BYTES = 64 * 1024 * 1024;
const MAX_OUTPUT_BYTES = MAX_REVISION_BYTES + 16 * 1024 * 1024;

export class GitError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GitError';
  }
}

const hash = (s: string) => createHash('sha256').update(s).digest('hex');

export function createGitSource(opts: GitSourceOptions): GitSource {
  const git = opts.gitBinary ?? 'git';
  const timeoutMs = opts.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS;
  mkdirSync(opts.cacheDir, { recursive: true, mode: 0o700 });
  const keyPrefix = (key: string) => hash(key).slice(0, 24);
  const mirrorOf = (key: string, url: string) => join(opts.cacheDir, `${keyPrefix(key)}-${hash(url).slice(0, 12)}.git`);

  function env(authHeader?: string): NodeJS.ProcessEnv {
    const config: Array<[string, string]> = [['gc.auto', '0'], ['core.hooksPath', '/dev/null'], ['credential.helper', '']];
    // the token goes to this host only: a redirect elsewhere would carry it along
    if (authHeader) config.push(['http.extraHeader', authHeader], ['http.followRedirects', 'false']);
    const e: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: opts.cacheDir,
      LANG: 'C', LC_ALL: 'C',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
      GIT_ASKPASS: '/bin/false',
      GIT_ALLOW_PROTOCOL: 'file:http:https',
      GIT_CONFIG_COUNT: String(config.length),
    };
    config.forEach(([k, v], i) => {
      e[`GIT_CONFIG_KEY_${i}`] = k;
      e[`GIT_CONFIG_VALUE_${i}`] = v;
    });
    return e;
  }

  function run(args: string[], o: { input?: string; authHeader?: string } = {}): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const child = spawn(git, args, { env: env(o.authHeader), stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      let outBytes = 0;
      let err = '';
      let killed: string | undefined;
      const timer = setTimeout(() => {
        killed = `timed out after ${Math.round(timeoutMs / 1000)}s`;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.stdout.on('data', (d: Buffer) => {
        outBytes += d.length;
        if (outBytes > MAX_OUTPUT_BYTES) {
          killed = `produced more than ${MAX_OUTPUT_BYTES} bytes`;
          child.kill('SIGKILL');
          return;
        }
        out.push(d);
      });
      child.stderr.on('data', (d: Buffer) => {
        if (err.length < 16_384) err += d.toString('utf8');
      });
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new GitError(`cannot run ${git}: ${e.message}`, { cause: e }));
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        if (killed) reject(new GitError(`git ${args[0] === '-C' ? args[2] : args[0]} ${killed}`));
        else if (code !== 0) reject(new GitError(cleanStderr(err) || `git exited with code ${code}`));
        else resolve(Buffer.concat(out));
      });
      child.stdin.on('error', () => undefined); // git may exit before reading all of its input
      child.stdin.end(o.input ?? '');
    });
  }

  /** The mirrors of the GitRepository's earlier urls. */
  function dropOtherMirrors(key: string, keep: string): void {
    const prefix = `${keyPrefix(key)}-`;
    for (const name of existsSync(opts.cacheDir) ? readdirSync(opts.cacheDir) : []) {
      const dir = join(opts.cacheDir, name);
      if (name.startsWith(prefix) && dir !== keep) rmSync(dir, { recursive: true, force: true });
    }
  }

  async function ensureMirror(dir: string): Promise<void> {
    if (existsSync(join(dir, 'HEAD'))) return;
    rmSync(dir, { recursive: true, force: true });
    await run(['init', '--bare', '--quiet', dir]);
  }

  async function resolve(dir: string, rev: string): Promise<string | undefined> {
    try {
      return (await run(['-C', dir, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`])).toString('utf8').trim() || undefined;
    } catch {
      return undefined;
    }
  }

  return {
    async fetch(key, req) {
      const problem = gitUrlProblem(req.url);
      if (problem) throw new GitError(problem);
      const dir = mirrorOf(key, req.url);
      await ensureMirror(dir);
      const plan = fetchPlan(req.ref);
      const fetchArgs = ['-C', dir, 'fetch', '--quiet', '--no-tags', '--force', '--prune', '--no-write-fetch-head', '--', req.url];
      try {
        await run([...fetchArgs, ...plan.refspecs], { authHeader: req.authHeader });
      } catch (e) {
        throw new GitError(`cannot fetch ${describeRef(req.ref)} from ${req.url}: ${(e as Error).message}`, { cause: e });
      }
      let commit = await resolve(dir, plan.resolve);
      if (!commit && req.ref?.commit?.length === 40) {
        // not on any branch or tag: ask for the commit itself (servers that allow it)
        await run([...fetchArgs, req.ref.commit], { authHeader: req.authHeader }).catch(() => undefined);
        commit = await resolve(dir, req.ref.commit);
      }
      if (!commit) throw new GitError(`${describeRef(req.ref)} not found in ${req.url}`);
      dropOtherMirrors(key, dir);
      return commit;
    },

    async readFiles(key, url, commit, path) {
      if (!/^[0-9a-f]{40}$/.test(commit)) throw new GitError(`not a commit id: ${commit}`);
      const pathProblem = gitPathProblem(path);
      if (pathProblem) throw new GitError(pathProblem);
      const dir = mirrorOf(key, url);
      const root = normalizeGitPath(path);
      if (root) {
        const entry = await run(['-C', dir, 'ls-tree', '-z', '--end-of-options', commit, '--', root]);
        if (entry.length === 0) throw new GitError(`path "${root}" does not exist at revision ${commit.slice(0, 12)}`);
      }
      const listing = await run(['-C', dir, 'ls-tree', '-r', '-z', '-l', '--end-of-options', commit, ...(root ? ['--', root] : [])]);
      const wanted: Array<{ sha: string; size: number; path: string }> = [];
      const problems: string[] = [];
      for (const line of listing.toString('utf8').split('\0')) {
        if (!line) continue;
        const m = /^(\d+) (\w+) ([0-9a-f]+)\s+(-|\d+)\t(.*)$/s.exec(line);
        if (!m) continue;
        const [, mode, type, sha, size, file] = m;
        if (type !== 'blob' || mode === '120000') continue; // submodules and symlinks are not followed
        if (!/\.ya?ml$/i.test(file)) continue;
        if (file.split('/').some((seg) => seg.startsWith('.'))) continue; // .github/workflows/*.yml and friends
        if (Number(size) > MAX_MANIFEST_BYTES) {
          problems.push(`${file}:1:1: file is ${size} bytes; manifests are limited to ${MAX_MANIFEST_BYTES} bytes (5 MiB)`);
          continue;
        }
        wanted.push({ sha, size: Number(size), path: file });
      }
      if (wanted.length > MAX_REVISION_FILES) throw new GitError(`the revision holds ${wanted.length} YAML files under "${root || '.'}"; at most ${MAX_REVISION_FILES} are read`);
      const total = wanted.reduce((n, w) => n + w.size, 0);
      if (total > MAX_REVISION_BYTES) throw new GitError(`the revision holds ${total} bytes of YAML under "${root || '.'}"; at most ${MAX_REVISION_BYTES} are read`);
      if (wanted.length === 0) return { files: [], problems };
      const batch = await run(['-C', dir, 'cat-file', '--batch'], { input: wanted.map((w) => `${w.sha}\n`).join('') });
      const files: RevisionFile[] = [];
      let at = 0;
      for (const w of wanted) {
        const nl = batch.indexOf(0x0a, at);
        const header = batch.subarray(at, nl).toString('utf8');
        const hm = /^([0-9a-f]+) blob (\d+)$/.exec(header);
        if (!hm || hm[1] !== w.sha) throw new GitError(`unexpected answer from git cat-file for ${w.path}: ${header.slice(0, 100)}`);
        const size = Number(hm[2]);
        files.push({ path: w.path, text: batch.subarray(nl + 1, nl + 1 + size).toString('utf8') });
        at = nl + 1 + size + 1;
      }
      return { files, problems };
    },

    remove(key) {
      dropOtherMirrors(key, '');
    },
  };
}

/** git's stderr, trimmed to its last meaningful lines. */
function cleanStderr(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('hint:'));
  return lines.slice(-3).join(' ').slice(0, 1000);
}
