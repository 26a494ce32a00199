// What a GitRepository may point at, checked before any git command runs: the CRD patterns say the same,
// this is the second line for objects stored before them. Only local paths, file:/// and http(s) are fetched:
// no ssh, no git://, no `ext::` remote helpers (they run commands), nothing git could read as an option.

export interface GitRef {
  branch?: string;
  tag?: string;
  commit?: string;
}

const REF_NAME = /^[A-Za-z0-9_][A-Za-z0-9._/-]*$/;

/** Why `url` may not be fetched, or undefined when it may. */
export function gitUrlProblem(url: unknown): string | undefined {
  if (typeof url !== 'string' || url === '') return 'url is required';
  if (url.length > 2048) return 'url is longer than 2048 characters';
  if (/[\s\u0000-\u001f\u007f]/.test(url)) return 'url must not contain spaces or control characters';
  if (url.startsWith('/')) return undefined; // an absolute local path: git's file transport
  if (url.startsWith('file:///')) return undefined;
  if (url.startsWith('http://') || url.startsWith('https://')) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return `url ${JSON.stringify(url)} is not a valid URL`;
    }
    if (!u.hostname) return 'url names no host';
    if (u.username || u.password) return 'url must not carry credentials: put a token file in spec.secretRef';
    return undefined;
  }
  return 'url must be an absolute path, file:///path, http:// or https:// (ssh, git:// and remote helpers such as ext:: are refused)';
}

/** Why `ref` cannot be used, or undefined. */
export function gitRefProblem(ref: GitRef | undefined): string | undefined {
  if (ref === undefined) return undefined;
  const set = (['branch', 'tag', 'commit'] as const).filter((k) => ref[k] !== undefined);
  if (set.length > 1) return `ref may name only one of branch, tag and commit (got ${set.join(', ')})`;
  for (const k of ['branch', 'tag'] as const) {
    const v = ref[k];
    if (v === undefined) continue;
    if (!REF_NAME.test(v) || v.includes('..') || v.includes('//') || v.includes('@{') || v.endsWith('/') || v.endsWith('.') || v.endsWith('.lock')) {
      return `ref.${k} ${JSON.stringify(v)} is not a valid git reference name`;
    }
  }
  if (ref.commit !== undefined && !/^[0-9a-f]{7,40}$/.test(ref.commit)) return `ref.commit ${JSON.stringify(ref.commit)} must be 7 to 40 lower-case hex digits`;
  return undefined;
}

/** Why `path` cannot be used, or undefined. */
export function gitPathProblem(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  if (path.includes('\0')) return 'path must not contain NUL';
  if (path.startsWith('/')) return 'path must be relative to the repository root';
  if (path.split('/').some((s) => s === '..')) return 'path must not contain ".." segments';
  return undefined;
}

/** `./apps/` → `apps`; `.` or `` → `` (the repository root). */
export function normalizeGitPath(path: string | undefined): string {
  return (path ?? '').split('/').filter((s) => s !== '' && s !== '.').join('/');
}

/** What to fetch into the mirror, and the ref to resolve to a commit afterwards. */
export function fetchPlan(ref: GitRef | undefined): { refspecs: string[]; resolve: string } {
  if (ref?.branch) return { refspecs: [`+refs/heads/${ref.branch}:refs/heads/${ref.branch}`], resolve: `refs/heads/${ref.branch}` };
  if (ref?.tag) return { refspecs: [`+refs/tags/${ref.tag}:refs/tags/${ref.tag}`], resolve: `refs/tags/${ref.tag}` };
  // a commit is reachable from some branch or tag; fetch them all, then look it up
  if (ref?.commit) return { refspecs: ['+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'], resolve: ref.commit };
  return { refspecs: ['+HEAD:refs/drover/HEAD'], resolve: 'refs/drover/HEAD' };
}

/** `branch main`, `tag v1`, `commit abc1234`, `HEAD`, for messages. */
export function describeRef(ref: GitRef | undefined): string {
  if (ref?.branch) return `branch ${ref.branch}`;
  if (ref?.tag) return `tag ${ref.tag}`;
  if (ref?.commit) return `commit ${ref.commit}`;
  return 'the default branch';
}
