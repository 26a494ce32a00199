// Key layout of the etcd store (README "etcd and high availability"):
//   <prefix><group>/<plural>/<namespace>/<name>   namespaced objects, e.g. /drover/drover.dev/agentdeployments/c1/web
//   <prefix><group>/<plural>/<name>               cluster-scoped objects, e.g. /drover/drover.dev/clusters/customer1
//   <prefix>~meta/…                               the store's own bookkeeping (the compaction mark)
//   <prefix>~auth/…                               API tokens and the node-credential signing key (api/etcd-token-store.ts)
// A resource key without a group (`events`) uses the group segment `core`. `~` cannot start a DNS
// group name, so bookkeeping never collides with objects. Values are the object's JSON without
// metadata.resourceVersion, which is the key's mod revision.
import { Invalid } from '../core/errors.ts';
import { splitResourceKey } from './store-errors.ts';

export const DEFAULT_ETCD_PREFIX = '/drover/';
export const META_SEGMENT = '~meta/';
export const AUTH_SEGMENT = '~auth/';

export interface ObjectKey {
  resource: string;
  /** '' for cluster-scoped objects. */
  namespace: string;
  name: string;
}

export class EtcdKeys {
  readonly prefix: string;

  constructor(prefix = DEFAULT_ETCD_PREFIX) {
    if (!prefix.endsWith('/')) throw new RangeError(`etcd key prefix must end with "/", got "${prefix}"`);
    this.prefix = prefix;
  }

  /** `<prefix><group>/<plural>/`: every object of one resource. */
  resource(resource: string): string {
    const { plural, group } = splitResourceKey(resource);
    return `${this.prefix}${group || 'core'}/${plural}/`;
  }

  /** Every object of a resource in one namespace. */
  namespace(resource: string, namespace: string): string {
    return `${this.resource(resource)}${namespace}/`;
  }

  object(resource: string, namespace: string, name: string): string {
    for (const [what, v] of [['metadata.name', name], ['metadata.namespace', namespace]] as const) {
      if (v.includes('/') || v.includes('\0')) {
        throw new Invalid(`${resource} is invalid: ${what}: Invalid value: "${v}": may not contain "/"`, {
          causes: [{ reason: 'FieldValueInvalid', message: 'may not contain "/"', field: what }],
        });
      }
    }
    return namespace ? `${this.resource(resource)}${namespace}/${name}` : `${this.resource(resource)}${name}`;
  }

  meta(name: string): string {
    return `${this.prefix}${META_SEGMENT}${name}`;
  }

  auth(name: string): string {
    return `${this.prefix}${AUTH_SEGMENT}${name}`;
  }

  /** The object a key names, or undefined for bookkeeping and foreign keys. */
  parse(key: string): ObjectKey | undefined {
    if (!key.startsWith(this.prefix)) return undefined;
    const rest = key.slice(this.prefix.length);
    if (rest.startsWith('~')) return undefined;
    const parts = rest.split('/');
    if (parts.length !== 3 && parts.length !== 4) return undefined;
    const [group, plural] = parts;
    const resource = group === 'core' ? plural : `${plural}.${group}`;
    return parts.length === 3 ? { resource, namespace: '', name: parts[2] } : { resource, namespace: parts[2], name: parts[3] };
  }
}

/** The first key after every key that starts with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i] < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i]++;
      return end;
    }
  }
  return Buffer.from([0]);
}
