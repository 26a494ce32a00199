// The manager's TLS material under <data-dir>/tls/: a CA (ECDSA P-256, 10 years) made once, and a serving
// certificate (1 year) signed by it for the asked-for names. Reused across restarts; the serving certificate
// alone is re-issued when the names change or it is near its end, so the CA pin in join tokens stays valid.
import 'reflect-metadata'; // @peculiar/x509 (through tsyringe) needs the Reflect metadata API before it loads
import * as x509 from '@peculiar/x509';
import { X509Certificate, randomBytes, type webcrypto } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { caCertSha256 } from '../core/ca-pin.ts';

export const TLS_DIR = 'tls';
export const CA_VALIDITY_DAYS = 3650;
export const SERVING_VALIDITY_DAYS = 365;
/** A serving certificate with less than this left is re-issued at the next check. */
export const RENEW_BEFORE_DAYS = 30;
/** Names every serving certificate carries, so the local CLI and node agents can always verify it. */
export const ALWAYS_SANS = ['127.0.0.1', '::1', 'localhost'] as const;

const DAY_MS = 24 * 3600 * 1000;
/** notBefore is set this far back so a peer whose clock is slightly behind accepts a fresh certificate. */
const BACKDATE_MS = 5 * 60 * 1000;
const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

export class TlsConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TlsConfigError';
  }
}

export interface SubjectNames {
  /** Canonical (lower-case) DNS names, sorted. */
  dns: string[];
  /** Canonical IP addresses (IPv6 compressed), sorted. */
  ips: string[];
}

export type IssueReason = 'new' | 'names-changed' | 'expiring' | 'not-from-this-ca';

export interface ManagerTls {
  dir: string;
  /** PEM of the CA certificate; what clients trust. */
  caCert: string;
  /** Hex SHA-256 of the CA certificate's DER: the pin in join tokens. */
  caSha256: string;
  /** PEM of the serving certificate and its key. */
  cert: string;
  key: string;
  names: SubjectNames;
  notAfter: Date;
  /** Set when this call made the CA. */
  caCreated: boolean;
  /** Set when this call issued the serving certificate, with why; absent = the files on disk were reused. */
  issued?: IssueReason;
}

export const TLS_FILES = { caCert: 'ca.crt', caKey: 'ca.key', cert: 'server.crt', key: 'server.key' } as const;

function canonicalIp(ip: string): string {
  // WHATWG URL parsing compresses IPv6 (0:0:0:0:0:0:0:1 → ::1) and keeps IPv4 as is
  return isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

const DNS_NAME = /^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

/**
 * `--advertise-address` values (each may be a comma list) plus the names always served, deduplicated and
 * sorted. An IP becomes an IP SAN, anything else must be a DNS name (a leading `*.` is allowed).
 */
export function subjectNames(values: readonly string[]): SubjectNames {
  const dns = new Set<string>();
  const ips = new Set<string>();
  for (const raw of [...ALWAYS_SANS, ...values.flatMap((v) => v.split(','))]) {
    const v = raw.trim().replace(/^\[(.*)\]$/, '$1');
    if (!v) continue;
    if (isIP(v)) ips.add(canonicalIp(v));
    else if (v.length <= 253 && DNS_NAME.test(v.toLowerCase())) dns.add(v.toLowerCase());
    else throw new TlsConfigError(`--advertise-address "${raw.trim()}" is neither an IP address nor a DNS name`);
  }
  return { dns: [...dns].sort(), ips: [...ips].sort() };
}

function sameNames(a: SubjectNames, b: SubjectNames): boolean {
  return a.dns.join(',') === b.dns.join(',') && a.ips.join(',') === b.ips.join(',');
}

/** The SANs a certificate carries, in the canonical form of subjectNames(). */
export function namesOf(certPem: string): SubjectNames {
  const san = new x509.X509Certificate(certPem).getExtension(x509.SubjectAlternativeNameExtension);
  const dns: string[] = [];
  const ips: string[] = [];
  for (const n of san?.names.items ?? []) {
    if (n.type === 'dns') dns.push(n.value.toLowerCase());
    else if (n.type === 'ip') ips.push(canonicalIp(n.value));
  }
  return { dns: [...new Set(dns)].sort(), ips: [...new Set(ips)].sort() };
}

function serial(): string {
  const b = randomBytes(16);
  b[0] &= 0x7f; // a positive INTEGER
  return b.toString('hex');
}

function writeFile(path: string, text: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode); // the umask may have narrowed it; make it exact
  renameSync(tmp, path);
}

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

