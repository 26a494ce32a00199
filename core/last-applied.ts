// kubectl's client-side apply record: the manifest last applied, kept as compact JSON in an annotation, so
// the next apply can tell which fields it set before (three-way merge). Used by `drover apply` and GitOps.
import type { KubeObject } from './types.ts';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** The manifest plus the annotation recording it (compact JSON of the manifest without the annotation). */
export function withLastApplied(manifest: KubeObject): KubeObject {
  const annotations = { ...(manifest.metadata.annotations ?? {}) };
  delete annotations[LAST_APPLIED];
  const recorded: KubeObject = { ...manifest, metadata: { ...manifest.metadata } };
  if (Object.keys(annotations).length) recorded.metadata.annotations = annotations;
  else delete recorded.metadata.annotations;
  return { ...manifest, metadata: { ...manifest.metadata, annotations: { ...annotations, [LAST_APPLIED]: JSON.stringify(recorded) } } };
}

export function lastAppliedOf(live: KubeObject): Record<string, unknown> {
  const text = live.metadata.annotations?.[LAST_APPLIED];
  if (!text) return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {}; // a hand-edited, broken annotation: treat as never applied (kubectl does the same)
  }
}
