// Child process for the crash test: creates objects forever on a SQLite store file and prints
// "<name> <resourceVersion>" only after each create was acknowledged (committed).
import { openSqliteStore } from '../../store/index.ts';

const path = process.argv[2];
if (!path) {
  process.stderr.write('usage: store-writer.ts <db-path>\n');
  process.exit(2);
}
const store = await openSqliteStore({ path });
for (let i = 0; ; i++) {
  const name = `obj-${i}`;
  const o = await store.create('agentdeployments.drover.dev', {
    apiVersion: 'drover.dev/v1alpha1', kind: 'AgentDeployment',
    metadata: { name, namespace: 'crash' }, spec: { agentType: 'crash', replicas: i },
  });
  // stdout on a pipe is synchronous on Linux, so a printed line is never lost to the kill.
  process.stdout.write(`${name} ${o.metadata.resourceVersion}\n`);
}
