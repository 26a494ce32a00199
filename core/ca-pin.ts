// The CA pin carried by join tokens of a TLS manager, `drvj_<secret>.<sha256 of the CA certificate DER>`
// (kubeadm's discovery-token-ca-cert-hash, folded into the token): one definition for the manager and the node agent.
import { X509Certificate, createHash } from 'node:crypto';

/** Unauthenticated: the manager's CA certificate (PEM). Public data; a node checks it against its pin before trusting it. */
export const CA_PATH = '/api/v1/ca';

const PIN = /^[0-9a-f]{64}$/;

export interface JoinTokenParts {
  /** Everything before the '.', including the `drvj_` prefix: what the manager hashes and stores. */
  secretPart: string;
  /** Lower-case hex SHA-256 of the CA certificate (DER), when the token carries one. */
  caSha256?: string;
}

/** Split a join token into its secret and its CA pin. A suffix that is not 64 hex digits is kept as given (checked by the caller). */
export function splitJoinToken(token: string): JoinTokenParts {
  const dot = token.indexOf('.');
  if (dot < 0) return { secretPart: token };
  return { secretPart: token.slice(0, dot), caSha256: token.slice(dot + 1).toLowerCase() };
}

export function isCaPin(text: string): boolean {
  return PIN.test(text);
}

/** The certificates in a PEM text (a bundle may hold several), parsed; throws when there is none. */
export function certificatesOf(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (!blocks.length) throw new Error('no PEM certificate (-----BEGIN CERTIFICATE-----) found');
  return blocks.map((b) => new X509Certificate(b));
}

/** Hex SHA-256 of the first certificate's DER: the value a join token pins. */
export function caCertSha256(pem: string): string {
  return createHash('sha256').update(certificatesOf(pem)[0].raw).digest('hex');
}
