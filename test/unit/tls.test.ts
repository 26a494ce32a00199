// The manager's TLS material (api/tls.ts): names, validity, the CA pin, reuse and re-issue; and the pin in join tokens.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { X509Certificate, createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureManagerTls, namesOf, subjectNames, TlsConfigError, type ManagerTls } from '../../api/tls.ts';
import { joinTokenHash } from '../../api/join-tokens.ts';
import { listen } from '../../api/server.ts';
import { openTokenStore, staticAuthenticator } from '../../api/auth.ts';
import { caCertSha256, splitJoinToken } from '../../core/ca-pin.ts';
import { fetchTrusting } from '../../core/client.ts';
import { checkListenSecurity, clientUrl, isLoopbackHost, renewServingCertificate } from '../../cli/manager-tls.ts';
import { nullLogger } from '../../core/logging.ts';
import { connect as tlsConnect } from 'node:tls';
import { BASE, TOKENS, cluster, startApi } from './api-harness.ts';

const DAY = 24 * 3600 * 1000;
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'drover-tls-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** DER of the first PEM block, decoded by hand (independent of the code under test). */
function derOf(pem: string): Buffer {
  const b64 = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem)![1].replace(/\s+/g, '');
  return Buffer.from(b64, 'base64');
}

describe('subjectNames (--advertise-address)', () => {
  it.each([
    { given: [], dns: ['localhost'], ips: ['127.0.0.1', '::1'] },
    { given: ['10.0.0.5'], dns: ['localhost'], ips: ['10.0.0.5', '127.0.0.1', '::1'] },
    { given: ['mgr.example.com,10.0.0.5', ' Node-1.LAN '], dns: ['localhost', 'mgr.example.com', 'node-1.lan'], ips: ['10.0.0.5', '127.0.0.1', '::1'] },
    { given: ['[fd00::1]', '0:0:0:0:0:0:0:1', '127.0.0.1', 'localhost'], dns: ['localhost'], ips: ['127.0.0.1', '::1', 'fd00::1'] },
    { given: ['*.drover.example'], dns: ['*.drover.example', 'localhost'], ips: ['127.0.0.1', '::1'] },
  ])('$given → dns $dns, ips $ips (loopback names always in)', ({ given, dns, ips }) => {
    expect(subjectNames(given)).toEqual({ dns, ips });
  });

  it.each(['not a name', 'http://mgr:8000', 'mgr_1.example', '-bad.example'])('refuses %s, naming the flag', (bad) => {
    expect(() => subjectNames([bad])).toThrow(TlsConfigError);
    expect(() => subjectNames([bad])).toThrow(/--advertise-address/);
  });
});

