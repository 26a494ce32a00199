// `drover up` (what `make up` runs): a manager with the quickstart applied, and a context in the user's config.
import { describe, it, expect, afterAll } from '@jest/globals';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { drover, droverStream, freePort, tempDir, cleanup } from '../helpers/processes.ts';

afterAll(cleanup);

describe('drover up', () => {
  it('starts a manager, applies the quickstart, makes its context current, and stops cleanly on Ctrl-C', async () => {
    const home = tempDir('drover-home-');
    const port = await freePort();
    const userConfig = join(home, '.drover', 'config');
    const up = droverStream(['up', '--listen', `127.0.0.1:${port}`, '--data-dir', join(home, 'data')], {
      config: userConfig,
      env: { HOME: home },
    });
    try {
      const out = await up.waitFor(/Press Ctrl-C to stop/, 30_000);
      expect(out).toMatch(/^agentdeployment\.drover\.dev\/trading created$/m);
      expect(statSync(userConfig).mode & 0o777).toBe(0o600);
      const ctx = await drover(['config', 'current-context'], { config: userConfig });
      expect(ctx.stdout.trim()).toBe('drover-up');
      const get = await drover(['get', 'agentdeployments'], { config: userConfig }); // namespace demo from the context
      expect(get.code).toBe(0);
      expect(get.stdout).toMatch(/^trading\s+4\s/m);
    } finally {
      expect(await up.stop()).toBe(0);
    }
    expect(up.stdout()).toMatch(/stopping/);
    expect(existsSync(join(home, 'data', 'manager.pid'))).toBe(false);
  });
});