async function importSigningKey(pem: string, path: string): Promise<webcrypto.CryptoKey> {
  try {
    return await crypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(pem), EC, false, ['sign']);
  } catch (e) {
    throw new TlsConfigError(`${path} is not an ECDSA P-256 private key (PKCS#8 PEM): ${(e as Error).message}`, { cause: e });
  }
}

async function createCa(nowMs: number): Promise<{ cert: string; key: string }> {
  const keys = await crypto.subtle.generateKey(EC, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=drover-ca-${randomBytes(4).toString('hex')}, O=drover`,
    notBefore: new Date(nowMs - BACKDATE_MS),
    notAfter: new Date(nowMs + CA_VALIDITY_DAYS * DAY_MS),
    keys,
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
}

async function issueServing(caCertPem: string, caKey: webcrypto.CryptoKey, names: SubjectNames, nowMs: number): Promise<{ cert: string; key: string }> {
  const ca = new x509.X509Certificate(caCertPem);
  const keys = await crypto.subtle.generateKey(EC, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=drover-manager, O=drover',
    issuer: ca.subject,
    notBefore: new Date(nowMs - BACKDATE_MS),
    notAfter: new Date(nowMs + SERVING_VALIDITY_DAYS * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.dns.map((value) => ({ type: 'dns' as const, value })),
        ...names.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
}

/** Why the serving certificate on disk cannot be kept, or undefined when it can. */
function reissueReason(certPem: string, caPem: string, names: SubjectNames, nowMs: number): IssueReason | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return 'new';
  }
  const ca = new X509Certificate(caPem);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'not-from-this-ca';
  if (!sameNames(namesOf(certPem), names)) return 'names-changed';
  if (Date.parse(cert.validTo) - nowMs < RENEW_BEFORE_DAYS * DAY_MS) return 'expiring';
  return undefined;
}

export interface EnsureTlsOptions {
  /** `--advertise-address` values (IPs or DNS names, comma lists allowed); 127.0.0.1, ::1 and localhost are always added. */
  advertise?: readonly string[];
  nowMs?: number;
}

/**
 * Load or make `<dataDir>/tls/`: the CA once (a missing half of an existing CA is an error, never silently
 * replaced: every node pinned it), and the serving certificate whenever the names or the calendar require.
 */
export async function ensureManagerTls(dataDir: string, opts: EnsureTlsOptions = {}): Promise<ManagerTls> {
  const nowMs = opts.nowMs ?? Date.now();
  const names = subjectNames(opts.advertise ?? []);
  const dir = join(dataDir, TLS_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = (k: keyof typeof TLS_FILES) => join(dir, TLS_FILES[k]);

  let caCreated = false;
  const haveCert = existsSync(path('caCert'));
  const haveKey = existsSync(path('caKey'));
  if (haveCert !== haveKey) {
    const missing = haveCert ? path('caKey') : path('caCert');
    throw new TlsConfigError(`${missing} is missing while its other half exists: restore it, or remove ${dir} to make a new CA (every node must then join again with a new token)`);
  }
  if (!haveCert) {
    const ca = await createCa(nowMs);
    writeFile(path('caKey'), ca.key, 0o600);
    writeFile(path('caCert'), ca.cert, 0o644);
    caCreated = true;
  }
  const caCert = readFileSync(path('caCert'), 'utf8');
  let caSha256: string;
  try {
    caSha256 = caCertSha256(caCert);
  } catch (e) {
    throw new TlsConfigError(`${path('caCert')}: ${(e as Error).message}`, { cause: e });
  }

  let issued: IssueReason | undefined;
  if (!existsSync(path('cert')) || !existsSync(path('key'))) issued = 'new';
  else issued = reissueReason(readFileSync(path('cert'), 'utf8'), caCert, names, nowMs);
  if (issued) {
    const caKey = await importSigningKey(readFileSync(path('caKey'), 'utf8'), path('caKey'));
    const serving = await issueServing(caCert, caKey, names, nowMs);
    writeFile(path('key'), serving.key, 0o600);
    writeFile(path('cert'), serving.cert, 0o644);
  }
  const cert = readFileSync(path('cert'), 'utf8');
  return {
    dir, caCert, caSha256, cert, key: readFileSync(path('key'), 'utf8'),
    names, notAfter: new Date(new X509Certificate(cert).validTo), caCreated,
    ...(issued ? { issued } : {}),
  };
}
