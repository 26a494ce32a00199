// A leader-election candidate as a process of its own, so a test can kill -9 or SIGSTOP it like a manager.
// Usage: node test/helpers/election-candidate.ts NAME TTL_SECONDS ENDPOINT[,ENDPOINT…] [PREFIX]
// Prints one JSON line per change: {"ev":"elected","key":…,"createRevision":…,"at":ms} or
// {"ev":"deposed","reason":…,"at":ms}; SIGTERM resigns and exits.
import { createEtcdElector } from '../../store/etcd-election.ts';
import { createLogger } from '../../core/logging.ts';

const [name, ttl, endpoints, prefix] = process.argv.slice(2);
const logger = createLogger({ level: process.env.DROVER_LOG_LEVEL ?? 'warn', json: true, stderr: true });
const elector = createEtcdElector({ endpoints: endpoints.split(','), ttlSeconds: Number(ttl), url: name, logger, ...(prefix ? { prefix } : {}) });
const say = (o: object) => process.stdout.write(JSON.stringify({ ...o, at: Date.now() }) + '\n');
elector.start({
  elected: (l) => say({ ev: 'elected', key: l.guard.key, createRevision: l.guard.createRevision }),
  deposed: (reason) => say({ ev: 'deposed', reason }),
});
say({ ev: 'started', id: elector.self.id });
const keepAlive = setInterval(() => undefined, 60_000);
process.on('SIGTERM', () => {
  clearInterval(keepAlive);
  void elector.stop().then(() => process.exit(0));
});
