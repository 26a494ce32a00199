// Which CA a node agent trusts for an https manager, decided before any token leaves the node: --ca-file, else
// the CA pinned at an earlier join (<data-dir>/ca.crt), else the manager's CA fetched without trusting it and
// accepted only when its SHA-256 equals the pin in the join token (kubeadm's discovery-token-ca-cert-hash).
// Never trust on first use: an https manager with neither a pin nor --ca-file is refused.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { CA_PATH, caCertSha256, certificatesOf, splitJoinToken } from '../core/ca-pin.ts';
import { ConnectionError } from '../core/client.ts';
import type { Logger } from '../core/logging.ts';
import type { AgentConfig } from './config.ts';
import { caPath, readSavedCa, writeSavedCa } from './credential.ts';

const MAX_CA_BYTES = 64 * 1024;
const DISCOVERY_TIMEOUT_MS = 10_000;

/** The manager's CA is not the one the join token pins: nothing was sent, and retrying will not help. */
export class CaPinMismatchError extends Error {
  readonly expected: string;
  readonly actual: string;
  constructor(server: string, expected: string, actual: string) {
    super(
      `refusing to join ${server}: its CA certificate has sha256 ${actual}, but the join token pins CA hash ${expected}. ` +
      'The join token was not sent. Check that --server is the manager that made the token (a copy-paste error, or ' +
      'something between this node and the manager), or make a new token there with \'drover token create --join\'.',
    );
    this.name = 'CaPinMismatchError';
    this.expected = expected;
    this.actual = actual;
  }
}

/** No way to know which CA to trust: refused rather than trusting the first certificate seen. */
export class NoTrustAnchorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoTrustAnchorError';
  }
}

/** GET /api/v1/ca WITHOUT verifying the server's certificate, and without any credential: the answer is only trusted after the pin check. */
export function fetchCaUnverified(server: string, timeoutMs = DISCOVERY_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(server + CA_PATH), {
      method: 'GET', rejectUnauthorized: false, agent: false, timeout: timeoutMs,
      headers: { accept: 'application/x-pem-file', 'user-agent': 'drover-agent' },
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
        if (body.length > MAX_CA_BYTES) req.destroy(new Error(`the answer of ${CA_PATH} exceeds ${MAX_CA_BYTES} bytes`));
      });
      res.on('end', () => {
        if (res.statusCode === 200) return resolve(body);
        reject(new NoTrustAnchorError(`${server}${CA_PATH} answered HTTP ${res.statusCode}: the manager does not publish its CA ` +
          '(not started with --tls?); pass --ca-file with the CA that signs its certificate'));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => {
      if (e instanceof NoTrustAnchorError) return reject(e);
      reject(new ConnectionError(server, `cannot reach the drover manager at ${server}: ${e.message}`, { cause: e }));
    });
    req.end();
  });
}

export interface TrustOptions {
  logger: Logger;
  /** Resolves true after ms, false when the agent is stopping. */
  sleep(ms: number): Promise<boolean>;
  /** Replaces fetchCaUnverified (tests). */
  fetchCa?: (server: string) => Promise<string>;
}

function readCaFile(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
    certificatesOf(pem);
  } catch (e) {
    throw new NoTrustAnchorError(`--ca-file ${file}: ${(e as Error).message}`);
  }
  return pem;
}

/**
 * The PEM of the CA to trust for config.server; undefined for an http server. Throws CaPinMismatchError or
 * NoTrustAnchorError (both final: the join token has not been sent). Retries while the manager is unreachable.
 */
export async function resolveTrustedCa(config: AgentConfig, opts: TrustOptions): Promise<string | undefined> {
  if (!config.server.startsWith('https:')) return undefined;
  const pin = config.joinToken ? splitJoinToken(config.joinToken).caSha256 : undefined;
  if (config.caFile) {
    const pem = readCaFile(config.caFile);
    const actual = caCertSha256(pem);
    if (pin && actual !== pin) throw new CaPinMismatchError(`${config.server} (CA from --ca-file ${config.caFile})`, pin, actual);
    return pem;
  }
  const saved = readSavedCa(config.dataDir);
  if (saved && (!pin || caCertSha256(saved) === pin)) return saved;
  if (!pin) {
    throw new NoTrustAnchorError(
      `--server ${config.server} is https, but nothing says which CA to trust: the join token carries no CA pin ` +
      `(${config.joinToken ? 'drvj_<secret> without .<sha256>' : 'no --join-token'}), --ca-file is not given and ${caPath(config.dataDir)} does not exist. ` +
      'Use a join token made by a manager started with --tls (drvj_<secret>.<sha256>), or pass --ca-file with the manager\'s tls/ca.crt. ' +
      'drover does not trust a certificate on first use.',
    );
  }
  const fetchCa = opts.fetchCa ?? ((s: string) => fetchCaUnverified(s));
  let backoff = 100;
  for (;;) {
    let pem: string;
    try {
      pem = await fetchCa(config.server);
    } catch (e) {
      if (!(e instanceof ConnectionError)) throw e;
      opts.logger.warn('manager unreachable; retrying the CA discovery', { err: e.message, retryMs: backoff });
      if (!(await opts.sleep(backoff))) throw new Error('stopped before the manager\'s CA could be fetched', { cause: e });
      backoff = Math.min(backoff * 2, 5000);
      continue;
    }
    let actual: string;
    try {
      actual = caCertSha256(pem);
    } catch (e) {
      throw new NoTrustAnchorError(`${config.server}${CA_PATH} did not answer with a PEM certificate: ${(e as Error).message}`);
    }
    if (actual !== pin) throw new CaPinMismatchError(config.server, pin, actual);
    writeSavedCa(config.dataDir, pem);
    opts.logger.info('pinned the manager CA', { caSha256: actual, file: caPath(config.dataDir) });
    return pem;
  }
}
