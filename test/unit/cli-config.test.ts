import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CliConfigError, contextCa, defaultConfigPath, emptyCliConfig, mergeContext, readCliConfig, redactTokens, writeCliConfig,
} from '../../core/cli-config.ts';
import type { CliConfig } from '../../core/cli-config.ts';

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'drover-cli-config-')); });
afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

const sample: CliConfig = {
  apiVersion: 'drover.dev/v1alpha1',
  kind: 'Config',
  'current-context': 'local',
  contexts: [{ name: 'local', context: { server: 'http://127.0.0.1:8000', token: 's3cret', namespace: 'customer1' } }],
};

describe('cli config file', () => {
  it('round-trips through YAML with mode 0600, creating the directory', () => {
    const path = join(dir, 'nested', 'config');
    writeCliConfig(path, sample);
    expect(readCliConfig(path)).toEqual(sample);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toContain('current-context: local');
  });

  it('leaves no temp file behind and replaces an existing file', () => {
    const path = join(dir, 'config');
    writeFileSync(path, 'old', { mode: 0o644 });
    writeCliConfig(path, sample);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readCliConfig(path).contexts[0].context.token).toBe('s3cret');
    expect(readdirSync(dir)).toEqual(['config']);
  });

  it('reads a missing file as an empty config', () => {
    expect(readCliConfig(join(dir, 'nope'))).toEqual(emptyCliConfig());
  });

  it.each([
    ['bad YAML', 'contexts: [unclosed', /invalid YAML/],
    ['a list at the top', '- a\n- b\n', /expected a mapping/],
    ['another kind', 'kind: Pod\n', /expected kind: Config/],
    ['a context without server', 'kind: Config\ncontexts:\n- name: x\n  context: {token: t}\n', /contexts\[0\]\.context\.server/],
  ])('names the file on %s', (_what, text, message) => {
    const path = join(dir, 'config');
    writeFileSync(path, text);
    expect(() => readCliConfig(path)).toThrow(CliConfigError);
    expect(() => readCliConfig(path)).toThrow(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: ${message.source}`));
  });

  it.each([
    [{ DROVER_CONFIG: '/x/y' }, '/x/y'],
    [{ HOME: '/home/u' }, '/home/u/.drover/config'],
  ])('default path from env %j', (env, expected) => {
    expect(defaultConfigPath(env)).toBe(expected);
  });

  it('mergeContext adds a context, makes the first one current, and updates fields one by one', () => {
    let cfg = mergeContext(emptyCliConfig(), 'a', { server: 'http://a', token: 't' });
    expect(cfg['current-context']).toBe('a');
    cfg = mergeContext(cfg, 'b', { server: 'http://b' });
    expect(cfg['current-context']).toBe('a');
    cfg = mergeContext(cfg, 'a', { namespace: 'ns1', token: undefined });
    expect(cfg.contexts[0]).toEqual({ name: 'a', context: { server: 'http://a', token: 't', namespace: 'ns1' } });
    cfg = mergeContext(cfg, 'b', {}, { makeCurrent: true });
    expect(cfg['current-context']).toBe('b');
  });

  it('redacts tokens for display without touching the original', () => {
    const shown = redactTokens(sample);
    expect(shown.contexts[0].context.token).toBe('REDACTED');
    expect(sample.contexts[0].context.token).toBe('s3cret');
  });
});

describe('the CA of a context (https servers)', () => {
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

  it('certificate-authority-data (base64 PEM, kubeconfig style) wins over certificate-authority', () => {
    writeFileSync(join(dir, 'other.pem'), pem.replace('MIIB', 'MIIC'));
    const ctx = { server: 'https://m', 'certificate-authority-data': Buffer.from(pem).toString('base64'), 'certificate-authority': 'other.pem' };
    expect(contextCa(ctx, join(dir, 'config'))).toBe(pem);
  });

  it('certificate-authority is a file, relative to the config file', () => {
    writeFileSync(join(dir, 'ca.pem'), pem);
    expect(contextCa({ server: 'https://m', 'certificate-authority': 'ca.pem' }, join(dir, 'config'))).toBe(pem);
    expect(contextCa({ server: 'https://m' }, join(dir, 'config'))).toBeUndefined();
  });

  it.each([
    [{ 'certificate-authority-data': Buffer.from('not a cert').toString('base64') }, /not the base64 of a PEM certificate/],
    [{ 'certificate-authority': 'missing.pem' }, /missing\.pem: ENOENT/],
  ])('%j is a CliConfigError naming the problem', (fields, msg) => {
    expect(() => contextCa({ server: 'https://m', ...fields }, join(dir, 'config'))).toThrow(CliConfigError);
    expect(() => contextCa({ server: 'https://m', ...fields }, join(dir, 'config'))).toThrow(msg);
  });

  it('round-trips through the file and refuses a non-string value', () => {
    const path = join(dir, 'config');
    const cfg = mergeContext(emptyCliConfig(), 'tls', { server: 'https://m:8000', 'certificate-authority-data': 'QUJD' });
    writeCliConfig(path, cfg);
    expect(readCliConfig(path).contexts[0].context['certificate-authority-data']).toBe('QUJD');
    writeFileSync(path, 'kind: Config\ncontexts:\n- name: x\n  context: {server: https://m, certificate-authority: [1]}\n');
    expect(() => readCliConfig(path)).toThrow(/certificate-authority: expected a string/);
  });
});
