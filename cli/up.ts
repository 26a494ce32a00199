// `drover up`: a manager on the embedded store plus the quickstart, for a first look.
// (A local process-runtime node joins here once node agents exist.)
import { join, resolve } from 'node:path';
import { defaultConfigPath, emptyCliConfig, mergeContext, readCliConfig, writeCliConfig } from '../core/cli-config.ts';
import { existsSync } from 'node:fs';
import { startManager, waitForSignal } from './manager.ts';
import { CLIError } from './cli-error.ts';

export interface UpOptions {
  listen: string;
  dataDir: string;
  quickstart: boolean;
  logLevel?: string;
}

export const QUICKSTART_DIR = resolve(import.meta.dirname, '../manifests/quickstart');
const CONTEXT = 'drover-up';

export async function runUp(opts: UpOptions): Promise<void> {
  const out = (s: string) => process.stdout.write(s + '\n');
  let m;
  try {
    m = await startManager({ listen: opts.listen, dataDir: opts.dataDir, logLevel: opts.logLevel ?? 'warn' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new CLIError(`${opts.listen} is already in use`, { hint: 'is another drover up running? stop it, or pass --listen 127.0.0.1:PORT', cause: e });
    }
    throw e;
  }
  // The user's own CLI config gets a context for this manager, made current.
  const userConfig = defaultConfigPath();
  const cfg = existsSync(userConfig) ? readCliConfig(userConfig) : emptyCliConfig();
  writeCliConfig(userConfig, mergeContext(cfg, CONTEXT, { server: m.url, token: m.adminToken, namespace: 'demo' }, { makeCurrent: true }));

  out(`drover manager is up at ${m.url} (data in ${opts.dataDir})`);
  out(`context "${CONTEXT}" is now current in ${userConfig}`);
  if (opts.quickstart) {
    out(`applying ${QUICKSTART_DIR}:`);
    const { run } = await import('./program.ts');
    const code = await run(['apply', '-f', QUICKSTART_DIR], {
      stdout: process.stdout,
      stderr: process.stderr,
      env: { ...process.env, DROVER_CONFIG: m.adminConfigPath },
    });
    if (code !== 0) {
      await m.stop();
      throw new CLIError('the quickstart did not apply', { hint: `see the errors above; fix ${QUICKSTART_DIR} and run drover up again` });
    }
  }
  out('');
  out('Try, in another terminal:');
  out('  ./bin/drover get all -n demo');
  out('  ./bin/drover get agentdeployments -n demo -w');
  out('  ./bin/drover describe cluster demo');
  out(`Admin credentials: ${join(opts.dataDir, 'admin.config')} (mode 0600). Press Ctrl-C to stop.`);
  await waitForSignal();
  out('stopping…');
  await m.stop();
}