describe('ensureManagerTls', () => {
  const now = Date.parse('2026-06-01T00:00:00Z');
  let dir: string;
  let first: ManagerTls;

  beforeAll(async () => {
    dir = tempDir();
    first = await ensureManagerTls(dir, { advertise: ['mgr.example.com', '10.1.2.3'], nowMs: now });
  });

  it('makes ca.crt, ca.key (0600), server.crt and server.key (0600) under <data-dir>/tls', () => {
    const mode = (f: string) => statSync(join(dir, 'tls', f)).mode & 0o777;
    expect(mode('ca.key')).toBe(0o600);
    expect(mode('server.key')).toBe(0o600);
    expect(existsSync(join(dir, 'tls', 'ca.crt'))).toBe(true);
    expect(readFileSync(join(dir, 'tls', 'server.crt'), 'utf8')).toBe(first.cert);
    expect(first.caCreated).toBe(true);
    expect(first.issued).toBe('new');
  });

  it('a 10-year ECDSA P-256 CA and a 1-year serving certificate it signed', () => {
    const ca = new X509Certificate(first.caCert);
    const cert = new X509Certificate(first.cert);
    expect(ca.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(ca.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(cert.checkIssued(ca) && cert.verify(ca.publicKey)).toBe(true);
    expect(Math.abs(Date.parse(ca.validTo) - (now + 3650 * DAY))).toBeLessThan(2000);
    expect(Math.abs(Date.parse(cert.validTo) - (now + 365 * DAY))).toBeLessThan(2000);
    expect(Date.parse(cert.validFrom)).toBeLessThanOrEqual(now);
    expect(cert.keyUsage).toContain('1.3.6.1.5.5.7.3.1'); // serverAuth
  });

  it('names the advertised addresses plus 127.0.0.1, ::1 and localhost', () => {
    const cert = new X509Certificate(first.cert);
    expect(namesOf(first.cert)).toEqual({ dns: ['localhost', 'mgr.example.com'], ips: ['10.1.2.3', '127.0.0.1', '::1'] });
    expect(cert.checkHost('mgr.example.com')).toBe('mgr.example.com');
    expect(cert.checkIP('::1')).toBe('::1');
    expect(cert.checkHost('other.example.com')).toBeUndefined();
    expect(cert.checkIP('10.1.2.4')).toBeUndefined();
  });

  it('pins the CA as the hex SHA-256 of its DER', () => {
    const expected = createHash('sha256').update(derOf(first.caCert)).digest('hex');
    expect(first.caSha256).toBe(expected);
    expect(caCertSha256(readFileSync(join(dir, 'tls', 'ca.crt'), 'utf8'))).toBe(expected);
  });

  it('reuses everything on a restart with the same names', async () => {
    const again = await ensureManagerTls(dir, { advertise: ['10.1.2.3,mgr.example.com'], nowMs: now + DAY });
    expect(again.issued).toBeUndefined();
    expect(again.caCreated).toBe(false);
    expect(again.cert).toBe(first.cert);
    expect(again.key).toBe(first.key);
    expect(again.caSha256).toBe(first.caSha256);
  });

  it('re-issues only the serving certificate, with the same CA, when the names change', async () => {
    const d = tempDir();
    const a = await ensureManagerTls(d, { nowMs: now });
    const b = await ensureManagerTls(d, { advertise: ['10.9.9.9'], nowMs: now });
    expect(b.issued).toBe('names-changed');
    expect(b.caSha256).toBe(a.caSha256);
    expect(b.cert).not.toBe(a.cert);
    expect(namesOf(b.cert).ips).toContain('10.9.9.9');
    expect(new X509Certificate(b.cert).verify(new X509Certificate(a.caCert).publicKey)).toBe(true);
  });

  it('re-issues the serving certificate within 30 days of its expiry, not before', async () => {
    const d = tempDir();
    const a = await ensureManagerTls(d, { nowMs: now });
    expect((await ensureManagerTls(d, { nowMs: now + 334 * DAY })).issued).toBeUndefined();
    const b = await ensureManagerTls(d, { nowMs: now + 336 * DAY });
    expect(b.issued).toBe('expiring');
    expect(b.caSha256).toBe(a.caSha256);
    expect(Date.parse(new X509Certificate(b.cert).validTo)).toBeGreaterThan(now + 700 * DAY);
  });

  it('refuses to replace half a CA (nodes pinned it)', async () => {
    const d = tempDir();
    await ensureManagerTls(d, { nowMs: now });
    rmSync(join(d, 'tls', 'ca.key'));
    await expect(ensureManagerTls(d, { nowMs: now })).rejects.toThrow(/ca\.key is missing/);
  });

  it('serves https that a client trusting only this CA verifies by IP and by name', async () => {
    const tls = await ensureManagerTls(tempDir());
    const srv = createServer({ cert: tls.cert, key: tls.key }, (_req, res) => res.end('ok'));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    try {
      const trusting = fetchTrusting(tls.caCert);
      expect(await (await trusting(`https://127.0.0.1:${port}/`)).text()).toBe('ok');
      expect(await (await trusting(`https://localhost:${port}/`)).text()).toBe('ok');
      const other = await ensureManagerTls(tempDir());
      await expect(fetchTrusting(other.caCert)(`https://127.0.0.1:${port}/`)).rejects.toThrow();
      await expect(fetch(`https://127.0.0.1:${port}/`)).rejects.toThrow();
    } finally {
      srv.close();
    }
  });
});

describe('listen() with tls', () => {
  it('serves https, and switches to a re-issued certificate without a restart', async () => {
    const a = await ensureManagerTls(tempDir());
    const b = await ensureManagerTls(tempDir());
    const app = (await import('express')).default();
    app.get('/x', (_req, res) => { res.send('ok'); });
    const server = await listen(app, '127.0.0.1', 0, { tls: { cert: a.cert, key: a.key } });
    try {
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(await (await fetchTrusting(a.caCert)(`${server.url}/x`)).text()).toBe('ok');
      server.setCertificate!({ cert: b.cert, key: b.key });
      expect(await (await fetchTrusting(b.caCert)(`${server.url}/x`)).text()).toBe('ok');
    } finally {
      await server.close();
    }
  });
});

describe('a running manager renews its serving certificate', () => {
  it('re-issues it (same CA) when fewer than 30 days are left and serves the new one at once', async () => {
    const dir = tempDir();
    const old = await ensureManagerTls(dir, { nowMs: Date.now() - 340 * DAY }); // 25 days left
    const app = (await import('express')).default();
    app.get('/x', (_req, res) => { res.send('ok'); });
    const server = await listen(app, '127.0.0.1', 0, { tls: { cert: old.cert, key: old.key } });
    const served = () => new Promise<string>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: server.port, ca: old.caCert, servername: 'localhost' }, () => {
        resolve(s.getPeerCertificate().valid_to);
        s.end();
      });
      s.on('error', reject);
    });
    const renewal = renewServingCertificate(server, dir, '127.0.0.1', [], nullLogger(), 50);
    try {
      expect(Date.parse(await served())).toBeLessThan(Date.now() + 30 * DAY);
      const renewed = await (async () => {
        for (let i = 0; i < 100; i++) {
          const v = Date.parse(await served());
          if (v > Date.now() + 300 * DAY) return v;
          await new Promise((r) => setTimeout(r, 50));
        }
        return undefined;
      })();
      expect(renewed).toBeGreaterThan(Date.now() + 300 * DAY);
      expect(caCertSha256(readFileSync(join(dir, 'tls', 'ca.crt'), 'utf8'))).toBe(old.caSha256);
    } finally {
      renewal.stop();
      await server.close();
    }
  });
});

