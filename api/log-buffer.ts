// Recent container output kept in the manager's memory: a bounded byte ring per container (the
// oldest bytes fall off first), at most `maxContainers` rings (least recently written evicted),
// and followers that see each new chunk as it arrives.

export const DEFAULT_LOG_BYTES = 1024 * 1024;
export const DEFAULT_LOG_CONTAINERS = 256;

export interface LogFollower {
  onData(chunk: Buffer): void;
  /** The container's log is gone (container deleted or replaced by a new one of the same name). */
  onEnd(): void;
}

export interface LogReadOptions {
  /** Only the last N lines (a trailing partial line counts as one). */
  tailLines?: number;
  /** At most this many bytes, counted from the start of what would be returned. */
  limitBytes?: number;
}

export interface LogBuffer {
  /** Add output for a container; `uid` tells a re-created container of the same name from the old one. */
  append(key: string, uid: string, chunk: Buffer): void;
  read(key: string, uid: string, opts?: LogReadOptions): Buffer;
  /** Call onData for every later chunk of this container; returns the unsubscribe function. */
  follow(key: string, uid: string, f: LogFollower): () => void;
  /** Forget a container's log and end its followers. */
  drop(key: string): void;
  /** Containers with a buffer. */
  readonly size: number;
  bytes(key: string): number;
}

interface Ring {
  uid: string;
  chunks: Buffer[];
  bytes: number;
}

/** The last `n` lines of `buf` (a final line without newline counts). */
export function tailLines(buf: Buffer, n: number): Buffer {
  if (n <= 0) return Buffer.alloc(0);
  let end = buf.length;
  if (end > 0 && buf[end - 1] === 0x0a) end--; // the trailing newline ends the last line, it does not start one
  let start = end;
  for (let seen = 0; start > 0; start--) {
    if (buf[start - 1] === 0x0a && ++seen === n) break;
  }
  return buf.subarray(start);
}

export function createLogBuffer(opts: { maxBytes?: number; maxContainers?: number } = {}): LogBuffer {
  const maxBytes = opts.maxBytes ?? DEFAULT_LOG_BYTES;
  const maxContainers = opts.maxContainers ?? DEFAULT_LOG_CONTAINERS;
  // Map order = least recently written first
  const rings = new Map<string, Ring>();
  const followers = new Map<string, Set<{ uid: string; f: LogFollower }>>();

  const endFollowers = (key: string, keepUid?: string) => {
    const set = followers.get(key);
    if (!set) return;
    for (const entry of [...set]) {
      if (entry.uid === keepUid) continue;
      set.delete(entry);
      entry.f.onEnd();
    }
    if (set.size === 0) followers.delete(key);
  };

  return {
    append(key, uid, chunk) {
      if (chunk.length === 0) return;
      let ring = rings.get(key);
      if (ring && ring.uid !== uid) {
        endFollowers(key, uid);
        ring = undefined;
      }
      rings.delete(key);
      ring ??= { uid, chunks: [], bytes: 0 };
      rings.set(key, ring);
      const data = chunk.length > maxBytes ? chunk.subarray(chunk.length - maxBytes) : chunk;
      ring.chunks.push(Buffer.from(data));
      ring.bytes += data.length;
      while (ring.bytes > maxBytes) {
        const first = ring.chunks[0];
        const over = ring.bytes - maxBytes;
        if (first.length <= over) {
          ring.chunks.shift();
          ring.bytes -= first.length;
        } else {
          ring.chunks[0] = first.subarray(over);
          ring.bytes -= over;
        }
      }
      while (rings.size > maxContainers) {
        const oldest = rings.keys().next().value as string;
        rings.delete(oldest);
      }
      for (const entry of followers.get(key) ?? []) if (entry.uid === uid) entry.f.onData(chunk);
    },
    read(key, uid, o = {}) {
      const ring = rings.get(key);
      if (!ring || ring.uid !== uid) return Buffer.alloc(0);
      let out: Buffer = Buffer.concat(ring.chunks, ring.bytes);
      if (o.tailLines !== undefined) out = tailLines(out, o.tailLines);
      if (o.limitBytes !== undefined && out.length > o.limitBytes) out = out.subarray(0, o.limitBytes);
      return out;
    },
    follow(key, uid, f) {
      let set = followers.get(key);
      if (!set) followers.set(key, (set = new Set()));
      const entry = { uid, f };
      set.add(entry);
      return () => {
        const s = followers.get(key);
        s?.delete(entry);
        if (s && s.size === 0) followers.delete(key);
      };
    },
    drop(key) {
      rings.delete(key);
      endFollowers(key);
    },
    get size() {
      return rings.size;
    },
    bytes(key) {
      return rings.get(key)?.bytes ?? 0;
    },
  };
}
