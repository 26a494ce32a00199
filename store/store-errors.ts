// Kubernetes-worded store errors for a resource key `<plural>.<group>`, shared by every backend.
import { AlreadyExists, Conflict, NotFound } from '../core/errors.ts';
import type { ApiErrorDetails } from '../core/errors.ts';

export function splitResourceKey(resource: string): { plural: string; group: string } {
  const dot = resource.indexOf('.');
  return dot < 0 ? { plural: resource, group: '' } : { plural: resource.slice(0, dot), group: resource.slice(dot + 1) };
}

function details(resource: string, name: string): ApiErrorDetails {
  const { plural, group } = splitResourceKey(resource);
  return { name, group, kind: plural };
}

export function notFound(resource: string, name: string): NotFound {
  return new NotFound(`${resource} "${name}" not found`, details(resource, name));
}

export function alreadyExists(resource: string, name: string): AlreadyExists {
  return new AlreadyExists(`${resource} "${name}" already exists`, details(resource, name));
}

export function modifiedConflict(resource: string, name: string): Conflict {
  return new Conflict(
    `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    details(resource, name),
  );
}

export function preconditionConflict(resource: string, name: string, field: 'ResourceVersion' | 'UID', wanted: string, actual: string): Conflict {
  return new Conflict(
    `Operation cannot be fulfilled on ${resource} "${name}": Precondition failed: ${field} in precondition: ${wanted}, ${field} in object meta: ${actual}`,
    details(resource, name),
  );
}