describe('join tokens of a TLS manager', () => {
  it('joinTokenHash hashes only the secret, before the CA pin', () => {
    const pin = 'ab'.repeat(32);
    expect(joinTokenHash(`drvj_secret.${pin}`)).toBe(joinTokenHash('drvj_secret'));
    expect(joinTokenHash('drvj_secret')).toBe(createHash('sha256').update('secret').digest('hex'));
    expect(joinTokenHash('nope.abc')).toBeUndefined();
    expect(splitJoinToken(`drvj_secret.${pin.toUpperCase()}`)).toEqual({ secretPart: 'drvj_secret', caSha256: pin });
    expect(splitJoinToken('drvj_secret')).toEqual({ secretPart: 'drvj_secret' });
  });

  it('are handed out as drvj_<secret>.<CA sha256>, join with the pin, and the CA is published at /api/v1/ca', async () => {
    const tls = await ensureManagerTls(tempDir());
    const dir = tempDir();
    const tokens = openTokenStore(dir);
    const fixed = staticAuthenticator({ [TOKENS.admin]: { name: 'alice', role: 'admin' } });
    const h = await startApi({ tokens, authenticator: { authenticate: (t) => fixed.authenticate(t) ?? tokens.authenticate(t) }, tls: { caCert: tls.caCert, caSha256: tls.caSha256 } });
    try {
      expect((await h.call('POST', `${BASE}/clusters`, cluster('demo'))).status).toBe(201);
      const created = await h.call('POST', '/api/v1/clusters/demo/join-tokens', {});
      expect(created.status).toBe(201);
      expect(created.body.token).toMatch(new RegExp(`^drvj_[A-Za-z0-9_-]{40,}\\.${tls.caSha256}$`));
      const stored = (await h.call('GET', `${BASE}/clusters/demo`)).body.spec.joinTokens[0].tokenHash;
      expect(stored).toBe(joinTokenHash(created.body.token.split('.')[0]));
      const ca = await h.call('GET', '/api/v1/ca', undefined, { token: null });
      expect(ca.status).toBe(200);
      expect(caCertSha256(ca.text)).toBe(tls.caSha256);
      const joined = await h.call('POST', '/api/v1/join', { token: created.body.token, nodeName: 'n1' }, { token: null });
      expect(joined.status).toBe(201);
    } finally {
      await h.close();
    }
  });

  it('stay drvj_<secret> without TLS, and /api/v1/ca is not there', async () => {
    const h = await startApi();
    try {
      expect((await h.call('POST', `${BASE}/clusters`, cluster('demo'))).status).toBe(201);
      const created = await h.call('POST', '/api/v1/clusters/demo/join-tokens', {});
      expect(created.body.token).toMatch(/^drvj_[A-Za-z0-9_-]{40,}$/);
      expect((await h.call('GET', '/api/v1/ca', undefined, { token: null })).status).not.toBe(200);
    } finally {
      await h.close();
    }
  });
});

describe('plain http only on loopback (cli/manager-tls.ts)', () => {
  it.each([
    ['127.0.0.1', true], ['127.3.4.5', true], ['::1', true], ['localhost', true], ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false], ['::', false], ['10.0.0.5', false], ['mgr.example.com', false],
  ])('%s is loopback: %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });

  it('a non-loopback --listen without --tls or --insecure is a usage error (exit 2) naming both flags', () => {
    const err = (() => { try { checkListenSecurity('0.0.0.0:8000', '0.0.0.0', {}); } catch (e) { return e as Error & { exitCode: number; hint: string }; } })();
    expect(err?.exitCode).toBe(2);
    expect(`${err?.message} ${err?.hint}`).toMatch(/--tls.*--insecure/);
    expect(() => checkListenSecurity('0.0.0.0:8000', '0.0.0.0', { tls: true })).not.toThrow();
    expect(() => checkListenSecurity('0.0.0.0:8000', '0.0.0.0', { insecure: true })).not.toThrow();
    expect(() => checkListenSecurity('127.0.0.1:8000', '127.0.0.1', {})).not.toThrow();
  });

  it.each([
    ['https://0.0.0.0:8443', '0.0.0.0', 'https://127.0.0.1:8443'],
    ['https://[::]:8443', '::', 'https://[::1]:8443'],
    ['https://10.0.0.5:8443', '10.0.0.5', 'https://10.0.0.5:8443'],
  ])('clients on the host reach %s as %s', (url, host, want) => {
    expect(clientUrl(url, host)).toBe(want);
  });
});
