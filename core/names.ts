// Kubernetes name rules (apimachinery validation): DNS-1123 labels/subdomains, qualified names
// (label and annotation keys) and label values. Each returns problems; empty = valid.

const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN = `${DNS1123_LABEL}(\\.${DNS1123_LABEL})*`;
const QUALIFIED_NAME = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_VALUE = '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?';
const full = (re: string) => new RegExp(`^${re}$`);

export function dns1123Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push('must be no more than 63 characters');
  if (!full(DNS1123_LABEL).test(v)) {
    errs.push(`a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc', regex used for validation is '${DNS1123_LABEL}')`);
  }
  return errs;
}

export function dns1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 253) errs.push('must be no more than 253 characters');
  if (!full(DNS1123_SUBDOMAIN).test(v)) {
    errs.push(`a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '${DNS1123_SUBDOMAIN}')`);
  }
  return errs;
}

/** Label and annotation keys: `[prefix/]name`, prefix a DNS-1123 subdomain, name ≤ 63. */
export function qualifiedName(v: string): string[] {
  const parts = v.split('/');
  if (parts.length > 2) return [`a qualified name must consist of an optional DNS subdomain prefix and '/' and a name (e.g. 'example.com/MyName')`];
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  const errs: string[] = [];
  if (prefix !== undefined) {
    if (!prefix) errs.push('prefix part must be non-empty');
    else errs.push(...dns1123Subdomain(prefix).map((e) => `prefix part ${e}`));
  }
  if (!name) errs.push('name part must be non-empty');
  else {
    if (name.length > 63) errs.push('name part must be no more than 63 characters');
    if (!full(QUALIFIED_NAME).test(name)) {
      errs.push(`name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc', regex used for validation is '${QUALIFIED_NAME}')`);
    }
  }
  return errs;
}

export function labelValue(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push('must be no more than 63 characters');
  if (!full(LABEL_VALUE).test(v)) {
    errs.push(`a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue', or 'my_value', or '12345', regex used for validation is '${LABEL_VALUE}')`);
  }
  return errs;
}
