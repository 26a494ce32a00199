// Every write the SQLite store acknowledged survives `kill -9` of the writing process.
import { describe, it, expect, afterAll } from '@jest/globals';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../store/index.ts';

const AD = 'agentdeployments.drover.dev';
const dir = mkdtempSync(join(tmpdir(), 'drover-crash-'));
let child: ChildProcess | undefined;

afterAll(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Run the writer until `count` creates are acknowledged, then SIGKILL it mid-stream. */
function runAndKill(path: string, count: number): Promise<{ acked: [string, number][]; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [join(import.meta.dirname, '../helpers/store-writer.ts'), path], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    const acked: [string, number][] = [];
    let partial = '';
    let stderr = '';
    c.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    c.stdout?.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const [name, rv] = line.split(' ');
        acked.push([name, Number(rv)]);
      }
      if (acked.length >= count && c.signalCode === null) c.kill('SIGKILL');
    });
    c.on('error', reject);
    c.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ acked, signal });
      else reject(new Error(`writer exited early with code ${code}: ${stderr}`));
    });
  });
}

describe('sqlite store crash durability', () => {
  it('keeps every acknowledged object after kill -9 and stays usable', async () => {
    const path = join(dir, 'crash.db');
    const { acked, signal } = await runAndKill(path, 500);
    expect(signal).toBe('SIGKILL');
    expect(acked.length).toBeGreaterThanOrEqual(500);

    const store = await openSqliteStore({ path });
    try {
      const missing: string[] = [];
      for (const [name, rv] of acked) {
        const o = await store.get(AD, 'crash', name).catch(() => undefined);
        if (!o || Number(o.metadata.resourceVersion) !== rv) missing.push(name);
      }
      expect(missing).toEqual([]);
      const lastAcked = acked[acked.length - 1][1];
      const head = Number(await store.revision());
      expect(head).toBeGreaterThanOrEqual(lastAcked);
      const after = await store.create(AD, { apiVersion: 'drover.dev/v1alpha1', kind: 'AgentDeployment', metadata: { name: 'after-crash', namespace: 'crash' }, spec: {} });
      expect(Number(after.metadata.resourceVersion)).toBe(head + 1);
      // The empty store is at revision 1 and each create adds one: nothing half-written is left behind.
      expect((await store.list(AD, { namespace: 'crash' })).items.length).toBe(head);
    } finally {
      await store.close();
    }
  });
});
