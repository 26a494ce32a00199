// etcd client URLs as given on the command line (`--etcd-endpoints`, `etcd:` store specs). Kept apart
// from the client so parsing flags does not load gRPC.

/** `http://h:p,http://h2:p2` or a list → a list of endpoints; throws on an empty or malformed one. */
export function parseEndpoints(input: string | string[]): string[] {
  const list = (Array.isArray(input) ? input : input.split(',')).map((s) => s.trim()).filter(Boolean);
  if (!list.length) throw new RangeError('no etcd endpoints given (want e.g. http://127.0.0.1:2379)');
  for (const e of list) {
    if (e.startsWith('https://')) throw new RangeError(`etcd endpoint "${e}": TLS to etcd is not supported yet; use http:// on a trusted network`);
    if (!/^(http:\/\/)?([^/\s:[\]]+|\[[0-9a-f:]+\]):\d{1,5}\/?$/i.test(e)) throw new RangeError(`etcd endpoint "${e}" is not http://HOST:PORT`);
  }
  return list.map((e) => e.replace(/\/$/, ''));
}
