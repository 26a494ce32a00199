// Which CA a node agent trusts for an https manager (agent/ca-trust.ts), decided before the join token is sent.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaPinMismatchError, NoTrustAnchorError, fetchCaUnverified, resolveTrustedCa } from '../../agent/ca-trust.ts';
import { AgentConfigError, parseAgentConfig } from '../../agent/config.ts';
import { resolveIdentity } from '../../agent/identity.ts';
import { ensureManagerTls, type ManagerTls } from '../../api/tls.ts';
import { nullLogger } from '../../core/logging.ts';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'drover-catrust-'));
  dirs.push(d);
  return d;
};
let tls: ManagerTls;
let other: ManagerTls;
let server: Server;
let url: string;

beforeAll(async () => {
  tls = await ensureManagerTls(tempDir());
  other = await ensureManagerTls(tempDir());
  server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    if (req.url === '/api/v1/ca') res.end(tls.caCert);
    else { res.statusCode = 404; res.end('no'); }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => {
  server.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const secret = 'drvj_' + 'x'.repeat(43);
const config = (o: { server?: string; joinToken?: string; caFile?: string; dataDir?: string }) =>
  parseAgentConfig({ server: o.server ?? 'https://127.0.0.1:1', joinToken: o.joinToken, caFile: o.caFile, name: 'n1', dataDir: o.dataDir ?? tempDir() });
const opts = (fetchCa?: (s: string) => Promise<string>) => ({ logger: nullLogger(), sleep: async () => false, ...(fetchCa ? { fetchCa } : {}) });
/** A fetchCa that records its calls and answers `pem`. */
function recorder(pem: string) {
  const calls: string[] = [];
  return { calls, fetchCa: async (s: string) => { calls.push(s); return pem; } };
}

describe('resolveTrustedCa', () => {
  it('trusts nothing special for an http manager', async () => {
    expect(await resolveTrustedCa(config({ server: 'http://127.0.0.1:1', joinToken: secret }), opts())).toBeUndefined();
  });

  it('accepts the CA whose sha256 is the pin, and keeps it in <data-dir>/ca.crt', async () => {
    const r = recorder(tls.caCert);
    const c = config({ joinToken: `${secret}.${tls.caSha256}` });
    expect(await resolveTrustedCa(c, opts(r.fetchCa))).toBe(tls.caCert);
    expect(readFileSync(join(c.dataDir, 'ca.crt'), 'utf8')).toBe(tls.caCert);
    // a restart uses the saved CA without asking the server again
    expect(await resolveTrustedCa(c, opts(r.fetchCa))).toBe(tls.caCert);
    expect(r.calls).toHaveLength(1);
  });

  it('refuses a CA that does not match the pin, naming both hashes, and saves nothing', async () => {
    const c = config({ joinToken: `${secret}.${tls.caSha256}` });
    const err = await resolveTrustedCa(c, opts(recorder(other.caCert).fetchCa)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaPinMismatchError);
    expect((err as Error).message).toContain(tls.caSha256);
    expect((err as Error).message).toContain(other.caSha256);
    expect((err as Error).message).toMatch(/join token was not sent/);
    expect(existsSync(join(c.dataDir, 'ca.crt'))).toBe(false);
  });

  it('never trusts on first use: an https manager with an unpinned token and no --ca-file is refused before any request', async () => {
    const r = recorder(tls.caCert);
    await expect(resolveTrustedCa(config({ joinToken: secret }), opts(r.fetchCa))).rejects.toThrow(NoTrustAnchorError);
    await expect(resolveTrustedCa(config({ joinToken: secret }), opts(r.fetchCa))).rejects.toThrow(/--ca-file/);
    expect(r.calls).toHaveLength(0);
  });

  it('--ca-file is trusted as given, and must agree with a pin', async () => {
    const file = join(tempDir(), 'ca.pem');
    writeFileSync(file, tls.caCert);
    const r = recorder(tls.caCert);
    expect(await resolveTrustedCa(config({ joinToken: secret, caFile: file }), opts(r.fetchCa))).toBe(tls.caCert);
    await expect(resolveTrustedCa(config({ joinToken: `${secret}.${other.caSha256}`, caFile: file }), opts(r.fetchCa))).rejects.toThrow(CaPinMismatchError);
    expect(r.calls).toHaveLength(0);
  });

  it('fetches the CA from a real https manager without trusting it first', async () => {
    expect(await fetchCaUnverified(url)).toBe(tls.caCert);
    const c = config({ server: url, joinToken: `${secret}.${tls.caSha256}` });
    expect(await resolveTrustedCa(c, opts())).toBe(tls.caCert);
  });
});

describe('resolveIdentity with a pin that does not match', () => {
  it('rejects before any request carrying the join token', async () => {
    const sent: string[] = [];
    const fakeFetch = (async (input: string | URL | Request) => {
      sent.push(String(input));
      throw new Error('must not be called');
    }) as typeof fetch;
    const c = config({ server: url, joinToken: `${secret}.${other.caSha256}` });
    await expect(resolveIdentity(c, { ...opts(), fetch: fakeFetch })).rejects.toThrow(/CA hash/);
    expect(sent).toEqual([]);
  });
});

describe('parseAgentConfig and CA pins', () => {
  it.each([
    [{ server: 'http://m:8000', joinToken: `${secret}.${'a'.repeat(64)}` }, /use --server https:\/\/m:8000/],
    [{ server: 'https://m:8000', joinToken: `${secret}.abc` }, /64 hex digits/],
    [{ server: 'http://m:8000', joinToken: secret, caFile: '/x.pem' }, /--ca-file applies to an https --server only/],
  ])('%j is a usage error', (flags, msg) => {
    expect(() => parseAgentConfig({ ...flags, name: 'n1' })).toThrow(AgentConfigError);
    expect(() => parseAgentConfig({ ...flags, name: 'n1' })).toThrow(msg);
  });

  it('resolves --ca-file against the working directory', () => {
    expect(parseAgentConfig({ server: 'https://m:8000', caFile: 'ca.pem', name: 'n1' }, { cwd: '/etc/drover' }).caFile).toBe('/etc/drover/ca.pem');
  });
});
