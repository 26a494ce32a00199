// kill -9 of the manager in the middle of applying 2,000 objects loses none that the CLI reported
// as created, and a manager restarted on the same data dir serves everything intact.
import { describe, it, expect, afterAll } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startManager, drover, droverStream, api, tempDir, cleanup } from '../helpers/processes.ts';

const COUNT = 2000;
afterAll(cleanup);

function manifest(i: number): string {
  const name = `worker-${String(i).padStart(4, '0')}`;
  return `apiVersion: drover.dev/v1alpha1
kind: Container
metadata: {name: ${name}, namespace: default, labels: {batch: crash, index: "${i}"}}
spec:
  image: example/worker:1.0
  command: [/bin/sh, -c, "exec sleep infinity"]
  env: [{name: WORKER_INDEX, value: "${i}"}]
`;
}

describe('crash safety of the embedded store', () => {
  it('keeps every object the CLI reported as created across kill -9', async () => {
    const dataDir = tempDir('drover-crash-');
    const file = join(tempDir(), 'many.yaml');
    writeFileSync(file, Array.from({ length: COUNT }, (_, i) => manifest(i)).join('---\n'));

    const m1 = await startManager({ dataDir });
    const apply = droverStream(['apply', '-f', file], { config: m1.configPath });
    // Let a good part of the batch through, then crash the manager mid-stream.
    await apply.waitFor((out) => out.split(' created\n').length > 400, 120_000);
    await m1.kill9();
    const applyCode = await apply.exited;
    const reported = [...apply.stdout().matchAll(/^container\.drover\.dev\/(worker-\d{4}) created$/gm)].map((x) => x[1]);
    expect(reported.length).toBeGreaterThanOrEqual(400);
    expect(reported.length).toBeLessThan(COUNT); // the crash really happened mid-apply
    expect(applyCode).not.toBe(0);
    expect(apply.stderr()).toMatch(/cannot reach the drover manager/);

    const m2 = await startManager({ dataDir });
    const list = await api(m2, 'GET', '/apis/drover.dev/v1alpha1/namespaces/default/containers?labelSelector=batch%3Dcrash');
    expect(list.status).toBe(200);
    const stored = new Map<string, any>(list.body.items.map((o: any) => [o.metadata.name, o]));
    const missing = reported.filter((n) => !stored.has(n));
    expect(missing).toEqual([]);
    for (const name of reported) {
      const o = stored.get(name);
      const i = Number(name.slice(7));
      expect(o.spec.env).toEqual([{ name: 'WORKER_INDEX', value: String(i) }]);
      expect(o.metadata.labels.index).toBe(String(i));
    }

    // Re-applying the whole file finishes the job: nothing is created twice.
    const again = await drover(['apply', '-f', file], { config: m2.configPath, timeoutMs: 180_000 });
    expect(again.code).toBe(0);
    const createdAgain = [...again.stdout.matchAll(/^container\.drover\.dev\/(worker-\d{4}) created$/gm)].map((x) => x[1]);
    expect(createdAgain.filter((n) => reported.includes(n))).toEqual([]);
    const after = await api(m2, 'GET', '/apis/drover.dev/v1alpha1/namespaces/default/containers?labelSelector=batch%3Dcrash&limit=1');
    expect(after.body.metadata.remainingItemCount + after.body.items.length).toBe(COUNT);
    await m2.stop();
  }, 300_000);
});
