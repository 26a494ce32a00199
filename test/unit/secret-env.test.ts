import { describe, it, expect } from '@jest/globals';
import { Writable } from 'node:stream';
import winston from 'winston';
import { REDACTED, redactSecretEnv, scrubSecrets, secretEnvValues } from '../../core/secret-env.ts';
import { redactSecrets } from '../../core/logging.ts';
import { describeText } from '../../cli/commands/describe.ts';
import { loadRegistry } from '../../core/crds.ts';
import type { KubeObject } from '../../core/types.ts';
import { createEventRecorder } from '../../controllers/event-recorder.ts';
import { nullLogger } from '../../core/logging.ts';
import { openSqliteStore } from '../../store/sqlite-store.ts';

const container: KubeObject = {
  apiVersion: 'drover.dev/v1alpha1', kind: 'Container',
  metadata: { name: 'web', namespace: 'demo', uid: 'u1', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: {
    image: 'x',
    env: [{ name: 'DB_PASSWORD', value: 'correct-horse', secret: true }, { name: 'LOG_LEVEL', value: 'info' }, { name: 'PIN', value: '12', secret: true }],
  },
  status: { phase: 'Failed', message: 'exit 1: bad password correct-horse' },
};

describe('secret env entries', () => {
  it('redacts secret values anywhere an env list appears, sharing what has none', () => {
    const task = { spec: { payload: { spec: container.spec as Record<string, unknown> } }, other: { deep: [1, 2] } };
    const out = redactSecretEnv(task);
    expect(out.spec.payload.spec.env).toEqual([
      { name: 'DB_PASSWORD', value: REDACTED, secret: true }, { name: 'LOG_LEVEL', value: 'info' }, { name: 'PIN', value: REDACTED, secret: true },
    ]);
    expect(out.other).toBe(task.other);
    expect((container.spec as { env: Array<{ value: string }> }).env[0].value).toBe('correct-horse'); // the input is untouched
    const plain = { spec: { env: [{ name: 'A', value: 'b' }] } };
    expect(redactSecretEnv(plain)).toBe(plain);
  });

  it('collects secret values and scrubs them from text (not values shorter than 4 characters)', () => {
    expect(secretEnvValues(container).sort()).toEqual(['12', 'correct-horse']);
    expect(scrubSecrets('login correct-horse failed at 12:00', secretEnvValues(container))).toBe(`login ${REDACTED} failed at 12:00`);
    expect(scrubSecrets('abcdefgh abcd', ['abcd', 'abcdefgh'])).toBe(`${REDACTED} ${REDACTED}`);
  });

  it('drover describe shows <redacted> in the spec, the status and event messages', () => {
    const rt = loadRegistry().resolve('Container')!;
    const ev = { apiVersion: 'drover.dev/v1alpha1', kind: 'Event', metadata: { name: 'e', namespace: 'demo' }, type: 'Warning', reason: 'Failed', message: 'env DB_PASSWORD=correct-horse', lastTimestamp: '2026-01-01T00:01:00Z' } as KubeObject;
    const text = describeText(rt, container, [ev], Date.parse('2026-01-01T00:05:00Z'));
    expect(text).not.toContain('correct-horse');
    expect(text).toMatch(/- name: DB_PASSWORD\n\s+value: <redacted>\n\s+secret: true/);
    expect(text).toContain('value: info');
    expect(text).toContain('bad password <redacted>');
    expect(text).toContain('env DB_PASSWORD=<redacted>');
  });

  it('logs show <redacted> for secret env values in any logged object', () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
    const logger = winston.createLogger({ format: winston.format.combine(redactSecrets(), winston.format.json()), transports: [new winston.transports.Stream({ stream: sink })] });
    logger.info('deploying', { task: { payload: { spec: container.spec } }, container: 'web' });
    expect(lines.join('')).not.toContain('correct-horse');
    expect(lines.join('')).toContain('"value":"<redacted>"');
    expect(lines.join('')).toContain('"container":"web"');
  });

  it('controller Events never carry a secret value of the object they are about', async () => {
    const store = await openSqliteStore({ path: ':memory:' });
    const recorder = createEventRecorder({ store, component: 'test', logger: nullLogger() });
    await recorder.record(container, 'Warning', 'Failed', 'start failed: password correct-horse rejected');
    const { items } = await store.list('events.drover.dev', { namespace: 'demo' });
    expect(items.map((e) => e.message)).toEqual([`start failed: password ${REDACTED} rejected`]);
    await store.close();
  });
});
