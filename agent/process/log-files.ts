// One workload's combined stdout/stderr on disk, rotated by size like Docker's json-file driver
// (`max-size`, `max-file`: maxFiles counts the live file too), plus the not-yet-shipped output.
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';

export const DEFAULT_LOG_MAX_BYTES = 5 * 2 ** 20;
export const DEFAULT_LOG_MAX_FILES = 3;
/** Output waiting to be shipped (every second) is capped here; older output is only in the files. */
export const MAX_PENDING_BYTES = 256 * 1024;
/** What logs() returns when no size is asked for (the manager keeps 1 MiB per container too). */
export const DEFAULT_TAIL_BYTES = 2 ** 20;

export interface RotatingLogOptions {
  maxBytes?: number;
  maxFiles?: number;
}

export class RotatingLog {
  readonly path: string;
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private fd: number | undefined;
  private size: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly decoder = new TextDecoder('utf-8');
  private ended = false;

  constructor(path: string, opts: RotatingLogOptions = {}) {
    this.path = path;
    this.maxBytes = opts.maxBytes ?? DEFAULT_LOG_MAX_BYTES;
    this.maxFiles = Math.max(1, opts.maxFiles ?? DEFAULT_LOG_MAX_FILES);
    mkdirSync(dirname(path), { recursive: true });
    this.size = existsSync(path) ? statSync(path).size : 0;
  }

  /** Append synchronously: chunks of stdout and stderr stay in the order they arrived. */
  write(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    // Output that arrives after the workload was removed must not recreate its files.
    if (buf.length === 0 || this.ended) return;
    if (this.size > 0 && this.size + buf.length > this.maxBytes) this.rotate();
    this.fd ??= openSync(this.path, 'a', 0o640);
    writeSync(this.fd, buf);
    this.size += buf.length;
    this.pending.push(buf);
    this.pendingBytes += buf.length;
    while (this.pendingBytes > MAX_PENDING_BYTES && this.pending.length > 1) this.pendingBytes -= this.pending.shift()!.length;
  }

  /** Output written since the previous call (undefined when there is none). */
  readNew(): string | undefined {
    if (this.pendingBytes === 0) return undefined;
    const buf = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    // A streaming decoder keeps a multi-byte character split across two calls whole.
    const text = this.decoder.decode(buf, { stream: true });
    return text.length ? text : undefined;
  }

  /** The last `bytes` of output, reaching into the rotated file when the live one is shorter. */
  async tail(bytes = DEFAULT_TAIL_BYTES): Promise<string> {
    return tailFiles([`${this.path}.1`, this.path], bytes);
  }

  /** No more writes; the files stay. */
  close(): void {
    this.ended = true;
    this.closeFd();
  }

  /** Close and delete the live and rotated files. */
  removeFiles(): void {
    this.close();
    for (let i = 0; i < this.maxFiles; i++) rmSync(i === 0 ? this.path : `${this.path}.${i}`, { force: true });
  }

  private closeFd(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private rotate(): void {
    this.closeFd();
    // container.log.(n-1) falls off, every other file moves one up, the live file becomes .1.
    rmSync(`${this.path}.${this.maxFiles - 1}`, { force: true });
    for (let i = this.maxFiles - 2; i >= 1; i--) {
      if (existsSync(`${this.path}.${i}`)) renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    }
    if (this.maxFiles > 1) renameSync(this.path, `${this.path}.1`);
    else rmSync(this.path, { force: true });
    this.size = 0;
  }
}

/** The last `bytes` of the concatenation of `files` (oldest first; missing files are skipped). */
export async function tailFiles(files: string[], bytes: number): Promise<string> {
  const parts: Buffer[] = [];
  let want = bytes;
  for (const file of [...files].reverse()) {
    if (want <= 0) break;
    let fh;
    try {
      fh = await open(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new Error(`cannot read log ${file}`, { cause: err });
    }
    try {
      const { size } = await fh.stat();
      const len = Math.min(size, want);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, size - len);
      parts.unshift(buf);
      want -= len;
    } finally {
      await fh.close();
    }
  }
  let buf = Buffer.concat(parts);
  // Drop UTF-8 continuation bytes cut off at the start so the text does not begin with U+FFFD.
  let skip = 0;
  while (skip < buf.length && skip < 3 && (buf[skip] & 0xc0) === 0x80) skip++;
  buf = buf.subarray(skip);
  return buf.toString('utf8');
}
