// Kubernetes StatusCause reasons and value rendering shared by every validator.

export const CAUSE = {
  required: 'FieldValueRequired',
  invalid: 'FieldValueInvalid',
  typeInvalid: 'FieldValueTypeInvalid',
  notSupported: 'FieldValueNotSupported',
  forbidden: 'FieldValueForbidden',
  tooLong: 'FieldValueTooLong',
  tooMany: 'FieldValueTooMany',
  duplicate: 'FieldValueDuplicate',
  /**
   * A field the schema does not declare (strict field validation). Kubernetes answers those with
   * `unknown field "spec.foo"`; drover lists them as causes of the same Invalid error, with this reason.
   */
  unknown: 'FieldValueUnknown',
} as const;

/** A value as Kubernetes prints it in a cause: strings quoted, others as JSON (shortened). */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
