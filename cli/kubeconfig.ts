// A kubeconfig (the file kubectl and @kubernetes/client-node read) for one drover context: one cluster (server
// and the CA it trusts), one user (the bearer token) and one context joining them with the namespace.

export interface KubeconfigSource {
  /** Names the cluster, user and context entries. */
  name: string;
  server: string;
  token?: string;
  namespace?: string;
  /** PEM of the CA to trust (an https manager's <data-dir>/tls/ca.crt). */
  caPem?: string;
}

export interface Kubeconfig {
  apiVersion: 'v1';
  kind: 'Config';
  preferences: Record<string, never>;
  clusters: { name: string; cluster: { server: string; 'certificate-authority-data'?: string } }[];
  users: { name: string; user: { token?: string } }[];
  contexts: { name: string; context: { cluster: string; user: string; namespace?: string } }[];
  'current-context': string;
}

export function kubeconfigFor(src: KubeconfigSource): Kubeconfig {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [{ name: src.name, cluster: { server: src.server, ...(src.caPem ? { 'certificate-authority-data': Buffer.from(src.caPem).toString('base64') } : {}) } }],
    users: [{ name: src.name, user: src.token ? { token: src.token } : {} }],
    contexts: [{ name: src.name, context: { cluster: src.name, user: src.name, ...(src.namespace ? { namespace: src.namespace } : {}) } }],
    'current-context': src.name,
  };
}
