// `drover up` (what `make up` runs): a manager with the quickstart applied, and a context in the user's config.
import { describe, it, expect, afterAll } from '@jest/globals';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { drover, droverStream, freePort, tempDir, cleanup, eventually } from '../helpers/processes.ts';

afterAll(cleanup);

describe('drover up', () => {
  it('starts a manager and a local node, runs the quickstart, makes its context current, and stops cleanly on Ctrl-C', async () => {
    const home = tempDir('drover-home-');
    const port = await freePort();
    const userConfig = join(home, '.drover', 'config');
    const up = droverStream(['up', '--listen', `127.0.0.1:${port}`, '--node-listen', '127.0.0.1:0', '--data-dir', join(home, 'data')], {
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
      // The built-in node runs the quickstart stack: web comes up after db is healthy and serves on 127.0.0.1:18080.
      expect(out).toMatch(/^node \S+ joined cluster demo/m);
      await eventually('web Running', async () => {
        const r = await drover(['get', 'container', 'web', '-o', 'json'], { config: userConfig });
        return r.code === 0 && JSON.parse(r.stdout).status?.phase === 'Running';
      }, 60_000, 500);
      expect(await (await fetch('http://127.0.0.1:18080/')).text()).toBe('hello from drover\n');
      // the quickstart's trading agents run inside its agent-host containers
      const agentsOf = async (deployment: string) => {
        const r = await drover(['get', 'agents', '-l', `drover.dev/deployment=${deployment}`, '-o', 'json'], { config: userConfig });
        return r.code === 0 ? (JSON.parse(r.stdout).items as Array<{ metadata: { name: string }; status?: { phase?: string } }>) : [];
      };
      await eventually('4 trading agents Running', async () => (await agentsOf('trading')).filter((a) => a.status?.phase === 'Running').length === 4, 60_000, 500);
      // the sample agents apply into the same fleet, run, and their output reaches `drover logs`
      const samples = await drover(['apply', '-f', 'manifests/examples/agents.yaml'], { config: userConfig });
      expect(samples.code).toBe(0);
      const risk = await eventually('a risk agent Running', async () => (await agentsOf('risk')).find((a) => a.status?.phase === 'Running'), 60_000, 500);
      await eventually('risk agent output in drover logs', async () => {
        const logs = await drover(['logs', `agent/${risk.metadata.name}`], { config: userConfig });
        return logs.code === 0 && logs.stdout.includes(risk.metadata.name);
      }, 30_000, 1000);
    } finally {
      expect(await up.stop()).toBe(0);
    }
    expect(up.stdout()).toMatch(/stopping/);
    expect(existsSync(join(home, 'data', 'manager.pid'))).toBe(false);
    // stopping drover up stops its workloads too
    await expect(fetch('http://127.0.0.1:18080/')).rejects.toThrow();
  });
});
