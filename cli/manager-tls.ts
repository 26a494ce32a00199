// The manager's transport security, decided once at start: https with its own CA (--tls), plain http on
// loopback, or plain http on the network only when asked for by name (--insecure).
import { isIP } from 'node:net';
import { ensureManagerTls, TlsConfigError, type ManagerTls } from '../api/tls.ts';
import type { ListeningServer } from '../api/server.ts';
import type { CliConfig } from '../core/cli-config.ts';
import type { Logger } from '../core/logging.ts';
import { usageError } from './cli-error.ts';

/** How often a running manager checks whether its serving certificate is due for re-issue. */
export const RENEW_CHECK_MS = 12 * 3600 * 1000;

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '0:0:0:0:0:0:0:0';
}

/** A non-loopback --listen needs --tls, or --insecure to say that clear-text tokens on the network are wanted. */
export function checkListenSecurity(listen: string, host: string, opts: { tls?: boolean; insecure?: boolean }): void {
  if (opts.tls || opts.insecure || isLoopbackHost(host)) return;
  throw usageError(
    `--listen ${listen} is not a loopback address, and plain http would send bearer and join tokens in clear text`,
    'add --tls to serve https with a CA of its own (join tokens then pin it), or --insecure to serve plain http anyway',
  );
}

/**
 * The URL clients on this host use: a wildcard listen address becomes the loopback one (a certificate
 * never names 0.0.0.0, and connecting to it is not portable).
 */
export function clientUrl(serverUrl: string, listenHost: string): string {
  if (!isWildcard(listenHost)) return serverUrl;
  const u = new URL(serverUrl);
  u.hostname = listenHost === '0.0.0.0' ? '127.0.0.1' : '[::1]';
  return u.toString().replace(/\/$/, '');
}

/** Load or make <data-dir>/tls/ for these names (the listen host too, unless it is a wildcard) and log what happened. */
export async function prepareManagerTls(dataDir: string, listenHost: string, advertise: readonly string[], logger: Logger, nowMs?: number): Promise<ManagerTls> {
  const names = isWildcard(listenHost) ? [...advertise] : [...advertise, listenHost];
  let tls: ManagerTls;
  try {
    tls = await ensureManagerTls(dataDir, { advertise: names, nowMs });
  } catch (e) {
    if (e instanceof TlsConfigError) throw usageError(e.message);
    throw e;
  }
  if (tls.caCreated) logger.info('created the cluster CA', { dir: tls.dir, caSha256: tls.caSha256 });
  if (tls.issued) {
    logger.info('issued the serving certificate', { reason: tls.issued, dns: tls.names.dns, ips: tls.names.ips, notAfter: tls.notAfter.toISOString() });
  }
  return tls;
}

/** Re-issue the serving certificate (same CA) while running when it nears its end; the server switches to it at once. */
export function renewServingCertificate(
  server: ListeningServer, dataDir: string, listenHost: string, advertise: readonly string[], logger: Logger, everyMs = RENEW_CHECK_MS,
): { stop(): void } {
  const timer = setInterval(() => {
    prepareManagerTls(dataDir, listenHost, advertise, logger).then((tls) => {
      if (tls.issued) server.setCertificate?.({ cert: tls.cert, key: tls.key });
    }).catch((e: unknown) => logger.error('could not renew the serving certificate', { err: (e as Error).message }));
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** The context `name` trusts exactly `caCert` (kubeconfig's certificate-authority-data), or no CA of its own when undefined. */
export function trustCa(cfg: CliConfig, name: string, caCert: string | undefined): CliConfig {
  return {
    ...cfg,
    contexts: cfg.contexts.map((c) => {
      if (c.name !== name) return c;
      const { 'certificate-authority-data': _data, 'certificate-authority': _file, ...rest } = c.context;
      return { name, context: caCert ? { ...rest, 'certificate-authority-data': Buffer.from(caCert).toString('base64') } : rest };
    }),
  };
}
