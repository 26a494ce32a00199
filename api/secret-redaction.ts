// Event messages written through the API must not carry a secret env value of the object they are
// about (a node agent may quote a failing command line): scrubbed at admission, before the store.
import { isApiError } from '../core/errors.ts';
import { scrubSecrets, secretEnvValues } from '../core/secret-env.ts';
import type { KubeObject } from '../core/types.ts';
import type { AdmissionContext } from './admission.ts';

/** Kinds whose spec can hold env entries. */
const WITH_ENV = new Set(['Container', 'Agent', 'AgentDeployment', 'Task']);

export async function scrubEventMessage(ctx: AdmissionContext, event: KubeObject): Promise<void> {
  const message = event.message;
  const involved = event.involvedObject as { kind?: unknown; name?: unknown; namespace?: unknown } | undefined;
  if (typeof message !== 'string' || message.length === 0 || !involved || typeof involved.kind !== 'string' || !WITH_ENV.has(involved.kind)) return;
  if (typeof involved.name !== 'string' || involved.name === '') return;
  const rt = ctx.registry.resolve(involved.kind);
  if (!rt) return;
  const namespace = typeof involved.namespace === 'string' && involved.namespace ? involved.namespace : event.metadata.namespace;
  const obj = await ctx.store.get(rt.key, namespace, involved.name).catch((e: unknown) => {
    if (isApiError(e, 404) || isApiError(e, 400)) return undefined;
    throw e;
  });
  const secrets = obj ? secretEnvValues(obj.spec) : [];
  if (secrets.length) event.message = scrubSecrets(message, secrets);
}
